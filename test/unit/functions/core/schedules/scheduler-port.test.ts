/**
 * The EventBridge Scheduler adapter, driven through the real SDK client: against a loopback stand-in
 * that speaks Scheduler's REST-JSON protocol (what is sent: the group, expression and time zone, the
 * sealed schedule reference with Scheduler's scheduled-time placeholder, the role, the retry policy
 * and the dead-letter queue; update-or-create; deletion tolerant of a missing schedule; failures as
 * UpstreamError), and — where `moto_server` is installed — against moto's Scheduler, read back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateScheduleGroupCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../../../functions/core/errors.ts';
import { MessageSigner, unseal } from '../../../../../functions/core/messages/signing.ts';
import {
  DELIVERY_RETRY,
  EventBridgeScheduler,
  SCHEDULED_TIME_PLACEHOLDER,
} from '../../../../../functions/core/schedules/scheduler-port.ts';
import type { TenantContext } from '../../../../../functions/core/tenancy/domain.ts';

const signer = new MessageSigner({ jobs: 'k'.repeat(40) });
const domain: TenantContext = {
  kind: 'tenant',
  host: 'acme.localhost',
  tenant: { id: 'acme', name: 'Acme', status: 'active', plan: 'standard', expiresAt: '2030-01-01T00:00:00Z' },
};
const target = {
  id: 'sch-abcdefghijkl',
  name: 'Nightly report',
  timing: { kind: 'cron', expression: '30 2 * * MON-FRI' } as const,
  timezone: 'Europe/Paris',
  enabled: true,
};
const ARNS = {
  targetArn: 'arn:aws:lambda:eu-west-1:111122223333:function:schedule-fire',
  roleArn: 'arn:aws:iam::111122223333:role/scheduler',
  deadLetterArn: 'arn:aws:sqs:eu-west-1:111122223333:tenant-schedule-dlq',
};

function client(endpoint: string): SchedulerClient {
  return new SchedulerClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
}

describe('against a loopback stand-in', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];
  const existing = new Set<string>();
  let failNext = false;

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const path = decodeURIComponent((request.url ?? '').split('?')[0] ?? '');
        seen.push({
          method: request.method ?? '',
          path: request.url ?? '',
          body: text === '' ? {} : JSON.parse(text),
        });
        const name = path.replace('/schedules/', '');
        const answer = (status: number, body: unknown, type?: string) => {
          response.writeHead(status, {
            'content-type': 'application/json',
            ...(type === undefined ? {} : { 'x-amzn-errortype': type }),
          });
          response.end(JSON.stringify(body));
        };
        if (failNext) {
          failNext = false;
          return answer(500, { Message: 'boom' }, 'InternalServerException');
        }
        if (request.method === 'PUT' && !existing.has(name))
          return answer(404, { Message: 'no such schedule' }, 'ResourceNotFoundException');
        if (request.method === 'DELETE' && !existing.has(name))
          return answer(404, { Message: 'no such schedule' }, 'ResourceNotFoundException');
        if (request.method === 'POST' || request.method === 'PUT') existing.add(name);
        if (request.method === 'DELETE') existing.delete(name);
        answer(200, { ScheduleArn: `arn:aws:scheduler:eu-west-1:111122223333:schedule/g/${name}` });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  it('creates a schedule the first time, updates it after, with everything a fire needs', async () => {
    const port = new EventBridgeScheduler({
      client: client(url),
      group: 'stage-tenant-schedules',
      signer,
      ...ARNS,
    });
    await port.put(domain, target);
    expect(seen.map((request) => request.method)).toEqual(['PUT', 'POST']);
    const created = seen[1] as Seen;
    expect(decodeURIComponent(created.path)).toBe('/schedules/acme.sch-abcdefghijkl');
    expect(created.body).toMatchObject({
      GroupName: 'stage-tenant-schedules',
      ScheduleExpression: 'cron(30 2 ? * MON,TUE,WED,THU,FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: ARNS.targetArn,
        RoleArn: ARNS.roleArn,
        RetryPolicy: DELIVERY_RETRY,
        DeadLetterConfig: { Arn: ARNS.deadLetterArn },
      },
    });
    const input = JSON.parse(String((created.body.Target as { Input: string }).Input));
    expect(input.scheduledTime).toBe(SCHEDULED_TIME_PLACEHOLDER);
    expect(unseal(signer, 'schedule', input.schedule)).toEqual({
      v: 1,
      tenantId: 'acme',
      scheduleId: target.id,
    });

    seen.length = 0;
    await port.put(domain, { ...target, enabled: false });
    expect(seen.map((request) => request.method)).toEqual(['PUT']);
    expect(seen[0]?.body.State).toBe('DISABLED');
  });

  it('removes a schedule, and a missing one is no error; a failing Scheduler is an UpstreamError', async () => {
    const port = new EventBridgeScheduler({ client: client(url), group: 'g', signer, ...ARNS });
    await port.remove(domain, target.id);
    await expect(port.remove(domain, target.id)).resolves.toBeUndefined();
    failNext = true;
    await expect(port.put(domain, target)).rejects.toBeInstanceOf(UpstreamError);
  });
});

const moto = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).stdout.trim();

describe.runIf(moto !== '')('against moto’s Scheduler (moto_server is installed here)', () => {
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn(moto, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await client(url).send(new CreateScheduleGroupCommand({ Name: 'stage-tenant-schedules' }));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }, 40_000);

  afterAll(() => {
    child?.kill();
  });

  it('stores what the adapter sends, read back through GetSchedule', async () => {
    const port = new EventBridgeScheduler({
      client: client(url),
      group: 'stage-tenant-schedules',
      signer,
      ...ARNS,
    });
    await port.put(domain, target);
    const stored = await client(url).send(
      new GetScheduleCommand({ Name: 'acme.sch-abcdefghijkl', GroupName: 'stage-tenant-schedules' }),
    );
    expect(stored.ScheduleExpression).toBe('cron(30 2 ? * MON,TUE,WED,THU,FRI *)');
    expect(stored.ScheduleExpressionTimezone).toBe('Europe/Paris');
    expect(stored.Target?.Arn).toBe(ARNS.targetArn);
    await port.put(domain, { ...target, enabled: false });
    const paused = await client(url).send(
      new GetScheduleCommand({ Name: 'acme.sch-abcdefghijkl', GroupName: 'stage-tenant-schedules' }),
    );
    expect(paused.State).toBe('DISABLED');
    await port.remove(domain, target.id);
    await expect(port.remove(domain, target.id)).resolves.toBeUndefined();
  });
});

if (moto === '') {
  // Said where the run is read: the moto check did not run on this machine.
  console.warn(
    'scheduler-port.test: moto_server is not installed; the check against moto’s Scheduler was skipped',
  );
}
