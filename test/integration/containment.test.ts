/**
 * Issue 11, tried as an attacker would, through the real local platform: a tenant's script, run by
 * the ordinary pipeline, tries every way out (every listening TCP and UDP port on 127.0.0.1, ::1 and
 * the machine's other addresses; raw, packet and netlink sockets; unix sockets under /tmp and the
 * data folder; DNS; the platform's files and processes) — all refused while the run itself succeeds;
 * the same with the seccomp rung forced. From outside the sandbox, forged, altered and replayed
 * job, result and invoke messages change nothing and are logged. `ctx.http` on a declared, granted
 * resource works and never shows the credential; an undeclared one is refused. The platform's own
 * listening sockets are on loopback only.
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, requireEnv } from '../../functions/core/env.ts';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call, type TestResponse } from '../support/http.ts';
import { HOSTS } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';
import { signIn, waitForRun } from '../support/session.ts';

const PASSWORD = 'containment-test-password';
const CREDENTIAL = 'sk-live-containment-7c1e9a2b4d6f8035';

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Every socket listening on this machine, from the kernel's tables (what a script would find). */
function listeningSockets(): { tcp: Endpoint[]; udp: Endpoint[] } {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined)
    .map((entry) => entry.address.split('%')[0] as string);
  const hosts = (raw: string, v6: boolean): string[] => {
    if (!v6) {
      const bytes = raw.match(/../g)?.map((byte) => Number.parseInt(byte, 16)) ?? [];
      const ip = bytes.reverse().join('.');
      return ip === '0.0.0.0' ? addresses.filter((address) => !address.includes(':')) : [ip];
    }
    if (/^0+$/.test(raw)) return addresses;
    if (raw === '00000000000000000000000001000000') return ['::1'];
    if (raw.startsWith('0000000000000000FFFF0000')) {
      const bytes =
        raw
          .slice(24)
          .match(/../g)
          ?.map((byte) => Number.parseInt(byte, 16)) ?? [];
      return [bytes.reverse().join('.')];
    }
    return [];
  };
  const read = (file: string, listening: (state: string) => boolean, v6: boolean): Endpoint[] => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .slice(1)
      .flatMap((line) => {
        const fields = line.trim().split(/\s+/);
        const [address, portHex] = (fields[1] ?? '').split(':');
        if (address === undefined || portHex === undefined || !listening(fields[3] ?? '')) return [];
        return hosts(address, v6).map((host) => ({ host, port: Number.parseInt(portHex, 16) }));
      });
  };
  const dedupe = (endpoints: Endpoint[]) => [
    ...new Map(endpoints.map((endpoint) => [`${endpoint.host}|${endpoint.port}`, endpoint])).values(),
  ];
  return {
    tcp: dedupe([
      ...read('/proc/net/tcp', (state) => state === '0A', false),
      ...read('/proc/net/tcp6', (state) => state === '0A', true),
    ]),
    udp: dedupe([
      ...read('/proc/net/udp', (state) => state === '07', false),
      ...read('/proc/net/udp6', (state) => state === '07', true),
    ]),
  };
}

/** The script that tries every way out and reports what each attempt got. */
const ESCAPE_SCRIPT = `
import errno, os, socket

def attempt(action):
    try:
        action()
        return "open"
    except socket.gaierror as error:
        return "dns:" + str(error.errno)
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))

def main(inputs, ctx):
    seen = {}
    for host, port in inputs["tcp"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        def connect(host=host, port=port, family=family):
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect((host, port))
        seen[f"tcp {host} {port}"] = attempt(connect)
    for host, port in inputs["udp"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        def send(host=host, port=port, family=family):
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"x", (host, port))
        seen[f"udp {host} {port}"] = attempt(send)
    for path in inputs["unix"]:
        def unix(path=path):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
        seen[f"unix {path}"] = attempt(unix)
    seen["raw"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close())
    seen["packet"] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close())
    seen["netlink"] = attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
    seen["dns"] = attempt(lambda: socket.getaddrinfo("example.com", 443))
    seen["internet"] = attempt(lambda: socket.create_connection(("1.1.1.1", 443), timeout=2).close())
    files = {}
    for path in inputs["files"]:
        try:
            with open(path, "rb") as handle:
                files[path] = "read " + str(len(handle.read()))
        except OSError as error:
            files[path] = type(error).__name__
    return {"network": seen, "files": files, "sandboxed": True}
`;

const CTX_HTTP_SCRIPT = `
import execfabric, os

def main(inputs, ctx):
    answer = ctx.http(inputs["resource"], "GET", "/things/7", headers={"x-trace": "t1"})
    echoed = answer.json()
    try:
        ctx.http(inputs["resource"], "DELETE", "/things/7")
        write = "allowed"
    except execfabric.EgressError as error:
        write = error.type
    try:
        ctx.http(inputs["resource"], "GET", "/things/7", headers={"authorization": "Bearer mine"})
        override = "allowed"
    except execfabric.EgressError as error:
        override = error.type
    try:
        ctx.http(inputs["resource"], "GET", "/elsewhere/1")
        outside = "allowed"
    except execfabric.EgressError as error:
        outside = error.type
    return {
        "status": answer.status,
        "echoed": echoed,
        "headers": answer.headers,
        "write": write,
        "override": override,
        "outside": outside,
        "environment": dict(os.environ),
    }
`;

const UNDECLARED_SCRIPT = `
import execfabric

def main(inputs, ctx):
    try:
        ctx.http(inputs["resource"], "GET", "/things/1")
        return "reached"
    except execfabric.EgressError as error:
        return error.type
`;

/** A loopback API that echoes what it received, the credential included (the platform must redact it). */
async function startUpstream(): Promise<{ server: Server; port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-echo-auth': request.headers.authorization ?? '',
    });
    response.end(
      JSON.stringify({
        path: request.url,
        authorization: request.headers.authorization,
        trace: request.headers['x-trace'],
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, seen };
}

/** Captures this process's stdout/stderr (Powertools logs) so security events can be looked for. */
function captureOutput(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const restores: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = write;
    });
  }
  return {
    lines,
    restore: () => {
      for (const restore of restores) restore();
    },
  };
}

describe.each([
  ['the best rung', undefined],
  ['the seccomp rung forced', 'seccomp' as const],
])('a tenant script, with %s', (_name, network) => {
  let platform: LocalPlatform;
  let dataDir: string;
  let trap: NetServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let admin: string;
  let alice: string;
  let bob: string;
  const platformLog: string[] = [];
  let output: ReturnType<typeof captureOutput>;

  const api = async (host: string, token: string, method: string, path: string, body?: unknown) =>
    call(platform.url, { host, token, method, path, ...(body === undefined ? {} : { body }) });

  function login(host: string, username: string): Promise<string> {
    return signIn(platform.url, host, username, PASSWORD);
  }

  async function skillFor(source: string, extra: Record<string, unknown> = {}): Promise<string> {
    const made = await scriptSkill(
      (token, method, path, body) => api(HOSTS.acme, token, method, path, body),
      alice,
      source,
      { skill: { limits: { timeoutSeconds: 60 }, ...extra } },
    );
    return made.skillId;
  }

  async function run(skillId: string, input: unknown): Promise<TestResponse['body']> {
    const started = await api(HOSTS.acme, bob, 'POST', `/api/skills/${skillId}/executions`, { input });
    expect(started.status, started.text).toBe(202);
    return waitForRun({ url: platform.url, host: HOSTS.acme, token: bob }, String(started.body.id));
  }

  beforeAll(async () => {
    output = captureOutput();
    dataDir = mkdtempSync(join(tmpdir(), 'execfabric-containment-'));
    // A unix socket anyone may connect to, in the data folder and in /tmp.
    trap = createNetServer(() => undefined);
    trap.listen(join(dataDir, 'trap.sock'));
    await once(trap, 'listening');
    upstream = await startUpstream();
    platform = await startLocalPlatform({
      port: 0,
      dataDir,
      schedules: false,
      demoPassword: PASSWORD,
      log: (line) => platformLog.push(line),
      ...(network === undefined ? {} : { sandbox: { network } }),
    });
    admin = await login(HOSTS.admin, 'admin');
    alice = await login(HOSTS.acme, 'alice');
    bob = await login(HOSTS.acme, 'bob');
  }, 120_000);

  afterAll(async () => {
    output.restore();
    await platform?.stop();
    trap?.close();
    upstream?.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reaches nothing: no port on any address, no raw, packet or netlink socket, no unix socket, no DNS, no platform file', async () => {
    const sockets = listeningSockets();
    expect(sockets.tcp.length).toBeGreaterThan(3); // the platform's own servers, at least
    const unixSockets = readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[7])
      .filter(
        (path): path is string => path?.startsWith('/tmp/') === true || path?.startsWith(dataDir) === true,
      );
    const files = [
      join(dataDir, 'secrets.json'),
      join(dataDir, 'platform.lock'),
      `/proc/${process.pid}/environ`,
      `/proc/${process.pid}/mem`,
      '/root/.bash_history',
    ];
    const skill = await skillFor(ESCAPE_SCRIPT);
    const outcome = await run(skill, {
      tcp: sockets.tcp.map((endpoint) => [endpoint.host, endpoint.port]),
      udp: sockets.udp.map((endpoint) => [endpoint.host, endpoint.port]),
      unix: [...new Set([join(dataDir, 'trap.sock'), ...unixSockets])],
      files,
    });
    expect(outcome.status, JSON.stringify(outcome.error)).toBe('succeeded');
    const opened = Object.entries(outcome.output.network).filter(([, how]) => how === 'open');
    expect(opened, 'reached from a tenant script').toEqual([]);
    expect(Object.keys(outcome.output.network).length).toBeGreaterThan(sockets.tcp.length);
    for (const [path, how] of Object.entries(outcome.output.files)) {
      expect(how, path).toMatch(/^(FileNotFoundError|PermissionError)$/);
    }
    expect(outcome.sandbox.network).toBe(network ?? (process.getuid?.() === 0 ? 'netns' : 'userns'));
    expect(outcome.sandbox.seccomp).toBe(true);
  });

  it('calls a declared, granted HTTP resource through ctx.http and never sees its credential', async () => {
    const created = await api(HOSTS.admin, admin, 'POST', '/api/http-resources', {
      name: `things-${network ?? 'best'}`,
      baseUrl: `http://127.0.0.1:${upstream.port}`,
      methods: ['GET'],
      paths: ['/things/*'],
      writeAllowed: false,
      auth: { scheme: 'bearer' },
      localDevelopment: true,
    });
    expect(created.status, created.text).toBe(201);
    const resource = created.body.id;
    expect(
      (
        await api(HOSTS.admin, admin, 'PUT', `/api/http-resources/${resource}/credential`, {
          value: CREDENTIAL,
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await api(HOSTS.admin, admin, 'POST', `/api/http-resources/${resource}/grants`, {
          tenantIds: ['acme'],
        })
      ).status,
    ).toBe(200);

    const skill = await skillFor(CTX_HTTP_SCRIPT, { egress: [resource] });
    const outcome = await run(skill, { resource });
    expect(outcome.status, JSON.stringify(outcome.error)).toBe('succeeded');
    expect(outcome.output.status).toBe(200);
    expect(outcome.output.echoed.path).toBe('/things/7');
    expect(outcome.output.echoed.trace).toBe('t1');
    expect(outcome.output.write).toBe('HttpRequestRefused');
    expect(outcome.output.override).toBe('HttpRequestRefused');
    expect(outcome.output.outside).toBe('HttpRequestRefused');
    // The upstream got the credential; the script saw it nowhere (body, headers, environment).
    expect(upstream.seen.some((line) => line.includes(`Bearer ${CREDENTIAL}`))).toBe(true);
    expect(JSON.stringify(outcome)).not.toContain(CREDENTIAL);
    expect(outcome.egress.map((use: { status: number }) => use.status)).toEqual([200]);
    const audit = await api(HOSTS.admin, admin, 'GET', '/api/audit?limit=100');
    expect(
      audit.body.items.some(
        (entry: { action: string; details: { executionId?: string; via?: string } }) =>
          entry.action === 'http-resource.credential.used' &&
          entry.details.executionId === outcome.id &&
          entry.details.via === 'ctx.http',
      ),
    ).toBe(true);

    // Approvers see what a run may reach: the declaration is part of what they approve.
    const gated = await skillFor(CTX_HTTP_SCRIPT, { egress: [resource], risk: 'medium', approval: 'one' });
    const pending = await api(HOSTS.acme, bob, 'POST', `/api/skills/${gated}/executions`, {
      input: { resource },
    });
    expect(pending.body.status).toBe('pending_approval');
    const inbox = await api(HOSTS.acme, alice, 'GET', '/api/approvals');
    const entry = inbox.body.items.find((item: { id: string }) => item.id === pending.body.id);
    expect(entry.declaredEgress).toEqual([resource]);
    // By name too: approvers may not read the granted resources' listing (it is for Skill managers).
    expect(entry.declaredEgressResources).toEqual([{ id: resource, name: `things-${network ?? 'best'}` }]);
    expect(
      (await api(HOSTS.acme, alice, 'POST', `/api/executions/${pending.body.id}/reject`, {})).status,
    ).toBe(200);

    // An undeclared resource is refused, and a Skill cannot declare one not granted to its tenant.
    const undeclared = await skillFor(UNDECLARED_SCRIPT);
    expect((await run(undeclared, { resource })).output).toBe('EgressNotDeclared');
    const script = await api(HOSTS.acme, alice, 'POST', '/api/assets/scripts', {
      name: 'x',
      source: UNDECLARED_SCRIPT,
    });
    const refused = await api(HOSTS.acme, alice, 'POST', '/api/skills', {
      name: 'not granted',
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: script.body.id },
      egress: ['hr-000000000000'],
    });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.errors[0].path).toBe('egress.0');
  });

  it('refuses forged, altered and replayed internal messages from outside the sandbox, and logs them', async () => {
    const { services } = platform;
    const skill = await skillFor('def main(inputs, ctx):\n    return {"genuine": True}\n');
    const genuine = await run(skill, {});
    expect(genuine.output).toEqual({ genuine: true });

    // 1. Without this start's credentials, no internal server takes anything.
    const stranger = { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'not-the-platform-secret' };
    const strangerSqs = new SQSClient({
      endpoint: services.sqsEndpoint,
      region: 'us-east-1',
      credentials: stranger,
    });
    await expect(
      strangerSqs.send(
        new SendMessageCommand({ QueueUrl: services.queues['execution-results'].url, MessageBody: '{}' }),
      ),
    ).rejects.toThrow();
    const strangerDb = new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({
      endpoint: services.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: stranger,
    });
    await expect(
      strangerDb.send(
        new PutItemCommand({
          TableName: services.tableName,
          Item: { PK: { S: 'PUBLIC' }, SK: { S: 'USER#mallory' }, superAdmin: { BOOL: true } },
        }),
      ),
    ).rejects.toThrow();
    const lambdaEndpoint = requireEnv(ENV.lambdaEndpoint, platform.env);
    const strangerLambda = new LambdaClient({
      endpoint: lambdaEndpoint,
      region: 'us-east-1',
      credentials: stranger,
    });
    await expect(
      strangerLambda.send(new InvokeCommand({ FunctionName: 'http-executor', Payload: Buffer.from('{}') })),
    ).rejects.toThrow();
    strangerSqs.destroy();
    strangerDb.destroy();
    strangerLambda.destroy();

    // 2. With the credentials (a compromised channel) but not the message keys: nothing is believed.
    const forgedResult = JSON.stringify({
      kind: 'result',
      executionId: genuine.id,
      tenantId: 'acme',
      status: 'succeeded',
      output: { genuine: false },
    });
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['execution-results'].url,
        MessageBody: forgedResult,
      }),
    );
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['execution-results'].url,
        MessageBody: forgedResult,
        MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: 'v1.forged' } },
      }),
    );
    // An altered copy of a signed report: the MAC was made for another body.
    const signedOther = platform.signer.sign('report', forgedResult.replace('false', 'true'));
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['execution-results'].url,
        MessageBody: forgedResult,
        MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: signedOther } },
      }),
    );
    const forgedJob = JSON.stringify({
      kind: 'http',
      jobId: 'globex:ex-forged',
      executionId: 'ex-forged',
      tenantId: 'globex',
      skillId: 'skl-forged',
      resource: { baseUrl: `http://127.0.0.1:${upstream.port}`, localDevelopment: true },
      request: { method: 'GET', path: '/things/1' },
      input: {},
      limits: { timeoutSeconds: 5 },
      requestedAt: new Date().toISOString(),
    });
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['http-executions'].url,
        MessageBody: forgedJob,
        MessageGroupId: 'globex',
      }),
    );
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['script-executions'].url,
        MessageBody: forgedJob.replace('"http"', '"python-script"'),
        MessageGroupId: 'globex',
      }),
    );
    // A forged dead letter would fail another tenant's run if it were believed.
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['script-executions'].deadLetterUrl,
        MessageBody: JSON.stringify({ executionId: genuine.id, tenantId: 'acme' }),
      }),
    );
    // The invoke endpoint with valid credentials: a forged job event and a forged egress grant.
    const insider = new LambdaClient({
      endpoint: lambdaEndpoint,
      region: 'us-east-1',
      credentials: services.credentials,
    });
    const workerAnswer = await insider.send(
      new InvokeCommand({
        FunctionName: 'script-worker',
        TenantId: 'globex',
        Payload: Buffer.from(
          JSON.stringify({ Records: [{ messageId: 'forged-1', body: forgedJob, messageAttributes: {} }] }),
        ),
      }),
    );
    expect(JSON.parse(Buffer.from(workerAnswer.Payload ?? []).toString())).toEqual({ batchItemFailures: [] });
    const relayAnswer = await insider.send(
      new InvokeCommand({
        FunctionName: 'http-executor',
        Payload: Buffer.from(
          JSON.stringify({
            action: 'relay',
            grant: { body: JSON.stringify({ resources: [{ baseUrl: 'http://127.0.0.1:1' }] }), mac: 'v1.x' },
            call: { resource: 'x', method: 'GET', path: '/' },
            deadlineMs: Date.now() + 10_000,
          }),
        ),
      }),
    );
    expect(JSON.parse(Buffer.from(relayAnswer.Payload ?? []).toString()).error.type).toBe('GrantRefused');
    insider.destroy();

    // 3. A genuine result, replayed: recognised and logged, nothing changes.
    const stored = await services.dynamodb.send(
      new GetItemCommand({
        TableName: services.tableName,
        Key: { PK: { S: 'T#acme' }, SK: { S: `EXEC#${genuine.id}` } },
      }),
    );
    const reportId = stored.Item?.resultReportId?.S;
    expect(reportId).toBeDefined();
    const replay = JSON.stringify({
      kind: 'result',
      executionId: genuine.id,
      tenantId: 'acme',
      reportId,
      status: 'succeeded',
      output: { genuine: false },
    });
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: services.queues['execution-results'].url,
        MessageBody: replay,
        MessageAttributes: {
          [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: platform.signer.sign('report', replay) },
        },
      }),
    );

    // Nothing changed: the run keeps its output, no claim was made for the forged job, upstream saw nothing.
    const before = upstream.seen.length;
    const deadline = Date.now() + 15_000;
    const events = () =>
      [...output.lines, ...platformLog].join('\n').match(/"securityEvent": ?"[a-z-]+"|security event/g) ?? [];
    // Every refusal is logged, the replay's too (the recorder may take the replay after the others).
    const replayLogged = () =>
      [...output.lines, ...platformLog].some((line) => line.includes('a replayed result'));
    while ((events().length < 9 || !replayLogged()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await api(HOSTS.acme, bob, 'GET', `/api/executions/${genuine.id}`);
    expect(after.body.status).toBe('succeeded');
    expect(after.body.output).toEqual({ genuine: true });
    expect(upstream.seen.length).toBe(before);
    const claim = await services.dynamodb.send(
      new GetItemCommand({ TableName: services.claimsTableName, Key: { jobId: { S: 'globex:ex-forged' } } }),
    );
    expect(claim.Item).toBeUndefined();
    const logged = [...output.lines, ...platformLog].join('\n');
    expect(logged).toMatch(/"securityEvent":"message-refused"/);
    expect(logged).toMatch(/"securityEvent": ?"forged-job"/);
    expect(logged).toMatch(/"securityEvent":"grant-refused"/);
    expect(logged).toMatch(/a replayed result/);
    expect(logged).toMatch(/refused an invocation \(security event\)/);
    // …and recorded in the platform's audit as security events (from the recorder and the runtimes).
    let recorded: { action: string; target: string }[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const events = await api(HOSTS.admin, admin, 'GET', '/api/audit?category=security&limit=100');
      recorded = events.body.items.filter(
        (entry: { action: string }) => entry.action === 'security.internal-message-refused',
      );
      if (recorded.length >= 7) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const sources = new Set(recorded.map((entry) => entry.target));
    expect(sources).toEqual(
      new Set([
        'source:queue:execution-results',
        'source:queue:http-executions',
        'source:queue:script-executions-dlq',
        'source:queue:script-executions',
        'source:invoke:http-executor',
      ]),
    );
  });
});

describe('the local platform’s listening sockets', () => {
  it('are on loopback only', async () => {
    const platform = await startLocalPlatform({
      port: 0,
      dataDir: null,
      schedules: false,
      log: () => undefined,
    });
    try {
      // Make the Python worker start too (its hosts and zygotes are children of this process).
      expect(platform.seeded).toBe(true);
      const inodes = new Set<string>();
      const ours = [process.pid, ...childPids(process.pid)];
      for (const pid of ours) {
        let fds: string[];
        try {
          fds = readdirSync(`/proc/${pid}/fd`);
        } catch {
          continue;
        }
        for (const fd of fds) {
          try {
            const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
            const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
            if (inode !== undefined) inodes.add(inode);
          } catch {
            // closed meanwhile
          }
        }
      }
      const listening: string[] = [];
      for (const [file, state] of [
        ['/proc/net/tcp', '0A'],
        ['/proc/net/tcp6', '0A'],
        ['/proc/net/udp', '07'],
        ['/proc/net/udp6', '07'],
      ] as const) {
        for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
          const fields = line.trim().split(/\s+/);
          if (fields[3] !== state || !inodes.has(fields[9] ?? '')) continue;
          listening.push(`${file} ${fields[1]}`);
        }
      }
      expect(listening.length).toBeGreaterThanOrEqual(4); // router, dynalite, fauxqs, lambda endpoint
      const exposed = listening.filter(
        (entry) =>
          !/ 0100007F:/.test(entry) && // 127.0.0.1
          !/ 00000000000000000000000001000000:/.test(entry) && // ::1
          !/ 0000000000000000FFFF00000100007F:/.test(entry), // ::ffff:127.0.0.1
      );
      expect(exposed, 'listening beyond loopback').toEqual([]);
    } finally {
      await platform.stop();
    }
  });
});

function childPids(root: number): number[] {
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const pid = frontier.pop() as number;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number);
    } catch {
      children = [];
    }
    found.push(...children);
    frontier.push(...children);
  }
  return found;
}
