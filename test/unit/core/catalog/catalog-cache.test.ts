/**
 * The per-process catalogue cache (catalog/catalog-cache.ts, docs/decisions/session-cache.md "Skill
 * catalogues"), attacked, against a real local store (dynalite) through the real SDK client, on a
 * fake clock. A cache that `listens` is this process: every write the Skill repository makes here
 * forgets the tenant's catalogue at once. One that does not stands in for another Lambda container,
 * which sees a change only when its entry ends — kept at its lifetime − 1 ms, read again at its
 * lifetime, never later. Two tenants side by side with the same Skill names, a scoped request asking
 * for another tenant, a read racing a write, a caller asking for a fresh read, and the bounds.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CATALOG_MAX_AGE_MS,
  CatalogCache,
  type CatalogCacheOptions,
} from '../../../../functions/core/catalog/catalog-cache.ts';
import { SkillConflictError, SkillRepository } from '../../../../functions/core/catalog/skill-repository.ts';
import type { Skill } from '../../../../functions/core/catalog/skills.ts';
import type { Table } from '../../../../functions/core/db.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { PartitionScopeError, withTenantScope } from '../../../../functions/core/tenancy/tenant-scope.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

let services: LocalServices;
let table: Table;
let store: SkillRepository;
let serial = 0;

/** Query requests of the table client (catalogue reads) since the last reset. */
let queries = 0;

const clock = { now: Date.now() };
const now = () => clock.now;

function domainOf(tenantId: string): TenantContext {
  return {
    kind: 'tenant',
    host: `${tenantId}.example.com`,
    tenant: { id: tenantId, name: tenantId, status: 'active', plan: 'standard', expiresAt: '2099-01-01' },
  };
}

/** A fresh tenant (ids are unique per test): nothing of it is in any store or cache yet. */
function tenant(prefix: string): TenantContext {
  serial++;
  return domainOf(`${prefix}-${serial}`);
}

function skill(name: string, fields: Partial<Skill> = {}): Skill {
  serial++;
  const at = new Date(clock.now).toISOString();
  return {
    id: `skl-${String(serial).padStart(12, '0')}`,
    revision: 1,
    state: 'active',
    name,
    description: '',
    inputSchema: { type: 'object' },
    outputSchema: true,
    risk: 'low',
    approval: 'none',
    visibility: { roles: [] },
    tags: [],
    asset: { kind: 'python-script', id: 'scr-000000000001', version: 'active' },
    limits: { timeoutSeconds: 30, memoryMb: 128 },
    definitionHash: 'hash',
    createdAt: at,
    updatedAt: at,
    createdBy: 'alice',
    updatedBy: 'alice',
    ...fields,
  };
}

function readAll(domain: TenantContext): Promise<Skill[]> {
  return (async () => {
    const skills: Skill[] = [];
    for await (const found of store.all(domain)) skills.push(found);
    return skills;
  })();
}

type Overrides = Partial<Omit<CatalogCacheOptions, 'table'>>;

/** This process: its caches listen to the writes the repository here makes. */
function here(options: Overrides = {}) {
  return new CatalogCache({ table, read: readAll, now, ...options });
}

/** Another process (another container of the tenant API): nothing written here reaches its cache. */
function elsewhere() {
  return new CatalogCache({ table, read: readAll, now, listens: false });
}

/** A promise opened from outside. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const names = (skills: readonly Skill[]) => skills.map((found) => found.name);

beforeAll(async () => {
  services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const client = DynamoDBDocumentClient.from(services.dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') queries++;
      return next(args);
    },
    { step: 'initialize', name: 'count-queries' },
  );
  table = { client, name: services.tableName };
  store = new SkillRepository(table);
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

beforeEach(() => {
  clock.now = Date.now();
  queries = 0;
});

describe('a catalogue is read once per lifetime', () => {
  it('kept at 5 s − 1 ms, read again at 5 s', async () => {
    const domain = tenant('lifetime');
    await store.create(domain, skill('Alpha'));
    const cache = here();
    queries = 0;
    expect(names(await cache.skills(domain))).toEqual(['Alpha']);
    expect(names(await cache.skills(domain))).toEqual(['Alpha']);
    expect(queries).toBe(1);
    clock.now += CATALOG_MAX_AGE_MS - 1;
    await cache.skills(domain);
    expect(queries).toBe(1);
    clock.now += 1;
    await cache.skills(domain);
    expect(queries).toBe(2);
  });

  it('an entry is trusted from the moment its read began, not from when it came back', async () => {
    const domain = tenant('slow');
    await store.create(domain, skill('Slow'));
    const cache = here({
      read: async (read) => {
        const skills = await readAll(read);
        clock.now += CATALOG_MAX_AGE_MS - 1;
        return skills;
      },
    });
    await cache.skills(domain);
    queries = 0;
    await cache.skills(domain);
    expect(queries).toBe(0);
    clock.now += 1;
    await cache.skills(domain);
    expect(queries).toBe(1);
  });

  it('a read slower than the lifetime serves its caller and is not kept', async () => {
    const domain = tenant('slower');
    await store.create(domain, skill('Slower'));
    const cache = here({
      read: async (read) => {
        const skills = await readAll(read);
        clock.now += CATALOG_MAX_AGE_MS;
        return skills;
      },
    });
    expect(names(await cache.skills(domain))).toEqual(['Slower']);
    expect(cache.size).toBe(0);
  });

  it('a caller asking for a fresh read (no-cache) reads now, and its read serves the others', async () => {
    const domain = tenant('fresh');
    await store.create(domain, skill('Fresh'));
    const other = elsewhere();
    await other.skills(domain);
    const changed = skill('Fresh 2');
    await store.create(domain, changed);
    queries = 0;
    expect(names(await other.skills(domain))).toEqual(['Fresh']);
    expect(names(await other.skills(domain, 0))).toEqual(['Fresh', 'Fresh 2']);
    expect(queries).toBe(1);
    // A younger maximum age than the entry's is a read too; an older one is capped at the lifetime.
    clock.now += 1_000;
    expect(names(await other.skills(domain, 60_000))).toEqual(['Fresh', 'Fresh 2']);
    expect(queries).toBe(1);
    await other.skills(domain, 999);
    expect(queries).toBe(2);
    clock.now += CATALOG_MAX_AGE_MS;
    await other.skills(domain, 60_000);
    expect(queries).toBe(3);
  });
});

describe('every Skill write of this process forgets the tenant at once', () => {
  it('create, replace, state change and revision: each is listed on the very next read', async () => {
    const domain = tenant('writes');
    const cache = here();
    expect(await cache.skills(domain)).toEqual([]);

    const first = skill('Beta');
    await store.putRevision(domain, first);
    queries = 0;
    await cache.skills(domain);
    expect(queries).toBe(1);

    await store.create(domain, first);
    expect(names(await cache.skills(domain))).toEqual(['Beta']);

    await store.replace(domain, { ...first, name: 'Alpha', revision: 2 }, 1);
    expect((await cache.skills(domain)).map((found) => [found.name, found.revision])).toEqual([['Alpha', 2]]);

    const change = { at: new Date(clock.now).toISOString(), by: 'alice', reason: '' };
    await store.setState(domain, first.id, 'active', 'disabled', change);
    expect((await cache.skills(domain)).map((found) => found.state)).toEqual(['disabled']);
    await store.setState(domain, first.id, 'disabled', 'archived', change);
    expect((await cache.skills(domain)).map((found) => found.state)).toEqual(['archived']);
  });

  it('a write refused by its condition forgets too (an outcome the writer cannot always know)', async () => {
    const domain = tenant('refused');
    const existing = skill('Gamma');
    await store.create(domain, existing);
    const cache = here();
    await cache.skills(domain);
    await expect(store.create(domain, existing)).rejects.toBeInstanceOf(SkillConflictError);
    queries = 0;
    await cache.skills(domain);
    expect(queries).toBe(1);
  });

  it('a write made in another process is not announced here: the lifetime bounds it, never later', async () => {
    const domain = tenant('there');
    const target = skill('Delta');
    await store.create(domain, target);
    const other = elsewhere();
    await other.skills(domain);
    await store.setState(domain, target.id, 'active', 'disabled', {
      at: new Date(clock.now).toISOString(),
      by: 'alice',
      reason: '',
    });
    clock.now += CATALOG_MAX_AGE_MS - 1;
    expect((await other.skills(domain)).map((found) => found.state)).toEqual(['active']);
    clock.now += 1;
    expect((await other.skills(domain)).map((found) => found.state)).toEqual(['disabled']);
  });
});

describe('two tenants side by side', () => {
  it('with the same Skill names, each is answered from its own entry; a write forgets only its own', async () => {
    const a = tenant('side-a');
    const b = tenant('side-b');
    const inA = skill('Shared name', { description: 'of a' });
    const inB = skill('Shared name', { description: 'of b' });
    await store.create(a, inA);
    await store.create(b, inB);
    const cache = here();
    for (let i = 0; i < 2; i++) {
      expect((await cache.skills(a)).map((found) => [found.id, found.description])).toEqual([
        [inA.id, 'of a'],
      ]);
      expect((await cache.skills(b)).map((found) => [found.id, found.description])).toEqual([
        [inB.id, 'of b'],
      ]);
    }
    await store.create(a, skill('Only in a'));
    queries = 0;
    expect(names(await cache.skills(a))).toEqual(['Only in a', 'Shared name']);
    expect(names(await cache.skills(b))).toEqual(['Shared name']);
    expect(queries).toBe(1);
  });

  it("a request in one tenant's scope cannot be answered with another tenant's entry, even a cached one", async () => {
    const a = tenant('scope-a');
    const b = tenant('scope-b');
    await store.create(b, skill('Secret of b'));
    const cache = here();
    expect(names(await cache.skills(b))).toEqual(['Secret of b']);
    await withTenantScope(a.tenant.id, async () => {
      expect(await cache.skills(a)).toEqual([]);
      await expect(cache.skills(b)).rejects.toBeInstanceOf(PartitionScopeError);
      await expect(cache.skills(b, 0)).rejects.toBeInstanceOf(PartitionScopeError);
    });
  });
});

describe('what is kept', () => {
  it('a read begun before a write is answered but not kept', async () => {
    const domain = tenant('race');
    const target = skill('Epsilon');
    await store.create(domain, target);
    // The read has its answer from the store, then waits while the write lands and is announced.
    const held = gate();
    const answered = gate();
    const cache = here({
      read: async (read) => {
        const skills = await readAll(read);
        answered.open();
        await held.opened;
        return skills;
      },
    });
    const racing = cache.skills(domain);
    await answered.opened;
    await store.setState(domain, target.id, 'active', 'disabled', {
      at: new Date(clock.now).toISOString(),
      by: 'alice',
      reason: '',
    });
    held.open();
    expect((await racing).map((found) => found.state)).toEqual(['active']);
    expect(cache.size).toBe(0);
    expect((await cache.skills(domain)).map((found) => found.state)).toEqual(['disabled']);
  });

  it('what it hands out cannot be changed by a caller (every request of the process shares it)', async () => {
    const domain = tenant('frozen');
    await store.create(domain, skill('Zeta', { visibility: { roles: ['admin'] } }));
    const cache = here();
    const [listed] = await cache.skills(domain);
    if (listed === undefined) throw new Error('one Skill');
    expect(() => {
      (listed.visibility.roles as string[]).length = 0;
    }).toThrow(TypeError);
    expect(() => {
      (listed as { state: string }).state = 'active';
    }).toThrow(TypeError);
    expect((await cache.skills(domain))[0]?.visibility.roles).toEqual(['admin']);
  });

  it('never more tenants than its bound, least recently used out first', async () => {
    const [a, b, c] = [tenant('few-a'), tenant('few-b'), tenant('few-c')];
    const cache = here({ maxEntries: 2 });
    await cache.skills(a);
    await cache.skills(b);
    await cache.skills(a);
    await cache.skills(c);
    expect(cache.size).toBe(2);
    queries = 0;
    await cache.skills(a);
    await cache.skills(c);
    expect(queries).toBe(0);
    await cache.skills(b);
    expect(queries).toBe(1);
  });

  it('a catalogue of exactly its byte bound is kept; one byte over, it is read every time', async () => {
    const domain = tenant('bytes');
    await store.create(domain, skill('Eta', { description: 'x'.repeat(10_000) }));
    const bytes = JSON.stringify(await readAll(domain)).length * 2;
    const fits = here({ maxBytes: bytes });
    await fits.skills(domain);
    expect(fits.size).toBe(1);
    const over = here({ maxBytes: bytes - 1 });
    queries = 0;
    expect(names(await over.skills(domain))).toEqual(['Eta']);
    expect(names(await over.skills(domain))).toEqual(['Eta']);
    expect(over.size).toBe(0);
    expect(queries).toBe(2);
  });
});
