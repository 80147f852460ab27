/**
 * An attacker's pass at the audit of `ctx.http`: a call still waiting for its answer when the job
 * ends. The upstream had the credential, but the run's `egress` and the public audit
 * (`http-resource.credential.used`) never showed it — the result was built when the job ended, and
 * the relay, on its own thread, added the use later. Each run here ends that way against a slow
 * upstream: a thread's call and `os._exit` (e2), a timeout during the call (e3), a thread's call
 * outliving a normal return (e4).
 *
 * And a call the run's end overtakes is stopped there: the executor bounded it by the resource's
 * timeout and its own invocation only, so a call started near the deadline reached the upstream after
 * the run had ended and was recorded `inFlight`. The worker now passes the job's deadline with the
 * relay; the executor cuts the upstream call there (its connection closed before the upstream
 * answers), and the use reads `timedOut`.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../functions/core/messages/signing.ts';
import { grantedResource } from '../support/http-resources.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner, unique } from '../support/runs.ts';

const PASSWORD = 'attacks-egress-in-flight-password';
const CREDENTIAL = 'sk-in-flight-7c2e91b4';
/** How long the upstream takes to answer. */
const SLOW_MS = 3_000;

const EXIT_WHILE_IN_FLIGHT = `import os, threading, time
def main(inputs, ctx):
    threading.Thread(target=lambda: ctx.http(inputs["resource"], "GET", "/slow", query={"t": "e2"}), daemon=True).start()
    time.sleep(0.5)
    os._exit(0)
`;

const TIMEOUT_IN_FLIGHT = `def main(inputs, ctx):
    ctx.http(inputs["resource"], "GET", "/slow", query={"t": "e3"})
    return {}
`;

const RETURN_WHILE_IN_FLIGHT = `import threading, time
def main(inputs, ctx):
    threading.Thread(target=lambda: ctx.http(inputs["resource"], "GET", "/slow", query={"t": "e4"}), daemon=True).start()
    time.sleep(0.5)
    return {"done": True}
`;

let t: TestPlatform;
let admin: string;
let acme: Runner;
let upstream: Server;
/** The `t` of each request that reached the upstream with the credential. */
const reached: string[] = [];
/** The `t` of each request whose connection the platform closed before the upstream answered. */
const cut: string[] = [];
let resource: string;

beforeAll(async () => {
  t = await startTestPlatform(PASSWORD);
  admin = await t.login(HOSTS.admin, 'admin');
  acme = runner(t, HOSTS.acme, await t.login(HOSTS.acme, 'alice'));
  upstream = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://upstream');
    if (request.headers.authorization === `Bearer ${CREDENTIAL}`)
      reached.push(url.searchParams.get('t') ?? '');
    const answer = setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"slow":true}');
    }, SLOW_MS);
    response.on('close', () => {
      if (response.writableEnded) return;
      clearTimeout(answer);
      cut.push(url.searchParams.get('t') ?? '');
    });
  }).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  resource = await grantedResource(t, admin, {
    name: unique('slow'),
    baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    paths: ['/slow'],
    credential: CREDENTIAL,
  });
}, 120_000);

afterAll(async () => {
  upstream?.closeAllConnections();
  upstream?.close();
  await t?.stop();
});

interface Use {
  readonly resourceId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly inFlight?: boolean;
  readonly timedOut?: boolean;
}

async function audited(executionId: string): Promise<Record<string, unknown>[]> {
  const audit = await t.send({
    host: HOSTS.admin,
    token: admin,
    method: 'GET',
    path: '/api/audit?limit=100',
  });
  expect(audit.status, audit.text).toBe(200);
  return audit.body.items
    .filter(
      (entry: { action: string; details: { executionId?: string } }) =>
        entry.action === 'http-resource.credential.used' && entry.details.executionId === executionId,
    )
    .map((entry: { details: Record<string, unknown> }) => entry.details);
}

describe('a script whose ctx.http call is in flight when its job ends', { timeout: 120_000 }, () => {
  it('has the use in its run and the audit when a thread calls and the job leaves with os._exit (e2)', async () => {
    const skill = await acme.skill(EXIT_WHILE_IN_FLIGHT, {
      egress: [resource],
      limits: { timeoutSeconds: 20 },
    });
    const run = await acme.run(skill, { resource });
    expect(reached).toContain('e2'); // the credential went out
    expect(run.status, JSON.stringify(run)).toBe('failed');
    // Waited for (the upstream answers within the run's deadline): the use as the executor saw it.
    expect(run.egress as Use[]).toEqual([
      expect.objectContaining({ resourceId: resource, method: 'GET', path: '/slow', status: 200 }),
    ]);
    expect(await audited(run.id)).toEqual([
      expect.objectContaining({ via: 'ctx.http', method: 'GET', path: '/slow', status: 200 }),
    ]);
  });

  it('has the use in its run and the audit when the run times out during the call (e3)', async () => {
    const skill = await acme.skill(TIMEOUT_IN_FLIGHT, { egress: [resource], limits: { timeoutSeconds: 1 } });
    const run = await acme.run(skill, { resource });
    expect(reached).toContain('e3');
    expect(run.status, JSON.stringify(run)).toBe('timed_out');
    // No answer before the run ended: stopped at the run's deadline, no status.
    expect(run.egress as Use[]).toEqual([
      expect.objectContaining({
        resourceId: resource,
        method: 'GET',
        path: '/slow',
        status: 0,
        timedOut: true,
      }),
    ]);
    expect((run.egress as Use[])[0]?.inFlight).toBeUndefined();
    expect(await audited(run.id)).toEqual([
      expect.objectContaining({ via: 'ctx.http', method: 'GET', path: '/slow', status: 0, timedOut: true }),
    ]);
    expect(cut).toContain('e3');
  });

  it('has the use in its run and the audit when a thread’s call outlives a normal return (e4)', async () => {
    const skill = await acme.skill(RETURN_WHILE_IN_FLIGHT, {
      egress: [resource],
      limits: { timeoutSeconds: 20 },
    });
    const run = await acme.run(skill, { resource });
    expect(reached).toContain('e4');
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.egress as Use[]).toEqual([
      expect.objectContaining({ resourceId: resource, method: 'GET', path: '/slow', status: 200 }),
    ]);
    expect(await audited(run.id)).toEqual([
      expect.objectContaining({ via: 'ctx.http', method: 'GET', path: '/slow', status: 200 }),
    ]);
  });

  it('stops a call the run’s end overtakes at the run’s deadline (e4, the run shorter than the call)', async () => {
    const skill = await acme.skill(RETURN_WHILE_IN_FLIGHT.replace('"e4"', '"e5"'), {
      egress: [resource],
      limits: { timeoutSeconds: 1 },
    });
    const began = Date.now();
    const run = await acme.run(skill, { resource });
    expect(reached).toContain('e5');
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    // The executor answered at the deadline: the call is stopped, not left in flight.
    expect(run.egress as Use[]).toEqual([
      expect.objectContaining({ resourceId: resource, path: '/slow', status: 0, timedOut: true }),
    ]);
    expect((run.egress as Use[])[0]?.inFlight).toBeUndefined();
    expect(await audited(run.id)).toEqual([
      expect.objectContaining({ via: 'ctx.http', path: '/slow', status: 0, timedOut: true }),
    ]);
    // The upstream saw its connection closed before it answered, within the run's second.
    await expect.poll(() => cut).toContain('e5');
    expect(Date.now() - began).toBeLessThan(SLOW_MS + 10_000);
  });

  it('tells a script whose call is stopped at the deadline why, from its own thread (e6)', async () => {
    // The job's deadline is 2 s away, the upstream answers in 3: the script's call comes back with
    // the executor's timeout before the job is stopped, and the script reports what it got.
    const source = `import time
def main(inputs, ctx):
    began = time.monotonic()
    try:
        ctx.http(inputs["resource"], "GET", "/slow", query={"t": "e6"})
        return {"answered": True}
    except Exception as error:
        return {"error": type(error).__name__, "type": getattr(error, "type", None), "message": str(error), "after": time.monotonic() - began}
`;
    const skill = await acme.skill(source, { egress: [resource], limits: { timeoutSeconds: 2 } });
    const run = await acme.run(skill, { resource });
    expect(reached).toContain('e6');
    await expect.poll(() => cut).toContain('e6');
    // Either the script read the executor's answer just before its deadline or the run timed out
    // first; the call is stopped at the deadline either way.
    expect(run.egress as Use[]).toEqual([
      expect.objectContaining({ path: '/slow', status: 0, timedOut: true }),
    ]);
    if (run.status === 'succeeded') {
      expect(JSON.stringify(run.output)).toContain('deadline');
    } else {
      expect(run.status, JSON.stringify(run)).toBe('timed_out');
    }
  });

  it('sends nothing once the run’s deadline has passed, and cuts a call at what is left (the executor)', async () => {
    // The relay as the worker makes it, on a grant of the platform's jobs key for this resource.
    const now = Date.now();
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const grant = seal(t.platform.signer, 'grant', {
      v: 1,
      tenantId: 'acme',
      executionId: 'ex-deadline-0001',
      skillId: 'sk-deadline-0001',
      declared: [resource],
      resources: [
        {
          id: resource,
          version: 1,
          configHash: 'x',
          name: 'slow',
          description: '',
          baseUrl: upstreamUrl,
          methods: ['GET'],
          paths: ['/slow'],
          writeAllowed: false,
          auth: { scheme: 'bearer' },
          timeoutSeconds: 30,
          maxResponseBytes: 65_536,
          localDevelopment: true,
        },
      ],
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
    });
    const relay = (tag: string, deadlineMs: number) =>
      platformInvoke({
        action: 'relay',
        grant,
        call: { resource, method: 'GET', path: '/slow', query: { t: tag } },
        deadlineMs,
      });
    const late = await relay('d1', Date.now() - 1);
    expect(late).toEqual({ ok: false, error: expect.objectContaining({ type: 'DeadlinePassed' }) });
    expect(late.use).toBeUndefined(); // no credential use: nothing was sent
    const began = Date.now();
    const cutShort = await relay('d2', Date.now() + 800);
    expect(Date.now() - began).toBeLessThan(SLOW_MS);
    expect(cutShort.ok).toBe(false);
    expect(cutShort.error?.message).toContain('deadline');
    expect(cutShort.use).toEqual(expect.objectContaining({ status: 0, timedOut: true }));
    await expect.poll(() => cut).toContain('d2');
    expect(reached).toContain('d2');
    expect(reached).not.toContain('d1');
  });
});

interface Reply {
  readonly ok: boolean;
  readonly error?: { readonly type: string; readonly message: string };
  readonly use?: Use;
}

function platformInvoke(payload: unknown): Promise<Reply> {
  return t.platform.invoke('http-executor', payload) as Promise<Reply>;
}
