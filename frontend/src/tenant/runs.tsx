/** Runs: watching one run until it ends, its result, logs and error, and the history of runs. */
import { useEffect, useState } from 'react';
import { type ApiProblem, api, asProblem, segment } from '../shared/api.ts';
import { type Loadable, usePaged } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import {
  Badge,
  CodeBlock,
  DateTime,
  JsonBlock,
  LoadMore,
  PageHeader,
  Section,
  Show,
  ShowList,
  Table,
} from '../shared/ui.tsx';
import { type Execution, isTerminal } from './types.ts';

const FIRST_POLL_MS = 300;
const MAX_POLL_MS = 2_000;
/** A run waiting for people is polled slowly. */
const WAITING_POLL_MS = 3_000;

/** Reads a run and keeps reading it until it reaches a terminal status. */
export function useExecution(id: string): { state: Loadable<Execution>; refresh: () => void } {
  const [state, setState] = useState<Loadable<Execution>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let delay = FIRST_POLL_MS;
    void generation;
    const poll = async () => {
      try {
        const execution = await api.get<Execution>(`/api/executions/${segment(id)}`);
        if (stopped) return;
        setState({ status: 'ready', data: execution });
        if (isTerminal(execution.status)) return;
        const wait = execution.status === 'pending_approval' ? WAITING_POLL_MS : delay;
        delay = Math.min(MAX_POLL_MS, Math.round(delay * 1.5));
        timer = window.setTimeout(poll, wait);
      } catch (error) {
        if (stopped) return;
        const problem: ApiProblem = asProblem(error);
        setState((previous) => (previous.status === 'ready' ? previous : { status: 'error', problem }));
        // Transient failures are retried; a missing run or a refused session is not.
        if (problem.status === 0 || problem.status >= 500 || problem.status === 429) {
          timer = window.setTimeout(poll, MAX_POLL_MS);
        }
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [id, generation]);
  return { state, refresh: () => setGeneration((value) => value + 1) };
}

function duration(execution: Execution): string | null {
  const start = execution.startedAt ?? execution.queuedAt;
  if (start === undefined || execution.finishedAt === undefined) return null;
  const ms = Date.parse(execution.finishedAt) - Date.parse(start);
  if (!Number.isFinite(ms) || ms < 0) return null;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  requested: 'Requested…',
  pending_approval: 'Waiting for approval. The run starts once the required approvers agree.',
  queued: 'Queued, waiting for a worker…',
  running: 'Running…',
  succeeded: 'Finished successfully.',
  failed: 'The run failed.',
  timed_out: 'The run took longer than its time limit and was stopped.',
  rejected: 'An approver rejected this run.',
  cancelled: 'The run was cancelled.',
};

/** Everything about one run: status, result, error, logs, timings. */
export function ExecutionDetails({
  execution,
  headingLevel = 2,
}: {
  readonly execution: Execution;
  readonly headingLevel?: 2 | 3;
}) {
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const took = duration(execution);
  const running = !isTerminal(execution.status);
  return (
    <div className="execution" data-execution={execution.id} data-status={execution.status}>
      <p className="run-status" role="status" aria-live="polite">
        <Badge value={execution.status} /> {STATUS_TEXT[execution.status] ?? execution.status}
        {running ? <span className="spinner inline" aria-hidden="true" /> : null}
      </p>
      {running && execution.waitingFor !== undefined ? <p className="muted">{execution.waitingFor}</p> : null}
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          <Link to={`/executions/${segment(execution.id)}`}>
            <code>{execution.id}</code>
          </Link>
        </dd>
        <dt>Skill</dt>
        <dd>
          {execution.skillName} <span className="muted">(revision {execution.skillRevision})</span>
        </dd>
        <dt>Script version</dt>
        <dd>
          {execution.asset.kind} {String(execution.asset.version)}
          {execution.asset.agent === undefined ? null : (
            <span className="muted"> on agent {execution.asset.agent}</span>
          )}
        </dd>
        <dt>Requested by</dt>
        <dd>{execution.requestedBy}</dd>
        <dt>Requested</dt>
        <dd>
          <DateTime value={execution.createdAt} />
        </dd>
        {execution.finishedAt === undefined ? null : (
          <>
            <dt>Finished</dt>
            <dd>
              <DateTime value={execution.finishedAt} />
              {took === null ? null : <span className="muted"> · took {took}</span>}
            </dd>
          </>
        )}
      </dl>
      {execution.output === undefined ? null : (
        <section aria-label="Result">
          <Heading>Result</Heading>
          <JsonBlock value={execution.output} label="Result" />
        </section>
      )}
      {execution.error === undefined ? null : (
        <section aria-label="Error" className="problem">
          <Heading>
            Error: {execution.error.type}
            {execution.error.limit === undefined ? null : ` (limit: ${execution.error.limit})`}
          </Heading>
          <p>{execution.error.message}</p>
          {execution.error.issues !== undefined && execution.error.issues.length > 0 ? (
            <ul className="problem-fields">
              {execution.error.issues.map((issue) => (
                <li key={`${issue.path}:${issue.message}`}>
                  <code>{issue.path || '(root)'}</code> {issue.message}
                </li>
              ))}
            </ul>
          ) : null}
          {execution.error.trace === undefined ? null : (
            <details>
              <summary>Trace</summary>
              <pre className="code source">{execution.error.trace}</pre>
            </details>
          )}
        </section>
      )}
      {execution.logs === undefined ? null : (
        <section aria-label="Logs">
          <Heading>Logs{execution.logs.truncated ? ' (truncated)' : ''}</Heading>
          {execution.logs.stdout === '' && execution.logs.stderr === '' ? (
            <p className="muted">The script printed nothing.</p>
          ) : null}
          {execution.logs.stdout === '' ? null : (
            <CodeBlock label="Standard output" source>
              {execution.logs.stdout}
            </CodeBlock>
          )}
          {execution.logs.stderr === '' ? null : (
            <CodeBlock label="Standard error" source>
              {execution.logs.stderr}
            </CodeBlock>
          )}
        </section>
      )}
      <details>
        <summary>Input</summary>
        <JsonBlock value={execution.input} label="Input" />
      </details>
    </div>
  );
}

export function ExecutionPage({ id }: { readonly id: string }) {
  const { state } = useExecution(id);
  return (
    <>
      <PageHeader title="Run">
        <Link className="button secondary" to="/executions">
          All runs
        </Link>
      </PageHeader>
      <div className="card">
        <Show state={state} loading="Loading the run…">
          {(execution) => <ExecutionDetails execution={execution} />}
        </Show>
      </div>
    </>
  );
}

export function ExecutionsPage() {
  const list = usePaged<Execution>('/api/executions');
  return (
    <>
      <PageHeader title="Runs">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <Section title="History">
        <ShowList
          state={list.state}
          loading="Loading runs…"
          empty={
            <>
              <p>No runs yet. Run a Skill from the catalogue and it shows up here.</p>
              <p>
                <Link to="/skills">Open the catalogue</Link>
              </p>
            </>
          }
        >
          {(items) => (
            <Table columns={['Requested', 'Skill', 'Status', 'By', 'Run']}>
              {items.map((execution) => (
                <tr key={execution.id}>
                  <td>
                    <DateTime value={execution.createdAt} />
                  </td>
                  <td>{execution.skillName}</td>
                  <td>
                    <Badge value={execution.status} />
                  </td>
                  <td>{execution.requestedBy}</td>
                  <td>
                    <Link to={`/executions/${segment(execution.id)}`}>Details</Link>
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
