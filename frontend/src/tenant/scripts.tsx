/**
 * Script assets: the list, a new asset, and one asset's versions — edit in the code editor (or load
 * a file) and upload a version, activate it (or roll back to an earlier one, after a confirmation:
 * the same pointer move), read a version's source, compare two versions line by line, rename, and
 * disable, archive or restore the script. Versions are immutable; only the active pointer moves.
 */

import { diffLines } from 'diff';
import { type FormEvent, useEffect, useId, useState } from 'react';
import type { ScriptAsset, ScriptVersion } from '../../../functions/contract/index.ts';
import { counted } from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { CodeEditor, sourceMark } from '../shared/code-editor.tsx';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link, navigate } from '../shared/router.tsx';
import { StateActions } from '../shared/state-actions.tsx';
import {
  Badge,
  CodeBlock,
  DateTime,
  LoadMore,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  Table,
  useConfirm,
} from '../shared/ui.tsx';

const STARTER = `def main(inputs, ctx):
    """Return a JSON-serialisable value: the run's output."""
    return {"echo": inputs}
`;

export function ScriptsPage() {
  const [archived, setArchived] = useState(false);
  const list = usePaged<ScriptAsset>(archived ? '/api/assets/scripts?archived=true' : '/api/assets/scripts');
  return (
    <>
      <PageHeader title="Scripts" />
      <Section title="Script assets">
        <label className="check">
          <input type="checkbox" checked={archived} onChange={(event) => setArchived(event.target.checked)} />
          Show archived scripts
        </label>
        <ShowList
          state={list.state}
          loading="Loading scripts…"
          empty={<p>No scripts yet. Upload the first one below.</p>}
        >
          {(items) => (
            <Table columns={['Name', 'Active', 'Latest', 'Updated']}>
              {items.map((asset) => (
                <tr key={asset.id}>
                  <td>
                    <Link to={`/assets/${segment(asset.id)}`}>{asset.name}</Link>{' '}
                    {asset.state === 'active' ? null : <Badge value={asset.state} />}
                  </td>
                  <td>v{asset.activeVersion}</td>
                  <td>v{asset.latestVersion}</td>
                  <td>
                    <DateTime value={asset.updatedAt} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
      <NewScript />
    </>
  );
}

/**
 * The ids of the tenant's live (not archived) scripts named `name`: every page, since a duplicate
 * may sit past the first. These are the ones `execfabric push` would stop on.
 */
async function liveScriptsNamed(name: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<{ items: ScriptAsset[]; cursor?: string }>(
      `/api/assets/scripts?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    for (const item of page.items) if (item.name === name) ids.push(item.id);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}

/** What a script's answer says of the other live scripts with its name, or '' when there are none. */
function namesakesNote(asset: ScriptAsset): string {
  const ids = asset.sameNameAs ?? [];
  if (ids.length === 0) return '';
  return ` ${ids.length === 1 ? 'Another script is' : `${ids.length} other scripts are`} also named "${asset.name}" (${ids.join(', ')}): execfabric push stops on a name two scripts share.`;
}

function NewScript() {
  const [name, setName] = useState('');
  const [source, setSource] = useState(STARTER);
  const [note, setNote] = useState('');
  const { confirm, dialog } = useConfirm();
  // Names are labels (ids are the identity), so a second script of one name is allowed; the user is
  // asked first, as the CLI, which matches by name, will stop on the pair (docs/decisions/cli.md).
  const check = useAction(liveScriptsNamed);
  const create = useAction(async () =>
    api.post<ScriptAsset>('/api/assets/scripts', { name, source, ...(note === '' ? {} : { note }) }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const taken = await check.run(name.trim());
    if (taken === undefined) return;
    if (taken.length > 0) {
      const ok = await confirm({
        title: `A script named "${name.trim()}" exists`,
        body: (
          <p>
            {taken.length === 1 ? 'The script' : `${taken.length} scripts`} {taken.join(', ')}{' '}
            {taken.length === 1 ? 'has' : 'have'} this name. A second one is allowed (scripts are told apart
            by their ids), but <code>execfabric push</code> matches scripts by name and stops on a name two
            scripts share. You can rename either one later on its page.
          </p>
        ),
        confirm: 'Create it anyway',
      });
      if (!ok) return;
    }
    const created = await create.run();
    if (created !== undefined) navigate(`/assets/${segment(created.id)}`);
  };
  return (
    <Section title="New script">
      {dialog}
      <form onSubmit={submit}>
        <div className="form-row">
          <div className="field">
            <label htmlFor="new-script-name">Name</label>
            <input
              id="new-script-name"
              required
              maxLength={120}
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="report"
            />
          </div>
          <div className="field">
            <label htmlFor="new-script-note">Note (optional)</label>
            <input
              id="new-script-note"
              maxLength={500}
              value={note}
              onChange={(event) => setNote(event.target.value)}
            />
          </div>
        </div>
        <CodeEditor
          id="new-script-source"
          label="Python source"
          language="python"
          value={source}
          onChange={setSource}
          // A script loaded from a file is named after it, unless a name was typed already.
          onFile={(file) =>
            setName((current) => (current.trim() === '' ? file.replace(/\.py$/i, '').slice(0, 120) : current))
          }
          hint="Define main(inputs, ctx); what it returns is the run's output. The source is syntax-checked on upload."
          mark={sourceMark(create.problem)}
        />
        <ProblemView problem={check.problem} />
        <Submit action={create} busy="Uploading…">
          Create script
        </Submit>
      </form>
    </Section>
  );
}

export function ScriptPage({ id }: { readonly id: string }) {
  const asset = useResource<ScriptAsset>(`/api/assets/scripts/${segment(id)}`);
  const versions = usePaged<ScriptVersion>(`/api/assets/scripts/${segment(id)}/versions`, 50);
  const [message, setMessage] = useNotice();
  const [viewing, setViewing] = useState<number | null>(null);
  const refresh = () => {
    asset.reload();
    versions.reload();
  };
  const { confirm, dialog } = useConfirm();
  const activate = useAction(async (version: number) =>
    api.put<ScriptAsset>(`/api/assets/scripts/${segment(id)}/active`, { version }),
  );
  const onActivate = async (version: number, rollback: boolean) => {
    const name = asset.state.status === 'ready' ? asset.state.data.name : 'this script';
    const ok = await confirm({
      title: rollback
        ? `Roll back ${name} to version ${version}?`
        : `Activate version ${version} of ${name}?`,
      body: (
        <p>
          Every Skill that follows the active version runs version {version} from now on. Runs already
          requested keep the version they were requested with; runs waiting for approval must be requested
          again.
        </p>
      ),
      confirm: rollback ? `Roll back to v${version}` : `Activate v${version}`,
      danger: rollback,
    });
    if (!ok) return;
    const done = await activate.run(version);
    if (done !== undefined) {
      setMessage(rollback ? `Rolled back: version ${version} is active.` : `Version ${version} is active.`);
      refresh();
    }
  };

  return (
    <>
      <PageHeader title={asset.state.status === 'ready' ? asset.state.data.name : 'Script'}>
        <Link className="button secondary" to="/assets">
          All scripts
        </Link>
      </PageHeader>
      {dialog}
      <Show state={asset.state} loading="Loading the script…">
        {(script) => (
          <>
            <div className="card">
              <dl className="facts">
                <dt>State</dt>
                <dd>
                  <Badge value={script.state} />
                </dd>
                <dt>Active version</dt>
                <dd data-testid="active-version">v{script.activeVersion}</dd>
                <dt>Latest version</dt>
                <dd>v{script.latestVersion}</dd>
                <dt>Updated</dt>
                <dd>
                  <DateTime value={script.updatedAt} />
                </dd>
              </dl>
              <RenameScript
                script={script}
                onRenamed={(renamed) => {
                  setMessage(`Renamed to "${renamed.name}".${namesakesNote(renamed)}`);
                  refresh();
                }}
              />
              <Notice>{message}</Notice>
              <ProblemView problem={activate.problem} />
              <StateActions
                subject="script"
                name={script.name}
                state={script.state}
                path={`/api/assets/scripts/${segment(script.id)}/state`}
                onChanged={(text) => {
                  setMessage(text);
                  refresh();
                }}
              />
            </div>
            <Section title="Versions">
              <Show state={versions.state} loading="Loading versions…">
                {(items) => (
                  <Table columns={['Version', 'Note', 'Author', 'Uploaded', 'Actions']}>
                    {[...items]
                      .sort((a, b) => b.version - a.version)
                      .map((version) => (
                        <tr key={version.version} data-version={version.version}>
                          <td>
                            v{version.version}{' '}
                            {version.version === script.activeVersion ? <Badge value="active" /> : null}
                            <div className="muted">
                              <code title={version.sha256}>{version.sha256.slice(0, 12)}</code> ·{' '}
                              {version.sizeBytes} B
                            </div>
                          </td>
                          <td>{version.note || <span className="muted">—</span>}</td>
                          <td>{version.author}</td>
                          <td>
                            <DateTime value={version.createdAt} />
                          </td>
                          <td className="actions">
                            <button
                              type="button"
                              className="secondary small"
                              onClick={() => setViewing(version.version)}
                            >
                              Source
                            </button>
                            {version.version === script.activeVersion ? null : (
                              <button
                                type="button"
                                className="small"
                                disabled={activate.pending}
                                onClick={() =>
                                  onActivate(version.version, version.version < script.activeVersion)
                                }
                              >
                                {version.version < script.activeVersion
                                  ? `Roll back to v${version.version}`
                                  : `Activate v${version.version}`}
                              </button>
                            )}
                          </td>
                        </tr>
                      ))}
                  </Table>
                )}
              </Show>
              <LoadMore list={versions} />
            </Section>
            {viewing === null ? null : (
              <SourceView assetId={script.id} version={viewing} onClose={() => setViewing(null)} />
            )}
            {/* Keyed by the versions: after an upload or an activation the editor starts again from the
                active version's source (it is filled once per mount). */}
            <UploadVersion
              key={`${script.activeVersion}:${script.latestVersion}`}
              asset={script}
              onUploaded={(version, activated) => {
                setMessage(
                  activated ? `Uploaded version ${version}; it is active.` : `Uploaded version ${version}.`,
                );
                refresh();
              }}
            />
            <CompareVersions key={script.latestVersion} asset={script} />
          </>
        )}
      </Show>
    </>
  );
}

/** The script's name and a Rename control: a name is a label, Skills hold the script's id. */
function RenameScript({
  script,
  onRenamed,
}: {
  readonly script: ScriptAsset;
  readonly onRenamed: (renamed: ScriptAsset) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(script.name);
  const rename = useAction(async () =>
    api.patch<ScriptAsset>(`/api/assets/scripts/${segment(script.id)}`, { name }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const renamed = await rename.run();
    if (renamed !== undefined) {
      setEditing(false);
      onRenamed(renamed);
    }
  };
  if (!editing) {
    return (
      <div className="form-actions">
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setName(script.name);
            setEditing(true);
          }}
        >
          Rename
        </button>
      </div>
    );
  }
  return (
    <form onSubmit={submit}>
      <div className="field">
        <label htmlFor="script-name">New name</label>
        <input
          id="script-name"
          required
          maxLength={120}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <p className="hint">Skills bound to this script follow it: they hold its id ({script.id}).</p>
      </div>
      <div className="form-actions">
        <Submit action={rename} busy="Renaming…">
          Save name
        </Submit>
        <button type="button" className="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function sourcePath(assetId: string, version: number): string {
  return `/api/assets/scripts/${segment(assetId)}/versions/${version}`;
}

function SourceView({
  assetId,
  version,
  onClose,
}: {
  readonly assetId: string;
  readonly version: number;
  readonly onClose: () => void;
}) {
  const { state } = useResource<ScriptVersion>(sourcePath(assetId, version));
  return (
    <Section title={`Source of v${version}`}>
      <Show state={state} loading="Loading the source…">
        {(data) => (
          <CodeBlock label={`Source of version ${version}`} source>
            {data.source ?? ''}
          </CodeBlock>
        )}
      </Show>
      <button type="button" className="secondary" onClick={onClose}>
        Close
      </button>
    </Section>
  );
}

function UploadVersion({
  asset,
  onUploaded,
}: {
  readonly asset: ScriptAsset;
  readonly onUploaded: (version: number, activated: boolean) => void;
}) {
  const [source, setSource] = useState<string | null>(null);
  const [note, setNote] = useState('');
  // Ticked, as `execfabric push` activates what it uploads: an upload is the hot update.
  const [activateNow, setActivateNow] = useState(true);
  // Start from the active version's source: a new version is usually an edit of it.
  const base = useResource<ScriptVersion>(source === null ? sourcePath(asset.id, asset.activeVersion) : null);
  useEffect(() => {
    if (source === null && base.state.status === 'ready') setSource(base.state.data.source ?? '');
  }, [source, base.state]);

  const upload = useAction(async () => {
    const created = await api.post<ScriptVersion>(`/api/assets/scripts/${segment(asset.id)}/versions`, {
      source: source ?? '',
      ...(note === '' ? {} : { note }),
    });
    if (activateNow) {
      await api.put<ScriptAsset>(`/api/assets/scripts/${segment(asset.id)}/active`, {
        version: created.version,
      });
    }
    return created;
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await upload.run();
    if (created !== undefined) {
      setNote('');
      onUploaded(created.version, activateNow);
    }
  };
  return (
    <Section title="Upload a new version">
      <form onSubmit={submit}>
        {source === null ? (
          <p className="hint">Loading the active version's source…</p>
        ) : (
          <CodeEditor
            id="version-source"
            label="Source of the new version"
            language="python"
            value={source}
            onChange={setSource}
            mark={sourceMark(upload.problem)}
          />
        )}
        <div className="field">
          <label htmlFor="version-note">Note</label>
          <input
            id="version-note"
            maxLength={500}
            value={note}
            onChange={(event) => setNote(event.target.value)}
            placeholder="What changed"
          />
        </div>
        <div className="field">
          <label className="check">
            <input
              type="checkbox"
              checked={activateNow}
              onChange={(event) => setActivateNow(event.target.checked)}
            />
            Activate it right away
          </label>
          <p className="hint">
            Skills that follow the active version run the new one from their next run. Untick it to upload the
            version without activating it: it then waits until you activate it in Versions.
          </p>
        </div>
        <Submit action={upload} disabled={source === null} busy="Uploading…">
          Upload version
        </Submit>
      </form>
    </Section>
  );
}

function CompareVersions({ asset }: { readonly asset: ScriptAsset }) {
  const fromId = useId();
  const toId = useId();
  const versions = Array.from({ length: asset.latestVersion }, (_, index) => asset.latestVersion - index);
  const [from, setFrom] = useState(Math.max(1, asset.latestVersion - 1));
  const [to, setTo] = useState(asset.latestVersion);
  const [shown, setShown] = useState<{ from: number; to: number } | null>(null);
  const compare = useAction(async (a: number, b: number) => {
    const [left, right] = await Promise.all([
      api.get<ScriptVersion>(sourcePath(asset.id, a)),
      api.get<ScriptVersion>(sourcePath(asset.id, b)),
    ]);
    return diffLines(left.source ?? '', right.source ?? '');
  });
  const [parts, setParts] = useState<ReturnType<typeof diffLines> | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await compare.run(from, to);
    if (result !== undefined) {
      setParts(result);
      setShown({ from, to });
    }
  };
  if (asset.latestVersion < 2) {
    return (
      <Section title="Compare versions">
        <p className="muted">Upload a second version to compare it with the first.</p>
      </Section>
    );
  }
  return (
    <Section title="Compare versions">
      <form onSubmit={submit} className="form-row">
        <div className="field">
          <label htmlFor={fromId}>From</label>
          <select id={fromId} value={from} onChange={(event) => setFrom(Number(event.target.value))}>
            {versions.map((version) => (
              <option key={version} value={version}>
                v{version}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={toId}>To</label>
          <select id={toId} value={to} onChange={(event) => setTo(Number(event.target.value))}>
            {versions.map((version) => (
              <option key={version} value={version}>
                v{version}
              </option>
            ))}
          </select>
        </div>
        <div className="form-actions">
          <button type="submit" disabled={compare.pending}>
            {compare.pending ? 'Comparing…' : 'Compare'}
          </button>
        </div>
      </form>
      <ProblemView problem={compare.problem} />
      {parts === null || shown === null ? null : <DiffView parts={parts} from={shown.from} to={shown.to} />}
    </Section>
  );
}

function DiffView({
  parts,
  from,
  to,
}: {
  readonly parts: ReturnType<typeof diffLines>;
  readonly from: number;
  readonly to: number;
}) {
  const changed = parts.some((part) => part.added || part.removed);
  const added = parts.filter((part) => part.added).reduce((sum, part) => sum + (part.count ?? 0), 0);
  const removed = parts.filter((part) => part.removed).reduce((sum, part) => sum + (part.count ?? 0), 0);
  const lines: { key: string; kind: 'added' | 'removed' | 'same'; text: string }[] = [];
  parts.forEach((part, partIndex) => {
    const kind = part.added ? 'added' : part.removed ? 'removed' : 'same';
    const text = part.value.endsWith('\n') ? part.value.slice(0, -1) : part.value;
    text.split('\n').forEach((line, lineIndex) => {
      lines.push({ key: `${partIndex}:${lineIndex}`, kind, text: line });
    });
  });
  const marker = { added: '+ ', removed: '- ', same: '  ' } as const;
  return (
    <div>
      <p role="status">
        {changed
          ? `v${from} → v${to}: ${counted(added, 'line')} added, ${counted(removed, 'line')} removed.`
          : `v${from} and v${to} are identical.`}
      </p>
      {changed ? (
        <figure className="diff" aria-label={`Changes from version ${from} to version ${to}`}>
          {lines.map((line) => (
            <span key={line.key} className={`diff-line ${line.kind}`}>
              {line.kind === 'added' ? <span className="sr-only">added: </span> : null}
              {line.kind === 'removed' ? <span className="sr-only">removed: </span> : null}
              {marker[line.kind]}
              {line.text}
            </span>
          ))}
        </figure>
      ) : null}
    </div>
  );
}
