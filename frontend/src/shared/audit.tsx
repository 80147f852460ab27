/**
 * The domain's audit chain (newest first), filtered by who, what, which target and when (kept in the
 * address) or to its security events (refused tokens, refused privileged requests and internal
 * messages, suppression summaries), its verification, and its export as JSON Lines with the
 * verification result: the same routes on every host.
 */

import { type FormEvent, useState } from 'react';
import { counted } from '../../../functions/contract/index.ts';
import { type AuditEntry, type AuditVerification, api, requestText, withQuery } from './api.ts';
import { useAction, usePaged } from './hooks.ts';
import { navigate, useLocation } from './router.tsx';
import {
  Badge,
  DateTime,
  JsonBlock,
  LoadMore,
  PageHeader,
  ProblemView,
  Section,
  ShowList,
  Table,
} from './ui.tsx';

const FILTERS = ['category', 'actor', 'action', 'target', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

function apiFilter(filters: Filters): Record<string, string | undefined> {
  return {
    category: filters.category,
    actor: filters.actor,
    action: filters.action,
    target: filters.target,
    from: filters.from === '' ? undefined : `${filters.from}T00:00:00.000Z`,
    to: filters.to === '' ? undefined : `${filters.to}T23:59:59.999Z`,
  };
}

/** Reads every page of the export (`next` lines carry the cursor) into one JSON Lines file. */
async function exportAll(filters: Filters): Promise<string> {
  const lines: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const text = await requestText(
      withQuery('/api/audit/export', {
        ...apiFilter(filters),
        ...(cursor === undefined ? { verify: 'true' } : { cursor }),
      }),
    );
    cursor = undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const parsed = JSON.parse(line) as { kind: string; cursor?: string };
      if (parsed.kind === 'next') cursor = parsed.cursor;
      else if (parsed.kind === 'header' && lines.length > 0) continue;
      else lines.push(line);
    }
    if (cursor === undefined) break;
  }
  return `${lines.join('\n')}\n`;
}

function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/jsonl' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function AuditPage({ title }: { readonly title: string }) {
  const { query } = useLocation();
  const current = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ''])) as Filters;
  const [draft, setDraft] = useState<Filters>(current);
  const list = usePaged<AuditEntry>(withQuery('/api/audit', apiFilter(current)), 50);
  const [result, setResult] = useState<AuditVerification | null>(null);
  const verify = useAction(async () => api.get<AuditVerification>('/api/audit/verify'));
  const exporting = useAction(async () => {
    const text = await exportAll(current);
    download(text, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`);
    return text.split('\n').filter((line) => line !== '').length - 1;
  });
  const [exported, setExported] = useState<number | null>(null);
  const filtered = FILTERS.some((name) => current[name] !== '');
  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigate(withQuery(window.location.pathname, draft));
  };
  const field = (name: (typeof FILTERS)[number], label: string, type = 'text', placeholder = '') => (
    <div className="field">
      <label htmlFor={`audit-${name}`}>{label}</label>
      <input
        id={`audit-${name}`}
        type={type}
        value={draft[name]}
        placeholder={placeholder}
        spellCheck={false}
        autoCapitalize="none"
        onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
      />
    </div>
  );
  return (
    <>
      <PageHeader title={title}>
        <button
          type="button"
          className="secondary"
          disabled={exporting.pending}
          onClick={async () => {
            const count = await exporting.run();
            if (count !== undefined) setExported(count);
          }}
        >
          {exporting.pending ? 'Exporting…' : 'Export (JSON Lines)'}
        </button>
        <button
          type="button"
          onClick={async () => {
            const answer = await verify.run();
            if (answer !== undefined) setResult(answer);
          }}
          disabled={verify.pending}
        >
          {verify.pending ? 'Verifying…' : 'Verify the chain'}
        </button>
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
        <label className="inline-field">
          Show{' '}
          <select
            aria-label="Which entries"
            value={current.category === 'security' ? 'security' : 'all'}
            onChange={(event) =>
              navigate(
                withQuery(window.location.pathname, {
                  ...current,
                  category: event.target.value === 'security' ? 'security' : '',
                }),
              )
            }
          >
            <option value="all">All entries</option>
            <option value="security">Security events</option>
          </select>
        </label>
      </PageHeader>
      <ProblemView problem={verify.problem ?? exporting.problem} />
      {exported === null ? null : (
        <p className="notice" role="status">
          Exported {exported} entr{exported === 1 ? 'y' : 'ies'}, with the chain's verification on the first
          line.
        </p>
      )}
      <Section title="Filter">
        <form onSubmit={apply} aria-label="Filter the audit trail">
          <div className="form-row filters-row">
            {field('actor', 'Who (username)', 'text', 'alice')}
            {field('action', 'Action', 'text', 'execution.cancelled')}
            {field('target', 'Target', 'text', 'execution:ex-…')}
            {field('from', 'From', 'date')}
            {field('to', 'To', 'date')}
          </div>
          <div className="form-actions">
            <button type="submit">Apply filters</button>
            {filtered ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  setDraft({ category: '', actor: '', action: '', target: '', from: '', to: '' });
                  navigate(window.location.pathname);
                }}
              >
                Clear filters
              </button>
            ) : null}
          </div>
        </form>
      </Section>
      {result === null ? null : (
        <Section title="Verification">
          <p role="status" className="verification">
            {result.valid ? (
              <Badge value="valid" label="Chain intact" />
            ) : (
              <Badge value="failed" label="Chain broken" />
            )}{' '}
            {result.valid
              ? 'Every sealed entry matches its seal, and every seal links to the one before.'
              : `${counted(result.problems.length, 'problem')} found.`}
          </p>
          <dl className="facts">
            <dt>Seals</dt>
            <dd>{result.seals}</dd>
            <dt>Sealed entries</dt>
            <dd>{result.sealedEntries}</dd>
            <dt>Not yet sealed</dt>
            <dd>{result.unsealedEntries}</dd>
            <dt>Head</dt>
            <dd>
              <code>{result.head || '—'}</code>
            </dd>
          </dl>
          {result.problems.length > 0 ? (
            <ul className="problem-fields">
              {result.problems.map((problem) => (
                <li key={`${problem.kind}:${problem.detail}`}>
                  <strong>{problem.kind}</strong>: {problem.detail}
                </li>
              ))}
            </ul>
          ) : null}
        </Section>
      )}
      <Section title="Entries">
        <ShowList
          state={list.state}
          loading="Loading the audit trail…"
          empty={
            <p>
              {current.category === 'security'
                ? 'No security events recorded.'
                : filtered
                  ? 'No entry matches these filters.'
                  : 'No audit entries yet.'}
            </p>
          }
        >
          {(items) => (
            <Table columns={['When', 'Who', 'Action', 'Target', 'Details']}>
              {items.map((entry) => (
                <tr key={entry.id}>
                  <td>
                    <DateTime value={entry.at} />
                  </td>
                  <td>
                    {entry.actor.username}
                    <div className="muted">{entry.actor.via}</div>
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    <code>{entry.target}</code>
                  </td>
                  <td>
                    {entry.details === undefined || Object.keys(entry.details).length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      <details>
                        <summary>Show</summary>
                        <JsonBlock value={entry.details} label={`Details of ${entry.action}`} />
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
    </>
  );
}
