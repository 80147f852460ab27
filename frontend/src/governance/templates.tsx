/**
 * Platform templates: a Skill with its script, authored here in versions and distributed to chosen
 * tenants (or all); tenant admins then install or update it. The editor takes the Skill's schemas as
 * JSON and its source as Python in the fronts' code editor (CodeMirror, loaded on demand with the
 * editor, so the console's other pages never load it).
 */
import { type FormEvent, useState } from 'react';
import {
  APPROVALS,
  RISKS,
  type Template,
  type TemplateSkill,
  type TemplateStanding,
  type TemplateVersion,
} from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { CodeEditor, sourceMark } from '../shared/code-editor.tsx';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { LimitFields, limitTexts, withLimits } from '../shared/limits.tsx';
import {
  Empty,
  formatDate,
  LoadMore,
  Notice,
  Options,
  PageHeader,
  ProblemView,
  Section,
  Show,
  Submit,
  splitList,
} from '../shared/ui.tsx';

const BLANK: { skill: TemplateSkill; source: string } = {
  skill: {
    name: '',
    description: '',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: { type: 'object' },
    risk: 'low',
    approval: 'none',
  },
  source: 'def main(inputs, ctx):\n    return {}\n',
};

export function TemplatesPage() {
  const list = useResource<{ items: Template[] }>('/api/templates');
  const [message, setMessage] = useNotice();
  return (
    <>
      <PageHeader title="Templates" />
      <Notice>{message}</Notice>
      <Show state={list.state} loading="Loading templates…" unavailable="Template distribution">
        {({ items }) => (
          <>
            <Section title="Templates">
              {items.length === 0 ? (
                <Empty>
                  <p>No templates yet. Write the first one below.</p>
                </Empty>
              ) : (
                <ul className="stack plain-list">
                  {items.map((template) => (
                    <li key={template.id}>
                      <TemplateCard
                        template={template}
                        onChanged={(text) => {
                          setMessage(text);
                          list.reload();
                        }}
                      />
                    </li>
                  ))}
                </ul>
              )}
            </Section>
            <Section title="New template">
              <TemplateEditor
                idPrefix="new-template"
                initial={BLANK}
                submitLabel="Create template"
                onSubmit={(body) => api.post<Template>('/api/templates', body)}
                onDone={(created) => {
                  setMessage(`Template ${created.name} created.`);
                  list.reload();
                }}
              />
            </Section>
          </>
        )}
      </Show>
    </>
  );
}

function TemplateCard({
  template,
  onChanged,
}: {
  readonly template: Template;
  readonly onChanged: (text: string) => void;
}) {
  const [everyone, setEveryone] = useState(false);
  const [tenantIds, setTenantIds] = useState('');
  const [editing, setEditing] = useState(false);
  const [standing, setStanding] = useState(false);
  const distribute = useAction(async () =>
    api.post<{ tenants: string[] }>(
      `/api/templates/${segment(template.id)}/distribute`,
      everyone ? { all: true } : { tenantIds: splitList(tenantIds) },
    ),
  );
  const prefix = `template-${template.id}`;
  return (
    <article className="card" aria-label={template.name}>
      <h3>{template.name}</h3>
      {template.description ? <p>{template.description}</p> : null}
      <p className="muted">
        version {template.latestVersion} · updated {formatDate(template.updatedAt)}
      </p>
      <form
        onSubmit={async (event: FormEvent) => {
          event.preventDefault();
          const result = await distribute.run();
          if (result !== undefined) {
            setTenantIds('');
            onChanged(
              `${template.name} distributed to ${result.tenants.length} tenant${result.tenants.length === 1 ? '' : 's'}.`,
            );
          }
        }}
      >
        <fieldset>
          <legend>Distribute to</legend>
          <label className="check">
            <input
              type="radio"
              name={`${prefix}-to`}
              checked={!everyone}
              onChange={() => setEveryone(false)}
            />
            These tenants
          </label>{' '}
          <label className="check">
            <input type="radio" name={`${prefix}-to`} checked={everyone} onChange={() => setEveryone(true)} />
            All tenants
          </label>
          {everyone ? null : (
            <div className="field">
              <label htmlFor={`${prefix}-tenants`}>Tenant ids (comma-separated)</label>
              <input
                id={`${prefix}-tenants`}
                required
                value={tenantIds}
                onChange={(e) => setTenantIds(e.target.value)}
              />
            </div>
          )}
        </fieldset>
        <ProblemView problem={distribute.problem} />
        <div className="form-actions">
          <button type="submit" disabled={distribute.pending}>
            Distribute
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => setEditing((open) => !open)}
            aria-expanded={editing}
          >
            {editing ? 'Close the editor' : 'New version…'}
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => setStanding((open) => !open)}
            aria-expanded={standing}
          >
            {standing ? 'Hide the tenants' : 'Tenants…'}
          </button>
        </div>
      </form>
      {standing ? <Standing template={template} /> : null}
      {editing ? (
        <NewVersion
          template={template}
          onDone={(version) => {
            setEditing(false);
            onChanged(
              `${template.name} version ${version} saved: the tenants it was offered to can update to it now; distribute it to offer it to others.`,
            );
          }}
        />
      ) : null}
    </article>
  );
}

/**
 * Where the template stands with the tenants it was offered to: when and by whom, and the version
 * each installed. The API reads a page of tenants at a time and lists the offered ones among them.
 */
function Standing({ template }: { readonly template: Template }) {
  const list = usePaged<TemplateStanding>(`/api/templates/${segment(template.id)}/tenants`, 100);
  return (
    <Show state={list.state} loading="Loading the tenants…">
      {(items) => (
        <>
          {items.length === 0 ? (
            <p className="muted">
              {list.hasMore ? 'No tenant so far; more to look through.' : 'Offered to no tenant yet.'}
            </p>
          ) : (
            <table aria-label={`Tenants offered ${template.name}`}>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Offered</th>
                  <th scope="col">Installed</th>
                </tr>
              </thead>
              <tbody>
                {items.map((item) => (
                  <tr key={item.tenantId}>
                    <td>
                      {item.tenantName} <span className="muted">({item.tenantId})</span>
                    </td>
                    <td>
                      {formatDate(item.offeredAt)} by {item.offeredBy}
                    </td>
                    <td>
                      {item.installedVersion === null
                        ? 'not installed'
                        : `version ${item.installedVersion}${item.updateAvailable ? ` (version ${template.latestVersion} available)` : ''}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <LoadMore list={list} />
        </>
      )}
    </Show>
  );
}

function NewVersion({
  template,
  onDone,
}: {
  readonly template: Template;
  readonly onDone: (version: number) => void;
}) {
  const { state } = useResource<Template & { latest: TemplateVersion }>(
    `/api/templates/${segment(template.id)}`,
  );
  return (
    <Show state={state} loading="Loading the latest version…">
      {(data) => (
        <TemplateEditor
          idPrefix={`template-${template.id}-next`}
          initial={{ skill: data.latest.skill, source: data.latest.source }}
          submitLabel="Save new version"
          onSubmit={(body) =>
            api.post<TemplateVersion>(`/api/templates/${segment(template.id)}/versions`, body)
          }
          onDone={(version) => onDone(version.version)}
        />
      )}
    </Show>
  );
}

function TemplateEditor<R>({
  idPrefix,
  initial,
  submitLabel,
  onSubmit,
  onDone,
}: {
  readonly idPrefix: string;
  readonly initial: { readonly skill: TemplateSkill; readonly source: string };
  readonly submitLabel: string;
  readonly onSubmit: (body: unknown) => Promise<R>;
  readonly onDone: (result: R) => void;
}) {
  const [name, setName] = useState(initial.skill.name);
  const [description, setDescription] = useState(initial.skill.description);
  const [inputSchema, setInputSchema] = useState(JSON.stringify(initial.skill.inputSchema, null, 2));
  const [outputSchema, setOutputSchema] = useState(JSON.stringify(initial.skill.outputSchema, null, 2));
  const [risk, setRisk] = useState(initial.skill.risk);
  const [approval, setApproval] = useState(initial.skill.approval ?? 'none');
  const [limits, setLimits] = useState(() => limitTexts(initial.skill.limits));
  const [source, setSource] = useState(initial.source);
  const [note, setNote] = useState('');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const save = useAction(onSubmit);
  const id = (field: string) => `${idPrefix}-${field}`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let schemas: [unknown, unknown];
    try {
      schemas = [JSON.parse(inputSchema), JSON.parse(outputSchema)];
    } catch (error) {
      setJsonError(`A schema is not valid JSON: ${(error as Error).message}`);
      return;
    }
    setJsonError(null);
    const result = await save.run({
      skill: {
        name,
        description,
        inputSchema: schemas[0],
        outputSchema: schemas[1],
        risk,
        approval,
        // Every limit the form shows, over whatever else the version had: a new version resets none.
        limits: withLimits(initial.skill.limits, limits),
      },
      source,
      ...(note === '' ? {} : { note }),
    });
    if (result !== undefined) onDone(result);
  };

  return (
    <form onSubmit={submit}>
      <div className="field">
        <label htmlFor={id('name')}>Skill name</label>
        <input
          id={id('name')}
          required
          maxLength={120}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
      </div>
      <LimitFields idPrefix={idPrefix} value={limits} onChange={setLimits} />
      <div className="field">
        <label htmlFor={id('description')}>Description</label>
        <input
          id={id('description')}
          maxLength={2000}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
      </div>
      <div className="form-row">
        <CodeEditor
          id={id('input')}
          label="Input schema"
          language="json"
          value={inputSchema}
          onChange={setInputSchema}
        />
        <CodeEditor
          id={id('output')}
          label="Output schema"
          language="json"
          value={outputSchema}
          onChange={setOutputSchema}
        />
      </div>
      <div className="form-row">
        <div className="field">
          <label htmlFor={id('risk')}>Risk</label>
          <select id={id('risk')} value={risk} onChange={(e) => setRisk(e.target.value)}>
            <Options values={RISKS} />
          </select>
        </div>
        <div className="field">
          <label htmlFor={id('approval')}>Approval</label>
          <select id={id('approval')} value={approval} onChange={(e) => setApproval(e.target.value)}>
            <Options values={APPROVALS} />
          </select>
        </div>
      </div>
      <CodeEditor
        id={id('source')}
        label="Python source"
        language="python"
        value={source}
        onChange={setSource}
        mark={sourceMark(save.problem)}
      />
      <div className="field">
        <label htmlFor={id('note')}>Note</label>
        <input id={id('note')} maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
      </div>
      {jsonError === null ? null : (
        <p className="problem" role="alert">
          {jsonError}
        </p>
      )}
      <Submit action={save} busy="Saving…">
        {submitLabel}
      </Submit>
    </form>
  );
}
