/**
 * The per-process tenant cache (tenant-cache.ts, docs/decisions/session-cache.md "Tenant records"),
 * attacked, against a real local store (dynalite) through the real SDK client, on a fake clock. A
 * cache that `listens` is this process (a change made here forgets at once); one that does not
 * stands in for another Lambda container, which sees a change only when its entry ends — accepted
 * at its lifetime − 1 ms, read again at its lifetime, never later. A suspended or expired tenant, a
 * host re-bound to another tenant, an unknown or forgotten host, two tenants' entries side by side,
 * a scoped request asking for another tenant, a read racing a change, and the bounds on what is
 * kept.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Table } from '../../../../functions/core/db.ts';
import { UnknownHostError } from '../../../../functions/core/errors.ts';
import { HostDirectory } from '../../../../functions/core/tenancy/hosts.ts';
import {
  BOUND_TENANT_MAX_AGE_MS,
  DEFAULT_TENANT_MISS_TTL_MS,
  SHOWN_TENANT_MAX_AGE_MS,
  TenantCache,
} from '../../../../functions/core/tenancy/tenant-cache.ts';
import { TenantRepository } from '../../../../functions/core/tenancy/tenant-repository.ts';
import { PartitionScopeError, withTenantScope } from '../../../../functions/core/tenancy/tenant-scope.ts';
import { TenantRegistry } from '../../../../functions/core/tenancy/tenants.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;
let table: Table;
let registry: TenantRegistry;
let serial = 0;

/** GetItem requests of the table client (tenant records and host bindings) since the last reset. */
let gets = 0;

const clock = { now: Date.now() };
const now = () => clock.now;

/** This process: its caches listen to the changes the registry here makes. */
function here(options: { maxEntries?: number; maxBytes?: number } = {}) {
  return new TenantCache({ table, now, ...options });
}

/** Another process (another container of the function): nothing made here reaches its cache. */
function elsewhere() {
  return new TenantCache({ table, now, listens: false });
}

/** A fresh tenant (ids are unique per test) with one host. */
async function tenant(prefix: string): Promise<{ id: string; host: string }> {
  serial++;
  const id = `${prefix}-${serial}`;
  const host = `${id}.example.com`;
  await registry.create({ id, name: id, plan: 'standard', hosts: [host], expiresAt: '2099-01-01T00:00:00Z' });
  return { id, host };
}

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const client = DynamoDBDocumentClient.from(services.dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') gets++;
      return next(args);
    },
    { step: 'initialize', name: 'count-gets' },
  );
  table = { client, name: services.tableName };
  registry = new TenantRegistry({ table, now: () => new Date(clock.now) });
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

beforeEach(() => {
  clock.now = Date.now();
  gets = 0;
});

describe('a tenant record is read once per lifetime', () => {
  it('shown to its users: kept at 5 s − 1 ms, read again at 5 s', async () => {
    const { id } = await tenant('shown');
    const cache = here();
    gets = 0;
    expect((await cache.shown(id))?.summary.id).toBe(id);
    expect((await cache.shown(id))?.summary.id).toBe(id);
    expect(gets).toBe(1);
    clock.now += SHOWN_TENANT_MAX_AGE_MS - 1;
    await cache.shown(id);
    expect(gets).toBe(1);
    clock.now += 1;
    await cache.shown(id);
    expect(gets).toBe(2);
  });

  it('binding a request by host: kept at 30 s − 1 ms, read again at 30 s (binding and tenant)', async () => {
    const { id, host } = await tenant('bound');
    const hosts = new HostDirectory({ table, now });
    gets = 0;
    expect(await hosts.resolve(host)).toMatchObject({ kind: 'tenant', tenant: { id } });
    expect(gets).toBe(2);
    clock.now += BOUND_TENANT_MAX_AGE_MS - 1;
    await hosts.resolve(host);
    expect(gets).toBe(2);
    clock.now += 1;
    await hosts.resolve(host);
    expect(gets).toBe(4);
  });

  it('one read serves every reader: a fresh read for the answers shown refreshes the host path', async () => {
    const { id, host } = await tenant('shared');
    const hosts = new HostDirectory({ table, now });
    await hosts.resolve(host);
    clock.now += SHOWN_TENANT_MAX_AGE_MS;
    gets = 0;
    await hosts.tenants.shown(id);
    await hosts.resolve(host);
    await hosts.tenants.shown(id);
    expect(gets).toBe(1);
  });
});

describe('a suspended tenant', () => {
  it('is suspended at once in this process, on the host path and in what its users are shown', async () => {
    const { id, host } = await tenant('suspended-here');
    const hosts = new HostDirectory({ table, now });
    expect(
      (await hosts.resolve(host)).kind === 'tenant' && (await hosts.tenants.shown(id))?.summary.status,
    ).toBe('active');
    await registry.setStatus(id, 'suspended');
    expect(await hosts.resolve(host)).toMatchObject({ tenant: { status: 'suspended' } });
    expect((await hosts.tenants.shown(id))?.summary.status).toBe('suspended');
  });

  it('is shown suspended by another process within 5 s, never later', async () => {
    const { id } = await tenant('suspended-there');
    const other = elsewhere();
    expect((await other.shown(id))?.summary.status).toBe('active');
    await registry.setStatus(id, 'suspended');
    clock.now += SHOWN_TENANT_MAX_AGE_MS - 1;
    expect((await other.shown(id))?.summary.status).toBe('active');
    clock.now += 1;
    expect((await other.shown(id))?.summary.status).toBe('suspended');
  });

  it('is bound suspended by another process within 30 s on the host path, never later', async () => {
    const { id, host } = await tenant('suspended-bound');
    const other = new HostDirectory({ table, now, listens: false });
    await other.resolve(host);
    await registry.setStatus(id, 'suspended');
    clock.now += BOUND_TENANT_MAX_AGE_MS - 1;
    expect(await other.resolve(host)).toMatchObject({ tenant: { status: 'active' } });
    clock.now += 1;
    expect(await other.resolve(host)).toMatchObject({ tenant: { status: 'suspended' } });
  });

  it('archived: serves nothing at once here, and nothing past 30 s elsewhere', async () => {
    const { id, host } = await tenant('archived');
    const mine = new HostDirectory({ table, now });
    const other = new HostDirectory({ table, now, listens: false });
    await mine.resolve(host);
    await other.resolve(host);
    await registry.setStatus(id, 'archived');
    await expect(mine.resolve(host)).rejects.toBeInstanceOf(UnknownHostError);
    clock.now += BOUND_TENANT_MAX_AGE_MS;
    await expect(other.resolve(host)).rejects.toBeInstanceOf(UnknownHostError);
  });
});

describe('an expired tenant', () => {
  it('shows its new expiry at once here, and within 5 s elsewhere', async () => {
    const { id } = await tenant('expired');
    const mine = here();
    const other = elsewhere();
    await mine.shown(id);
    await other.shown(id);
    await registry.update(id, { expiresAt: '2020-01-01T00:00:00Z' });
    expect((await mine.shown(id))?.summary.expiresAt).toBe('2020-01-01T00:00:00.000Z');
    clock.now += SHOWN_TENANT_MAX_AGE_MS - 1;
    expect((await other.shown(id))?.summary.expiresAt).toBe('2099-01-01T00:00:00.000Z');
    clock.now += 1;
    expect((await other.shown(id))?.summary.expiresAt).toBe('2020-01-01T00:00:00.000Z');
  });

  it('a change made behind the registry (another container) is not announced: the lifetime bounds it', async () => {
    const { id } = await tenant('behind');
    const mine = here();
    await mine.shown(id);
    await new TenantRepository(table).update(
      id,
      { status: 'suspended' },
      { status: 'active' },
      new Date(clock.now).toISOString(),
    );
    clock.now += SHOWN_TENANT_MAX_AGE_MS - 1;
    expect((await mine.shown(id))?.summary.status).toBe('active');
    clock.now += 1;
    expect((await mine.shown(id))?.summary.status).toBe('suspended');
  });
});

describe('a host re-bound to another tenant', () => {
  it('binds to the new tenant at once here, and within 30 s elsewhere — never to a mix of both', async () => {
    const first = await tenant('rebind-a');
    const second = await tenant('rebind-b');
    const moving = `moving-${serial}.example.com`;
    await registry.addHost(first.id, moving);
    await registry.setBranding(first.id, { displayName: 'First' });
    await registry.update(first.id, { deliveryMode: 'dedicated' });
    const mine = new HostDirectory({ table, now });
    const other = new HostDirectory({ table, now, listens: false });
    for (const hosts of [mine, other]) {
      const domain = await hosts.resolve(moving);
      expect(domain).toMatchObject({ tenant: { id: first.id } });
      expect((await hosts.tenants.appearance(first.id)).branding?.displayName).toBe('First');
    }

    await registry.removeHost(first.id, moving);
    await registry.addHost(second.id, moving);
    const rebound = await mine.resolve(moving);
    expect(rebound).toMatchObject({ kind: 'tenant', host: moving, tenant: { id: second.id } });
    // What it shows is the new tenant's: the entry is the tenant's, found by the id the binding names.
    expect(await mine.tenants.appearance(second.id)).toEqual({ deliveryMode: 'shared' });

    clock.now += BOUND_TENANT_MAX_AGE_MS - 1;
    expect(await other.resolve(moving)).toMatchObject({ tenant: { id: first.id } });
    clock.now += 1;
    expect(await other.resolve(moving)).toMatchObject({ tenant: { id: second.id } });
  });
});

describe('a host binding', () => {
  it('unknown: remembered as unknown for 5 s at most elsewhere, and bound at once when added here', async () => {
    serial++;
    const late = `unbound-${serial}.example.com`;
    const mine = new HostDirectory({ table, now });
    const other = new HostDirectory({ table, now, listens: false });
    for (const hosts of [mine, other])
      await expect(hosts.resolve(late)).rejects.toBeInstanceOf(UnknownHostError);
    const { id } = await tenant('late');
    await registry.addHost(id, late);
    expect(await mine.resolve(late)).toMatchObject({ tenant: { id } });
    clock.now += 5_000 - 1;
    await expect(other.resolve(late)).rejects.toBeInstanceOf(UnknownHostError);
    clock.now += 1;
    expect(await other.resolve(late)).toMatchObject({ tenant: { id } });
  });

  it('forgotten by name, in any case, or all at once: read again, its tenant not', async () => {
    const a = await tenant('forget-a');
    const b = await tenant('forget-b');
    const hosts = new HostDirectory({ table, now, listens: false });
    await hosts.resolve(a.host);
    await hosts.resolve(b.host);
    gets = 0;
    hosts.invalidate(` ${a.host.toUpperCase()} `);
    await hosts.resolve(a.host);
    await hosts.resolve(b.host);
    expect(gets).toBe(1);
    hosts.invalidate();
    await hosts.resolve(a.host);
    await hosts.resolve(b.host);
    expect(gets).toBe(3);
  });

  it('a binding read begun before the host is forgotten is answered but not kept', async () => {
    const { id, host } = await tenant('host-race');
    const hosts = new HostDirectory({ table, now, listens: false });
    await hosts.tenants.get(id);
    gets = 0;
    const racing = hosts.resolve(host);
    hosts.invalidate(host);
    expect(await racing).toMatchObject({ tenant: { id } });
    expect(gets).toBe(1);
    await hosts.resolve(host);
    expect(gets).toBe(2);
  });
});

describe('two tenants side by side', () => {
  it("each host is answered from its own tenant's entry; a change of one forgets only that one", async () => {
    const a = await tenant('side-a');
    const b = await tenant('side-b');
    for (const [id, name] of [
      [a.id, 'Alpha'],
      [b.id, 'Beta'],
    ] as const) {
      await registry.setBranding(id, { displayName: name });
      await registry.update(id, { deliveryMode: 'dedicated' });
    }
    const hosts = new HostDirectory({ table, now });
    const shownOn = async (host: string) => {
      const domain = await hosts.resolve(host);
      if (domain.kind !== 'tenant') throw new Error('a tenant host');
      return (await hosts.tenants.appearance(domain.tenant.id)).branding?.displayName;
    };
    expect([await shownOn(a.host), await shownOn(b.host)]).toEqual(['Alpha', 'Beta']);
    await registry.setBranding(a.id, { displayName: 'Alpha 2' });
    gets = 0;
    expect([await shownOn(a.host), await shownOn(b.host)]).toEqual(['Alpha 2', 'Beta']);
    expect(gets).toBe(1);
  });

  it("a request in one tenant's scope cannot be answered with another tenant's entry, even a cached one", async () => {
    const a = await tenant('scope-a');
    const b = await tenant('scope-b');
    const cache = here();
    await cache.shown(b.id);
    await withTenantScope(a.id, async () => {
      expect((await cache.shown(a.id))?.summary.id).toBe(a.id);
      await expect(cache.shown(b.id)).rejects.toBeInstanceOf(PartitionScopeError);
      await expect(cache.appearance(b.id)).rejects.toBeInstanceOf(PartitionScopeError);
      await expect(cache.get(b.id)).rejects.toBeInstanceOf(PartitionScopeError);
    });
  });
});

describe('what is kept', () => {
  it('a read begun before a change is answered but not kept', async () => {
    const { id } = await tenant('race');
    const cache = here();
    const racing = cache.shown(id);
    await registry.setStatus(id, 'suspended');
    expect(['active', 'suspended']).toContain((await racing)?.summary.status);
    expect((await cache.shown(id))?.summary.status).toBe('suspended');
  });

  it('a missing tenant is remembered as missing for 5 s at most, and forgotten at once when created here', async () => {
    serial++;
    const id = `later-${serial}`;
    const mine = here();
    const other = elsewhere();
    expect(await mine.shown(id)).toBeNull();
    expect(await other.shown(id)).toBeNull();
    await registry.create({
      id,
      name: id,
      plan: 'standard',
      hosts: [`${id}.example.com`],
      expiresAt: '2099-01-01T00:00:00Z',
    });
    expect((await mine.shown(id))?.summary.id).toBe(id);
    clock.now += DEFAULT_TENANT_MISS_TTL_MS - 1;
    expect(await other.get(id, BOUND_TENANT_MAX_AGE_MS)).toBeNull();
    clock.now += 1;
    expect((await other.get(id, BOUND_TENANT_MAX_AGE_MS))?.summary.id).toBe(id);
  });

  it('never more entries, nor more bytes, than its bounds', async () => {
    const ids = [await tenant('bound-1'), await tenant('bound-2'), await tenant('bound-3')].map((t) => t.id);
    const few = here({ maxEntries: 2 });
    for (const id of ids) await few.shown(id);
    expect(few.size).toBe(2);

    const logo = `data:image/png;base64,${'A'.repeat(40_000)}`;
    await registry.setBranding(ids[0] as string, { logo });
    const small = here({ maxBytes: 50_000 });
    expect((await small.shown(ids[0] as string))?.branding?.logo).toBe(logo);
    expect(small.size).toBe(0);
    await small.shown(ids[1] as string);
    expect(small.size).toBe(1);
  });
});
