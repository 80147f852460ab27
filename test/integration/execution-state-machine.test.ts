/**
 * The execution state machine as a property (issue 12): random sequences of what can happen to a run
 * — a runtime's `started` and result reports (replayed, reordered, several of them), a cancel, an
 * approval or a rejection, the run declared lost, dead-lettered, its approval expired, or closed
 * unstarted — some of them at the same instant, applied through the real API and the real recording
 * path on the embedded platform. Whatever the sequence:
 * - every status change is one the lifecycle allows (the table below is the specification, written
 *   here independently of the code's);
 * - a run that ended never changes again, in any field;
 * - its audit trail counts one entry per status it took (one `running` at most, exactly one final
 *   entry once it ended, none before), and the status and approvals indexes list it where it is.
 * Runs use a `local-agent` Skill whose agent never polls, so nothing but the test moves them.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution, ResultReport } from '../../functions/core/executions/executions.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'state-machine-password';
const ACME = HOSTS.acme;
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'rejected', 'cancelled']);

/** Where a run may go from each status (a status may also stay as it is). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // failed: dead-lettered, or a runtime's failure report (a job it should not have; see issue 12)
  pending_approval: ['requested', 'queued', 'rejected', 'cancelled', 'failed'],
  requested: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  queued: ['running', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  rejected: [],
  cancelled: [],
};

/** Statuses reachable from `from` in the table (two events at once may make two moves). */
function reachable(from: string): Set<string> {
  const found = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    for (const next of ALLOWED[stack.pop() ?? ''] ?? []) {
      if (!found.has(next)) {
        found.add(next);
        stack.push(next);
      }
    }
  }
  return found;
}

type Event =
  | { readonly kind: 'start' }
  | {
      readonly kind: 'result';
      readonly status: ResultReport['status'];
      /** Two report ids per run: the same one twice is a replay. */
      readonly report: 1 | 2;
      /**
       * The Skill revision the report names, as a worker's does: the run's own (recorded without a
       * read), another one (refused, then recorded as a report naming none is), or none.
       */
      readonly revision: 'the-run’s' | 'another' | 'none';
    }
  | { readonly kind: 'cancel' | 'approve' | 'reject' | 'lost' | 'dead-letter' | 'expire' | 'not-started' };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.constant({ kind: 'start' } as const),
  fc.record({
    kind: fc.constant('result' as const),
    status: fc.constantFrom('succeeded', 'failed', 'timed_out', 'killed', 'cancelled' as const),
    report: fc.constantFrom(1 as const, 2 as const),
    revision: fc.constantFrom('the-run’s' as const, 'another' as const, 'none' as const),
  }),
  fc.constantFrom(
    ...(['cancel', 'approve', 'reject', 'lost', 'dead-letter', 'expire', 'not-started'] as const).map(
      (kind) => ({ kind }) as const,
    ),
  ),
);

/** One step: an event alone, or two at the same instant. */
const step = fc.oneof(
  { weight: 3, arbitrary: event.map((one) => [one]) },
  { weight: 1, arbitrary: fc.tuple(event, event) },
);

let platform: TestPlatform;
let alice: string;
let bob: string;
let tenant: TenantContext;
let direct: string;
let careful: string;

const api = (token: string, method: string, path: string, body?: unknown) =>
  platform.send({ host: ACME, method, path, token, ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD);
  [alice, bob] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ACME, 'bob')]);
  tenant = (await platform.core.hosts.resolve(ACME)) as TenantContext;
  const agent = await api(alice, 'POST', '/api/agents', { name: 'idle' });
  expect(agent.status, agent.text).toBe(201);
  const script = await api(alice, 'POST', '/api/assets/scripts', {
    name: 'idle.py',
    source: 'def main(inputs, ctx):\n    return {"ok": True}\n',
  });
  expect(script.status, script.text).toBe(201);
  const skill = async (name: string, extra: Record<string, unknown>) => {
    const created = await api(alice, 'POST', '/api/skills', {
      name,
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object', required: ['ok'] },
      risk: 'low',
      asset: { kind: 'local-agent', id: script.body.id, version: 'active', agent: 'idle' },
      limits: { timeoutSeconds: 30 },
      ...extra,
    });
    expect(created.status, created.text).toBe(201);
    return String(created.body.id);
  };
  direct = await skill('Direct', {});
  careful = await skill('Careful', { risk: 'medium', approval: 'one' });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

/** Applies one event; answers are not checked here (a refused event is as good as an accepted one). */
async function apply(id: string, happening: Event): Promise<void> {
  const executions = platform.core.executions;
  switch (happening.kind) {
    case 'start':
      await executions.recordStarted(tenant, {
        kind: 'started',
        executionId: id,
        tenantId: tenant.tenant.id,
        startedAt: new Date().toISOString(),
      });
      return;
    case 'result': {
      const run = (await executions.find(tenant, id)) as Execution;
      const revision =
        happening.revision === 'none'
          ? {}
          : {
              skillId: run.skillId,
              skillRevision: run.skillRevision + (happening.revision === 'another' ? 1 : 0),
            };
      await executions.recordResult(tenant, {
        kind: 'result',
        executionId: id,
        tenantId: tenant.tenant.id,
        ...revision,
        status: happening.status,
        reportId: `${id}-report-${happening.report}`,
        ...(happening.status === 'succeeded'
          ? { output: { ok: happening.report === 1 } }
          : { error: { type: 'ScriptError', message: `report ${happening.report}` } }),
      });
      return;
    }
    case 'cancel': {
      // 200 closed, 202 asked the runtime to stop it, 409 nothing to cancel.
      const answer = await api(bob, 'POST', `/api/executions/${id}/cancel`, {});
      expect([200, 202, 409], answer.text).toContain(answer.status);
      return;
    }
    case 'approve':
    case 'reject': {
      const answer = await api(alice, 'POST', `/api/executions/${id}/${happening.kind}`, {});
      expect([200, 409], answer.text).toContain(answer.status);
      return;
    }
    case 'lost':
      await executions.fail(tenant, id, { type: 'WorkerLost', message: 'lost' });
      return;
    case 'dead-letter':
      await executions.fail(tenant, id, { type: 'DeadLettered', message: 'dead-lettered' });
      return;
    case 'expire':
      await executions.expireApproval(tenant, id);
      return;
    case 'not-started': {
      const current = await executions.find(tenant, id);
      if (current !== null) await executions.closeNotStarted(tenant, current);
      return;
    }
  }
}

async function view(id: string): Promise<Record<string, unknown>> {
  const response = await api(alice, 'GET', `/api/executions/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function ids(path: string): Promise<string[]> {
  const response = await api(alice, 'GET', path);
  expect(response.status, response.text).toBe(200);
  return response.body.items.map((item: { id: string }) => item.id);
}

describe('the execution state machine', () => {
  it('allows only lifecycle transitions, never changes an ended run, and keeps its trail and indexes consistent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(step, { minLength: 1, maxLength: 7 }),
        async (needsApproval, steps) => {
          const started = await api(
            bob,
            'POST',
            `/api/skills/${needsApproval ? careful : direct}/executions`,
            {
              input: {},
            },
          );
          expect(started.status, started.text).toBe(202);
          const id = String(started.body.id);
          let before = await view(id);
          expect(before.status).toBe(needsApproval ? 'pending_approval' : 'queued');
          const seen = [String(before.status)];
          for (const events of steps) {
            await Promise.all(events.map((happening) => apply(id, happening)));
            const after = await view(id);
            const from = String(before.status);
            const to = String(after.status);
            if (to !== from) {
              const allowed = events.length === 1 ? new Set(ALLOWED[from]) : reachable(from);
              expect([...allowed], `${from} → ${to} after ${JSON.stringify(events)}`).toContain(to);
              seen.push(to);
            }
            if (TERMINAL.has(from))
              expect(after, `an ended run changed after ${JSON.stringify(events)}`).toEqual(before);
            before = after;
          }

          // The audit trail: one entry per status taken.
          const trail = await api(alice, 'GET', `/api/audit?target=execution:${id}&limit=100`);
          expect(trail.status, trail.text).toBe(200);
          const actions: string[] = trail.body.items.map((entry: { action: string }) => entry.action);
          const status = String(before.status);
          const finals = actions.filter((action) => TERMINAL.has(action.replace('execution.', '')));
          if (TERMINAL.has(status)) expect(finals).toEqual([`execution.${status}`]);
          else expect(finals).toEqual([]);
          const running = actions.filter((action) => action === 'execution.running').length;
          expect(running).toBeLessThanOrEqual(1);
          if (seen.includes('running')) expect(running).toBe(1);
          // Requested once, and once more when an approval released it.
          const requested = actions.filter((action) => action === 'execution.requested').length;
          const approved = actions.some((action) => action.startsWith('approval.approved'));
          expect(requested).toBeGreaterThanOrEqual(1);
          expect(requested).toBeLessThanOrEqual(needsApproval && approved ? 2 : 1);
          if (needsApproval && seen.some((taken) => ['requested', 'queued', 'running'].includes(taken)))
            expect(requested).toBe(2);
          // The indexes list it where it is: under its status, and in the inbox only while it waits.
          expect(await ids(`/api/executions?status=${status}&skillId=${before.skillId}&limit=100`)).toContain(
            id,
          );
          const inbox = await ids('/api/approvals');
          if (status === 'pending_approval') expect(inbox).toContain(id);
          else expect(inbox).not.toContain(id);
          const execution = (await platform.core.executions.find(tenant, id)) as Execution;
          expect(execution.status).toBe(status);
        },
      ),
      { numRuns: 100 },
    );
  }, 600_000);
});
