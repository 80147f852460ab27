/**
 * The directory's place among the plan's users when writing the user fails, against a real local store
 * (dynalite) through the real SDK clients, with the failure made by the client itself: a write that
 * was refused gives its place back (the next user takes it); a write that landed though its answer was
 * lost keeps it, as the user it made is there.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../../functions/core/audit/chain.ts';
import type { Table } from '../../../../functions/core/db.ts';
import { PlanLimitError } from '../../../../functions/core/errors.ts';
import { Directory } from '../../../../functions/core/identity/directory.ts';
import { usageKey } from '../../../../functions/core/keys.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { UsageRepository } from '../../../../functions/core/tenancy/usage-repository.ts';
import { LOCAL_REGION, type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

const PASSWORD = 'a long enough passphrase';

let services: LocalServices;

/** How the next write of a user item fails: refused before it reaches the store, or lost after it landed. */
type Fault = 'refused' | 'answer-lost';

/** A table on its own client whose next PutItem of a user fails as `fault.next` says (once). */
function faultyTable(fault: { next: Fault | null }): Table {
  const client = new DynamoDBClient({
    endpoint: services.dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: services.credentials,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: { SK?: { S?: string } } };
      const how = fault.next;
      if (how === null || context.commandName !== 'PutItemCommand' || !input.Item?.SK?.S?.startsWith('USER#'))
        return next(args);
      fault.next = null;
      if (how === 'refused') throw new Error('the store is not answering');
      await next(args);
      throw new Error('the answer was lost');
    },
    { step: 'build', name: 'userWriteFault' },
  );
  return { client: DynamoDBDocumentClient.from(client), name: services.tableName };
}

function freeSpace(id: string): TenantContext {
  return {
    kind: 'tenant',
    host: `${id}.example.com`,
    tenant: { id, name: id, status: 'active', plan: 'free', expiresAt: '2027-01-01T00:00:00.000Z' },
  };
}

function directoryOn(table: Table): Directory {
  return new Directory({ table, audit: new AuditLog({ table }) });
}

async function counted(table: Table, domain: TenantContext): Promise<readonly string[]> {
  return [...((await new UsageRepository(table).held(usageKey(domain, 'users')))?.ids ?? [])].sort();
}

const user = (username: string) => ({ username, password: PASSWORD, roles: ['operator'] });

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

describe('Directory and the plan’s users', () => {
  it('gives the place back when writing the user was refused', async () => {
    const fault: { next: Fault | null } = { next: null };
    const table = faultyTable(fault);
    const directory = directoryOn(table);
    const domain = freeSpace('refused-write');
    await directory.createUser(domain, user('owner'));
    await directory.createUser(domain, user('second'));

    fault.next = 'refused';
    await expect(directory.createUser(domain, user('lost'))).rejects.toThrow('not answering');
    expect(await directory.getUser(domain, 'lost', { consistent: true })).toBeNull();
    expect(await counted(table, domain)).toEqual(['owner', 'second']);
    // The place is free again: the third user takes it, and only then is the space full.
    await directory.createUser(domain, user('third'));
    await expect(directory.createUser(domain, user('fourth'))).rejects.toBeInstanceOf(PlanLimitError);
  });

  it('keeps the place of a user whose write landed though its answer was lost', async () => {
    const fault: { next: Fault | null } = { next: null };
    const table = faultyTable(fault);
    const directory = directoryOn(table);
    const domain = freeSpace('answer-lost');
    await directory.createUser(domain, user('owner'));

    fault.next = 'answer-lost';
    await expect(directory.createUser(domain, user('landed'))).rejects.toThrow('answer was lost');
    expect(await directory.getUser(domain, 'landed', { consistent: true })).not.toBeNull();
    expect(await counted(table, domain)).toEqual(['landed', 'owner']);
    await directory.createUser(domain, user('third'));
    await expect(directory.createUser(domain, user('fourth'))).rejects.toBeInstanceOf(PlanLimitError);
    expect((await directory.usernames(domain)).sort()).toEqual(['landed', 'owner', 'third']);
  });
});
