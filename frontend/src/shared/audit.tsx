/**
 * The domain's audit chain (newest first), filterable to its security events (refused tokens,
 * refused privileged requests and internal messages, suppression summaries), and its verification:
 * the same routes on every host.
 */
import { useState } from 'react';
import { type AuditEntry, type AuditVerification, api } from './api.ts';
import { useAction, usePaged } from './hooks.ts';
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

export function AuditPage({ title }: { readonly title: string }) {
  const [category, setCategory] = useState<'all' | 'security'>('all');
  const list = usePaged<AuditEntry>(category === 'all' ? '/api/audit' : '/api/audit?category=security', 50);
  const [result, setResult] = useState<AuditVerification | null>(null);
  const verify = useAction(async () => api.get<AuditVerification>('/api/audit/verify'));
  return (
    <>
      <PageHeader title={title}>
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
            value={category}
            onChange={(event) => setCategory(event.target.value === 'security' ? 'security' : 'all')}
          >
            <option value="all">All entries</option>
            <option value="security">Security events</option>
          </select>
        </label>
      </PageHeader>
      <ProblemView problem={verify.problem} />
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
              : `${result.problems.length} problem(s) found.`}
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
          empty={<p>{category === 'security' ? 'No security events recorded.' : 'No audit entries yet.'}</p>}
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
