/**
 * Extension data: the tenant's collections (a JSON Schema for records and a key rule, defined by
 * tenant admins; every change is audited) and their records — browsed by key prefix, edited with the
 * version they were read at (a record that moved meanwhile is not overwritten), deleted, and exported
 * as NDJSON. Scripts reach a collection through `ctx.data` when their Skill declares it.
 */
import { type FormEvent, useState } from 'react';
import type { Collection, DataRecord, DataUsage } from '../../../functions/contract/index.ts';
import { api, requestTextPage, segment, withQuery } from '../shared/api.ts';
import { useAction, usePaged, useResource } from '../shared/hooks.ts';
import { Link, navigate } from '../shared/router.tsx';
import {
  Badge,
  CodeBlock,
  DateTime,
  LoadMore,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  Table,
  TextField,
} from '../shared/ui.tsx';

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

function parseJson(text: string, what: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { problem: `${what} is not valid JSON.` };
  }
}

/** Defines a collection, or a new revision of one. */
function CollectionForm({
  collection,
  onSaved,
}: {
  readonly collection: Collection | null;
  readonly onSaved: (saved: Collection) => void;
}) {
  const [name, setName] = useState(collection?.name ?? '');
  const [description, setDescription] = useState(collection?.description ?? '');
  const [schema, setSchema] = useState(JSON.stringify(collection?.schema ?? { type: 'object' }, null, 2));
  const [keyField, setKeyField] = useState(collection?.key.field ?? '');
  const [keySchema, setKeySchema] = useState(
    collection?.key.schema === undefined ? '' : JSON.stringify(collection.key.schema, null, 2),
  );
  const [local, setLocal] = useState('');
  const save = useAction(async (body: Record<string, unknown>) =>
    collection === null
      ? api.post<Collection>('/api/data/collections', body)
      : api.put<Collection>(`/api/data/collections/${segment(collection.name)}`, {
          ...body,
          revision: collection.revision,
        }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseJson(schema, 'The record schema');
    const parsedKey = keySchema.trim() === '' ? { value: undefined } : parseJson(keySchema, 'The key schema');
    if ('problem' in parsed || 'problem' in parsedKey) {
      setLocal('problem' in parsed ? parsed.problem : 'problem' in parsedKey ? parsedKey.problem : '');
      return;
    }
    setLocal('');
    const key = {
      ...(keyField === '' ? {} : { field: keyField }),
      ...(parsedKey.value === undefined ? {} : { schema: parsedKey.value }),
    };
    const saved = await save.run({
      ...(collection === null ? { name } : {}),
      description,
      schema: parsed.value,
      key,
    });
    if (saved !== undefined) onSaved(saved);
  };
  return (
    <form
      className="form"
      onSubmit={submit}
      aria-label={collection === null ? 'New collection' : 'Edit collection'}
    >
      {collection === null ? (
        <TextField
          id="collection-name"
          label="Name (lowercase, digits, _ and -)"
          value={name}
          onChange={setName}
          required
        />
      ) : null}
      <TextField
        id="collection-description"
        label="Description"
        value={description}
        onChange={setDescription}
      />
      <div className="field">
        <label htmlFor="collection-schema">Record JSON Schema</label>
        <textarea
          id="collection-schema"
          rows={8}
          value={schema}
          onChange={(e) => setSchema(e.target.value)}
        />
      </div>
      <TextField
        id="collection-key-field"
        label="Key field (optional: the key is this property of each record)"
        value={keyField}
        onChange={setKeyField}
      />
      <div className="field">
        <label htmlFor="collection-key-schema">Key JSON Schema (optional, e.g. a pattern)</label>
        <textarea
          id="collection-key-schema"
          rows={3}
          value={keySchema}
          onChange={(e) => setKeySchema(e.target.value)}
        />
      </div>
      {local === '' ? null : <p className="problem">{local}</p>}
      <Submit action={save} busy="Saving…">
        {collection === null ? 'Create collection' : 'Save a new revision'}
      </Submit>
    </form>
  );
}

export function DataPage({ canManage }: { readonly canManage: boolean }) {
  const collections = useResource<{ items: Collection[]; usage: DataUsage }>('/api/data/collections');
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader title="Data">
        {canManage && !creating ? (
          <button type="button" onClick={() => setCreating(true)}>
            New collection
          </button>
        ) : null}
      </PageHeader>
      <p className="muted">
        Collections hold your business data as JSON records. A Skill's script reads and writes the collections
        the Skill declares, through <code>ctx.data</code>.
      </p>
      {creating ? (
        <Section title="New collection">
          <CollectionForm
            collection={null}
            onSaved={(saved) => navigate(`/data/${encodeURIComponent(saved.name)}`)}
          />
        </Section>
      ) : null}
      <Show state={collections.state} loading="Loading collections…">
        {({ items, usage }) => (
          <>
            <p>
              {usage.collections} of {usage.limits.collections} collections · {usage.records} of{' '}
              {usage.limits.records} records · {bytes(usage.bytes)} of {bytes(usage.limits.bytes)} · records
              of at most {bytes(usage.limits.recordBytes)}
            </p>
            {items.length === 0 ? (
              <p className="muted">No collections yet.</p>
            ) : (
              <Table columns={['Collection', 'Key', 'Revision', 'Updated']}>
                {items.map((collection) => (
                  <tr key={collection.name}>
                    <td>
                      <Link to={`/data/${encodeURIComponent(collection.name)}`}>{collection.name}</Link>
                      {collection.description === '' ? null : (
                        <div className="muted">{collection.description}</div>
                      )}
                    </td>
                    <td>
                      {collection.key.field === undefined
                        ? 'given by the writer'
                        : `field ${collection.key.field}`}
                    </td>
                    <td>{collection.revision}</td>
                    <td>
                      <DateTime value={collection.updatedAt} /> · {collection.updatedBy}
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </>
        )}
      </Show>
    </>
  );
}

/** Downloads every page of a collection's NDJSON export as one file. */
async function exportCollection(name: string): Promise<void> {
  const parts: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await requestTextPage(
      withQuery(`/api/data/collections/${segment(name)}/export`, { cursor }),
    );
    parts.push(page.text);
    cursor = page.next;
  } while (cursor !== undefined);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob(parts, { type: 'application/x-ndjson' }));
  link.download = `${name}.ndjson`;
  link.click();
  URL.revokeObjectURL(link.href);
}

function RecordEditor({
  collection,
  record,
  onSaved,
}: {
  readonly collection: string;
  readonly record: DataRecord | null;
  readonly onSaved: () => void;
}) {
  const [key, setKey] = useState(record?.key ?? '');
  const [value, setValue] = useState(JSON.stringify(record?.value ?? {}, null, 2));
  const [local, setLocal] = useState('');
  const save = useAction(async (body: unknown) =>
    api.put<DataRecord>(`/api/data/collections/${segment(collection)}/records/${segment(key)}`, body),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseJson(value, 'The value');
    if ('problem' in parsed) {
      setLocal(parsed.problem);
      return;
    }
    setLocal('');
    // Saved only if the record is still at the version shown (0: it must not exist yet).
    const saved = await save.run({ value: parsed.value, expectedVersion: record?.version ?? 0 });
    if (saved !== undefined) onSaved();
  };
  return (
    <form
      className="form"
      onSubmit={submit}
      aria-label={record === null ? 'New record' : `Edit ${record.key}`}
    >
      {record === null ? (
        <TextField id="record-key" label="Key" value={key} onChange={setKey} required />
      ) : null}
      <div className="field">
        <label htmlFor="record-value">Value (JSON)</label>
        <textarea id="record-value" rows={8} value={value} onChange={(e) => setValue(e.target.value)} />
      </div>
      {local === '' ? null : <p className="problem">{local}</p>}
      <Submit action={save} busy="Saving…">
        {record === null ? 'Add record' : `Save (from version ${record.version})`}
      </Submit>
    </form>
  );
}

export function CollectionPage({ name, canManage }: { readonly name: string; readonly canManage: boolean }) {
  const collection = useResource<Collection>(`/api/data/collections/${segment(name)}`);
  const [prefix, setPrefix] = useState('');
  const [search, setSearch] = useState('');
  const records = usePaged<DataRecord>(
    withQuery(`/api/data/collections/${segment(name)}/records`, { prefix: search }),
  );
  const [editing, setEditing] = useState<DataRecord | 'new' | null>(null);
  const [editingSchema, setEditingSchema] = useState(false);
  const remove = useAction(async (record: DataRecord) => {
    await api.delete<void>(
      withQuery(`/api/data/collections/${segment(name)}/records/${segment(record.key)}`, {
        expectedVersion: String(record.version),
      }),
    );
    return true;
  });
  const exporting = useAction(async () => {
    await exportCollection(name);
    return true;
  });
  return (
    <Show state={collection.state} loading="Loading the collection…">
      {(current) => (
        <>
          <PageHeader title={current.name}>
            <button
              type="button"
              className="secondary"
              onClick={() => exporting.run()}
              disabled={exporting.pending}
            >
              Export NDJSON
            </button>
            {canManage ? (
              <>
                <button type="button" className="secondary" onClick={() => setEditingSchema(!editingSchema)}>
                  {editingSchema ? 'Cancel' : 'Edit schema'}
                </button>
                <button type="button" onClick={() => setEditing('new')}>
                  New record
                </button>
              </>
            ) : null}
          </PageHeader>
          <ProblemView problem={exporting.problem} />
          <p className="muted">
            Revision {current.revision} · {current.description}
          </p>
          {editingSchema ? (
            <Section title="Schema">
              <CollectionForm
                collection={current}
                onSaved={() => {
                  setEditingSchema(false);
                  collection.reload();
                  records.reload();
                }}
              />
            </Section>
          ) : (
            <CodeBlock label="Record schema">{JSON.stringify(current.schema, null, 2)}</CodeBlock>
          )}
          {editing === null ? null : (
            <Section title={editing === 'new' ? 'New record' : `Record ${editing.key}`}>
              <RecordEditor
                key={editing === 'new' ? 'new' : `${editing.key}@${editing.version}`}
                collection={name}
                record={editing === 'new' ? null : editing}
                onSaved={() => {
                  setEditing(null);
                  records.reload();
                }}
              />
            </Section>
          )}
          <Section title="Records">
            <form
              className="inline"
              onSubmit={(event) => {
                event.preventDefault();
                setSearch(prefix);
              }}
            >
              <TextField id="record-prefix" label="Key starts with" value={prefix} onChange={setPrefix} />
              <button type="submit" className="secondary">
                Search
              </button>
            </form>
            <ProblemView problem={remove.problem} />
            <ShowList state={records.state} loading="Loading records…" empty={<p>No records.</p>}>
              {(items) => (
                <Table columns={['Key', 'Value', 'Version', 'Updated', ...(canManage ? ['Actions'] : [])]}>
                  {items.map((record) => (
                    <tr key={record.key}>
                      <td>
                        <code>{record.key}</code>
                        {record.matchesSchema ? null : (
                          <Badge value="failed" label="does not match the schema" />
                        )}
                      </td>
                      <td>
                        <code className="json-preview">{JSON.stringify(record.value).slice(0, 200)}</code>
                      </td>
                      <td>{record.version}</td>
                      <td>
                        <DateTime value={record.updatedAt} /> · {record.updatedBy}
                      </td>
                      {canManage ? (
                        <td className="actions">
                          <button
                            type="button"
                            className="secondary small"
                            onClick={() => setEditing(record)}
                          >
                            Edit
                          </button>
                          <button
                            type="button"
                            className="danger small"
                            onClick={async () => {
                              if (!window.confirm(`Delete ${record.key}?`)) return;
                              if ((await remove.run(record)) === true) records.reload();
                            }}
                          >
                            Delete
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </Table>
              )}
            </ShowList>
            <LoadMore list={records} />
          </Section>
        </>
      )}
    </Show>
  );
}
