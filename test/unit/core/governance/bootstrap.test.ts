/** The first super-admin of a fresh deployment: once, whoever asks and however often, and able to sign in. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import { bootstrapSuperAdmin } from '../../../../functions/core/governance/bootstrap.ts';
import { type Core, createCore } from '../../../../functions/core/platform.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;
let core: Core;

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const table: Table = {
    client: DynamoDBDocumentClient.from(services.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    name: services.tableName,
  };
  core = createCore({ table, tokenSecret: 'bootstrap-suite-token-secret-of-32-characters-or-more' });
});

afterAll(async () => {
  await services?.stop();
});

describe('bootstrapSuperAdmin', () => {
  it('creates exactly one super-admin however many operators ask at once, who can sign in on a console host', async () => {
    const attempts = await Promise.allSettled(
      ['ops', 'ops2', 'ops3', 'ops4'].map((username) => bootstrapSuperAdmin(core, username)),
    );
    const made = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(made).toHaveLength(1);
    for (const attempt of attempts) {
      if (attempt.status === 'rejected') expect(attempt.reason).toBeInstanceOf(ConflictError);
    }
    const created = (made[0] as PromiseFulfilledResult<{ username: string; password: string }>).value;
    expect(created.password.length).toBeGreaterThanOrEqual(20);
    const domain = { kind: 'public', host: 'admin.example.com', surface: 'governance' } as const;
    const session = await core.auth.login(domain, created.username, created.password);
    expect(session.user).toMatchObject({ username: created.username, superAdmin: true });
    const audit = await core.audit.list(domain, 10);
    expect(audit.items.map((entry) => entry.action)).toContain('platform.bootstrapped');
    expect(JSON.stringify(audit.items)).not.toContain(created.password);
  });

  it('refuses a second bootstrap later on', async () => {
    await expect(bootstrapSuperAdmin(core, 'late')).rejects.toThrow(/first super-admin already/);
  });
});
