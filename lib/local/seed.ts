/**
 * Demo data of a first local start (DESIGN §8), written through the core's own services so the
 * demo is exactly what a user could have created: the public hosts, tenants `acme` and `globex`
 * with their hosts. Each step is idempotent, and a marker item records that seeding finished, so
 * an interrupted first start completes on the next one.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ScriptChecker } from '../../functions/core/assets/checker.ts';
import { SYSTEM_ACTOR } from '../../functions/core/audit/chain.ts';
import type { Table } from '../../functions/core/db.ts';
import { ConflictError, unlessNotFound } from '../../functions/core/errors.ts';
import { seedKey } from '../../functions/core/keys.ts';
import { createCore } from '../../functions/core/platform.ts';
import type { DomainContext, PublicContext } from '../../functions/core/tenancy/domain.ts';

export const SEED_VERSION = 'demo-v1';
/**
 * The demo users added since `demo-v1` (claire, acme's second admin): a data folder seeded before
 * gets them on its next start.
 */
export const DEMO_USERS_VERSION = 'demo-users-v2';
/** The free edition's starter templates: seeded once, also into a data folder seeded before them. */
export const FREE_SEED_VERSION = 'free-v1';

export interface SeedOptions {
  readonly table: Table;
  readonly adminHosts: readonly string[];
  readonly freeHosts: readonly string[];
  /** Password of every demo user. */
  readonly demoPassword: string;
  readonly tokenSecret: string;
  /** The Python runtime's syntax check (the demo script is uploaded like any other). */
  readonly checker: ScriptChecker;
  readonly now?: () => Date;
}

export interface SeedResult {
  /** False when the data folder had been seeded already. */
  readonly seeded: boolean;
}

export const DEMO_TENANTS = [
  {
    id: 'acme',
    name: 'Acme Corporation',
    hosts: ['acme.localhost'],
    // Three approvers: whoever of them asks, two others may approve a high-risk (or critical) run.
    users: [
      { username: 'alice', roles: ['admin'] },
      { username: 'bob', roles: ['operator'] },
      { username: 'claire', roles: ['admin'] },
    ],
  },
  {
    id: 'globex',
    name: 'Globex',
    hosts: ['globex.localhost'],
    users: [{ username: 'gina', roles: ['admin'] }],
  },
] as const;

/** The demo Skill of tenant acme, backed by a Python script. */
export const DEMO_SCRIPT = `"""Greets someone: the demo Skill of a fresh ExecFabric."""


def main(inputs, ctx):
    name = inputs["name"]
    print(f"greeting {name}")
    return {"greeting": f"Hello, {name}!"}
`;

export const DEMO_SKILL = {
  name: 'Greet',
  description: 'Says hello. A Python script asset behind a low-risk Skill.',
  inputSchema: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
    required: ['name'],
    additionalProperties: false,
  },
  outputSchema: {
    type: 'object',
    properties: { greeting: { type: 'string' } },
    required: ['greeting'],
    additionalProperties: false,
  },
  risk: 'low',
} as const;

/**
 * Platform templates offered to every new personal space of the free edition, so that a first run
 * works a minute after signing up.
 */
export const FREE_STARTER_TEMPLATES = [
  {
    skill: {
      name: 'Word count',
      description: 'Counts the words and characters of a text.',
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string', title: 'Text', minLength: 1, maxLength: 10000 } },
        required: ['text'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: { words: { type: 'integer' }, characters: { type: 'integer' } },
        required: ['words', 'characters'],
        additionalProperties: false,
      },
      risk: 'low',
      approval: 'none',
      limits: { timeoutSeconds: 10 },
    },
    source: `"""Counts the words of a text: a starter Skill of the personal edition."""


def main(inputs, ctx):
    text = inputs["text"]
    words = len(text.split())
    print(f"counted {words} words")
    return {"words": words, "characters": len(text)}
`,
    note: 'starter template of the personal edition',
  },
  {
    skill: {
      name: 'Greeting',
      description: 'Says hello to someone, in the language you choose.',
      inputSchema: {
        type: 'object',
        properties: {
          name: { type: 'string', title: 'Name', minLength: 1, maxLength: 100 },
          language: { type: 'string', title: 'Language', enum: ['en', 'fr', 'de', 'es'], default: 'en' },
        },
        required: ['name'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: { greeting: { type: 'string' } },
        required: ['greeting'],
        additionalProperties: false,
      },
      risk: 'low',
      approval: 'none',
      limits: { timeoutSeconds: 10 },
    },
    source: `"""Greets someone: a starter Skill of the personal edition."""

HELLO = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}


def main(inputs, ctx):
    word = HELLO.get(inputs.get("language", "en"), "Hello")
    return {"greeting": f"{word}, {inputs['name']}!"}
`,
    note: 'starter template of the personal edition',
  },
] as const;

/** The public super-admin, recognised by the explicit marker. */
export const DEMO_SUPER_ADMIN = 'admin';

/** Sees the whole catalogue, to find out whether the demo Skill exists. */
const SEED_CALLER = {
  username: 'system',
  roles: [],
  permissions: new Set(['skill:manage']),
  superAdmin: false,
  via: 'session',
  credentialId: 'seed',
} as const;

async function ignoreConflict(step: Promise<unknown>): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

export async function seedDemo(options: SeedOptions): Promise<SeedResult> {
  const { table } = options;
  const marker = await table.client.send(
    new GetCommand({ TableName: table.name, Key: seedKey(SEED_VERSION), ConsistentRead: true }),
  );
  if (marker.Item !== undefined) {
    await seedDemoUsers(options);
    await seedFreeStarters(options);
    return { seeded: false };
  }
  const now = options.now ?? (() => new Date());
  const core = createCore({ table, tokenSecret: options.tokenSecret, checker: options.checker, now });
  const { tenants, directory } = core;
  const password = options.demoPassword;

  for (const host of options.adminHosts) await tenants.bindPublicHost(host, 'governance');
  for (const host of options.freeHosts) await tenants.bindPublicHost(host, 'free');
  const expiresAt = new Date(now().getTime() + 365 * 24 * 3600 * 1000).toISOString();
  const publicDomain: DomainContext = {
    kind: 'public',
    host: options.adminHosts[0] ?? 'admin.localhost',
    surface: 'governance',
  };
  await ignoreConflict(
    directory.createUser(publicDomain, { username: DEMO_SUPER_ADMIN, password, roles: [], superAdmin: true }),
  );
  for (const tenant of DEMO_TENANTS) {
    await ignoreConflict(
      tenants.create({
        id: tenant.id,
        name: tenant.name,
        hosts: [...tenant.hosts],
        plan: 'standard',
        expiresAt,
        status: 'active',
      }),
    );
    const created = await tenants.get(tenant.id);
    const domain: DomainContext = { kind: 'tenant', host: tenant.hosts[0], tenant: created };
    for (const user of tenant.users) {
      await ignoreConflict(
        directory.createUser(domain, { username: user.username, password, roles: [...user.roles] }),
      );
    }
    if (tenant.id === 'acme' && (await core.skills.listVisible(domain, SEED_CALLER)).length === 0) {
      const actor = { username: 'alice', via: 'session' } as const;
      const script = await core.scripts.create(
        domain,
        { name: 'greet.py', source: DEMO_SCRIPT, note: 'demo' },
        actor,
      );
      await core.skills.create(
        domain,
        { ...DEMO_SKILL, asset: { kind: 'python-script', id: script.id, version: 'active' } },
        actor,
      );
    }
  }

  await seedFreeStarters(options);
  for (const version of [DEMO_USERS_VERSION, SEED_VERSION]) {
    await table.client.send(
      new PutCommand({ TableName: table.name, Item: { ...seedKey(version), seededAt: now().toISOString() } }),
    );
  }
  return { seeded: true };
}

/** The demo users a folder seeded with `demo-v1` lacks, in the demo tenants it still has (once). */
async function seedDemoUsers(options: SeedOptions): Promise<void> {
  const { table } = options;
  const marker = await table.client.send(
    new GetCommand({ TableName: table.name, Key: seedKey(DEMO_USERS_VERSION), ConsistentRead: true }),
  );
  if (marker.Item !== undefined) return;
  const now = options.now ?? (() => new Date());
  const core = createCore({ table, tokenSecret: options.tokenSecret, checker: options.checker, now });
  for (const tenant of DEMO_TENANTS) {
    const found = await unlessNotFound(core.tenants.get(tenant.id));
    if (found === null) continue;
    const domain: DomainContext = { kind: 'tenant', host: tenant.hosts[0], tenant: found };
    for (const user of tenant.users) {
      await ignoreConflict(
        core.directory.createUser(domain, {
          username: user.username,
          password: options.demoPassword,
          roles: [...user.roles],
        }),
      );
    }
  }
  await table.client.send(
    new PutCommand({
      TableName: table.name,
      Item: { ...seedKey(DEMO_USERS_VERSION), seededAt: now().toISOString() },
    }),
  );
}

/** The starter templates, authored in the public domain and offered to new personal spaces (once). */
async function seedFreeStarters(options: SeedOptions): Promise<void> {
  const { table } = options;
  const marker = await table.client.send(
    new GetCommand({ TableName: table.name, Key: seedKey(FREE_SEED_VERSION), ConsistentRead: true }),
  );
  if (marker.Item !== undefined) return;
  const now = options.now ?? (() => new Date());
  const core = createCore({ table, tokenSecret: options.tokenSecret, checker: options.checker, now });
  const publicDomain: PublicContext = {
    kind: 'public',
    host: options.adminHosts[0] ?? 'admin.localhost',
    surface: 'governance',
  };
  const existing = new Set((await core.templates.list(publicDomain)).map((template) => template.name));
  for (const starter of FREE_STARTER_TEMPLATES) {
    if (existing.has(starter.skill.name)) continue;
    const template = await core.templates.create(
      publicDomain,
      {
        skill: {
          ...starter.skill,
          inputSchema: structuredClone(starter.skill.inputSchema) as Record<string, unknown>,
          outputSchema: structuredClone(starter.skill.outputSchema) as Record<string, unknown>,
        },
        source: starter.source,
        note: starter.note,
      },
      // The platform's own templates: audited as the system's, like the offer below, not as a session.
      SYSTEM_ACTOR,
    );
    await core.free.offers.offer(template.id, { actor: SYSTEM_ACTOR });
  }
  await table.client.send(
    new PutCommand({
      TableName: table.name,
      Item: { ...seedKey(FREE_SEED_VERSION), seededAt: now().toISOString() },
    }),
  );
}
