/**
 * Issue 17's new channel, tried as an attacker would. From inside a tenant script, through the real
 * platform: another tenant's records, an undeclared collection, a neighbouring collection whose name
 * shares a prefix, extra fields slipped into a call (a tenant, a grant, a raw key), crafted cursors
 * and keys, and the table itself over the network — none reach anything but the script's own declared
 * collection. From outside the sandbox, at the data relay itself: forged, altered, relabelled,
 * expired and replayed grants are refused (and logged); only a live run's own grant is served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataGrant } from '../../functions/core/data/relay.ts';
import { seal } from '../../functions/core/messages/signing.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'data-attacks-test-password';

const ATTACK_SCRIPT = `
import base64, json, socket, execfabric

def outcome(action):
    try:
        return ["ok", action()]
    except execfabric.CallError as error:
        return ["refused", error.type]
    except OSError as error:
        return ["oserror", type(error).__name__]

def main(inputs, ctx):
    mine = ctx.data.collection("ledger")
    seen = {}
    seen["own"] = outcome(lambda: mine.get("entry").value)
    seen["undeclared"] = outcome(lambda: ctx.data.collection("secrets").get("root"))
    seen["prefix-neighbour"] = outcome(lambda: [r.key for r in mine.query("")])
    seen["hash-key"] = outcome(lambda: mine.get("#secrets#root"))
    seen["smuggled"] = outcome(lambda: ctx._call("data", {
        "action": "get", "collection": "ledger", "key": "entry",
        "tenantId": "globex", "grant": {"body": "{}", "mac": "v1.x"}, "PK": "T#globex",
    }).get("record", {}).get("json"))
    seen["cursor-within"] = outcome(lambda: [r.key for r in mine.query("", cursor=base64.urlsafe_b64encode(b"a").decode().rstrip("="))])
    seen["cursor-out-of-prefix"] = outcome(lambda: mine.query("e", cursor=base64.urlsafe_b64encode(b"zzz").decode().rstrip("=")))
    seen["control-key"] = outcome(lambda: mine.put("bad\\u0000key", {"n": 1}))
    seen["huge-key"] = outcome(lambda: mine.get("k" * 300))
    seen["unknown-action"] = outcome(lambda: ctx._call("data", {"action": "scan", "collection": "ledger"})["error"]["type"])
    seen["no-collection"] = outcome(lambda: ctx._call("data", {"action": "get", "key": "entry"})["error"]["type"])
    def table():
        host, port = inputs["dynamodb"]
        with socket.create_connection((host, port), timeout=2):
            return "connected"
    seen["table"] = outcome(table)
    return seen
`;

describe('the data channel, attacked', { timeout: 120_000 }, () => {
  let test: TestPlatform;
  let alice: string;
  let gina: string;
  let acme: Runner;
  const api = (host: string, token: string, method: string, path: string, body?: unknown) =>
    test.send({ host, token, method, path, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    test = await startTestPlatform(PASSWORD);
    alice = await test.login(HOSTS.acme, 'alice');
    gina = await test.login(HOSTS.globex, 'gina');
    acme = runner(test, HOSTS.acme, alice);
    for (const [host, token, name, key, value] of [
      [HOSTS.acme, alice, 'ledger', 'entry', { owner: 'acme' }],
      [HOSTS.acme, alice, 'ledger-archive', 'old', { owner: 'acme-archive' }],
      [HOSTS.acme, alice, 'secrets', 'root', { owner: 'acme-secret' }],
      [HOSTS.globex, gina, 'ledger', 'entry', { owner: 'globex' }],
    ] as const) {
      await api(host, token, 'POST', '/api/data/collections', { name, schema: {} });
      const put = await api(host, token, 'PUT', `/api/data/collections/${name}/records/${key}`, { value });
      expect(put.status, put.text).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
  });

  it('a script reaches its own declared collection and nothing else', async () => {
    const skillId = await acme.skill(ATTACK_SCRIPT, { collections: ['ledger'] });
    const endpoint = new URL(test.platform.services.dynamodbEndpoint);
    const run = await acme.run(skillId, { dynamodb: [endpoint.hostname, Number(endpoint.port)] });
    expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
    expect(run.output).toEqual({
      own: ['ok', { owner: 'acme' }],
      undeclared: ['refused', 'CollectionNotDeclared'],
      'prefix-neighbour': ['ok', ['entry']],
      'hash-key': ['ok', null],
      smuggled: ['ok', '{"owner":"acme"}'],
      'cursor-within': ['ok', ['entry']],
      'cursor-out-of-prefix': ['refused', 'InvalidCall'],
      'control-key': ['refused', 'InvalidKey'],
      'huge-key': ['refused', 'InvalidKey'],
      'unknown-action': ['ok', 'InvalidCall'],
      'no-collection': ['ok', 'CollectionNotDeclared'],
      table: expect.arrayContaining(['oserror']),
    });
    // A key holding '#' is only a key of this collection: nothing of another collection is read.
    expect(JSON.stringify(run.output['hash-key'])).not.toContain('acme-secret');
    expect(JSON.stringify(run.output)).not.toContain('globex');
    expect(JSON.stringify(run.output)).not.toContain('acme-archive');
  });

  it('the relay refuses forged, altered, relabelled, expired and replayed grants', async () => {
    const signer = test.platform.signer;
    const relay = (grant: { body: string; mac: string }, call: Record<string, unknown> = {}) =>
      test.platform.invoke('data-relay', {
        action: 'data',
        grant,
        call: { action: 'get', collection: 'ledger', key: 'entry', ...call },
      }) as Promise<{ ok: boolean; error?: { type: string }; record?: { json: string } | null }>;

    // A live run of acme to bind grants to: it waits, so the run stays unfinished while we knock.
    const skillId = await acme.skill(
      'import time\n\ndef main(inputs, ctx):\n    time.sleep(inputs["s"])\n    return 1\n',
      {
        collections: ['ledger'],
      },
    );
    const live = await acme.request(skillId, { s: 4 });
    const now = Date.now();
    const grant = (changes: Partial<DataGrant> = {}): DataGrant => ({
      v: 1,
      tenantId: 'acme',
      executionId: live,
      skillId,
      collections: ['ledger'],
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
      ...changes,
    });
    // Wait until the run is picked up (a queued run is live too, but be sure it exists).
    const valid = seal(signer, 'data-grant', grant());
    const served = await relay(valid);
    expect(served).toMatchObject({ ok: true, record: { json: '{"owner":"acme"}' } });

    const forged = await relay({ body: valid.body, mac: 'v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(forged.error?.type).toBe('GrantRefused');
    const altered = await relay({ body: valid.body.replace('"acme"', '"globex"'), mac: valid.mac });
    expect(altered.error?.type).toBe('GrantRefused');
    const relabelled = await relay(seal(signer, 'grant', grant()));
    expect(relabelled.error?.type).toBe('GrantRefused');
    const expired = await relay(
      seal(signer, 'data-grant', grant({ expiresAt: new Date(now - 1000).toISOString() })),
    );
    expect(expired.error?.type).toBe('GrantExpired');
    const otherTenantsRun = await relay(seal(signer, 'data-grant', grant({ tenantId: 'globex' })));
    expect(otherTenantsRun.error?.type).toBe('RunFinished');
    const widened = await relay(valid, { collection: 'secrets', key: 'root' });
    expect(widened.error?.type).toBe('CollectionNotDeclared');
    const malformed = await test.platform.invoke('data-relay', {
      action: 'data',
      grant: valid,
      call: {},
      extra: 1,
    });
    expect(malformed).toMatchObject({ ok: false, error: { type: 'InvalidRelay' } });

    // Once the run has finished, its grant is worth nothing.
    await acme.wait(live);
    const replayed = await relay(valid);
    expect(replayed.error?.type).toBe('RunFinished');
    const unknownRun = await relay(
      seal(signer, 'data-grant', grant({ executionId: 'ex-0000000000aaaaaaaaaa' })),
    );
    expect(unknownRun.error?.type).toBe('RunFinished');
  });

  it('the worker relays data calls only to the functions the topology lets it invoke', async () => {
    // The script worker's own port refuses any other target (checked where the platform wires it).
    const { functions } = await import('../../lib/topology.ts');
    expect(functions['script-worker'].permissions.invoke).toEqual(['http-executor', 'data-relay']);
    expect(functions['data-relay'].permissions).toMatchObject({
      table: 'readwrite',
      messageKeys: ['jobs'],
      sendTo: [],
    });
  });
});
