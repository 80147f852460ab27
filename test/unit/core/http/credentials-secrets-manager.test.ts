/**
 * The Secrets Manager credential store against a real Secrets Manager-compatible server (moto,
 * started on a free loopback port when it is installed): the store contract, the secret's name and
 * staging labels as Secrets Manager holds them, and that no value is ever logged — by the adapter,
 * by the SDK (a capturing logger is attached to the client), or on the process's own output.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerCredentialStore } from '../../../../functions/core/secrets/secrets-manager.ts';
import { CredentialStoreError } from '../../../../functions/core/secrets/store.ts';
import { CONTRACT_VALUES, exerciseCredentialStore } from './credential-contract.ts';

const MOTO = process.env.MOTO_SERVER ?? '/root/.pyenv/shims/moto_server';
const motoAvailable = existsSync(MOTO) && spawnSync(MOTO, ['--help'], { timeout: 60_000 }).status === 0;
const PREFIX = 'execfabric/http-credentials/';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.runIf(motoAvailable)('SecretsManagerCredentialStore against moto', () => {
  let moto: ChildProcess;
  let endpoint: string;
  let client: SecretsManagerClient;
  const logged: string[] = [];
  const capture = (...parts: unknown[]) => {
    logged.push(parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' '));
  };
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    moto = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`${endpoint}/moto-api/`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (attempt > 300) throw new Error('moto_server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    client = new SecretsManagerClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      logger: { trace: capture, debug: capture, info: capture, warn: capture, error: capture },
    });
    // Everything this process prints while the store works is captured too.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
        logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return write(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[level];
      console[level] = capture;
      restore.push(() => {
        console[level] = original;
      });
    }
  }, 120_000);

  afterAll(async () => {
    for (const undo of restore.splice(0)) undo();
    client?.destroy();
    if (moto !== undefined && moto.exitCode === null) {
      const exited = new Promise((resolve) => moto.once('exit', resolve));
      moto.kill('SIGTERM');
      await exited;
    }
  });

  it('keeps the store contract', async () => {
    await exerciseCredentialStore(
      new SecretsManagerCredentialStore({ client, prefix: PREFIX }),
      'hr-moto0000001',
    );
  });

  it('keeps one secret per resource under the prefix, with Secrets Manager’s own staging labels', async () => {
    const store = new SecretsManagerCredentialStore({ client, prefix: PREFIX });
    const first = await store.put('hr-moto0000002', CONTRACT_VALUES[0], 'current');
    const second = await store.put('hr-moto0000002', CONTRACT_VALUES[1], 'current');
    const name = `${PREFIX}hr-moto0000002`;
    expect(store.secretName('hr-moto0000002')).toBe(name);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages?.[second.current]).toContain('AWSCURRENT');
    expect(described.VersionIdsToStages?.[first.current]).toContain('AWSPREVIOUS');
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe(CONTRACT_VALUES[0]);
    const listed = await client.send(new ListSecretsCommand({}));
    expect((listed.SecretList ?? []).every((secret) => secret.Name?.startsWith(PREFIX))).toBe(true);
  });

  it('fails with an error that names the call and the secret, never the value', async () => {
    const closed = new SecretsManagerClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    const store = new SecretsManagerCredentialStore({ client: closed, prefix: PREFIX });
    const error = await store
      .put('hr-moto0000003', CONTRACT_VALUES[3], 'current')
      .catch((caught: unknown) => caught);
    closed.destroy();
    expect(error).toBeInstanceOf(CredentialStoreError);
    expect((error as Error).message).toMatch(
      /Secrets Manager DescribeSecret on execfabric\/http-credentials\/hr-moto0000003/,
    );
    expect(JSON.stringify(error)).not.toContain(CONTRACT_VALUES[3]);
    expect((error as Error).cause).toBeUndefined();
  });

  it('never logged a value (adapter, SDK logger, stdout, stderr, console)', () => {
    expect(logged.length).toBeGreaterThan(0); // the SDK did log its calls, with values filtered
    const text = logged.join('\n');
    for (const value of CONTRACT_VALUES) expect(text).not.toContain(value);
  });
});
