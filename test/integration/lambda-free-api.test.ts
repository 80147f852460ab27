/**
 * The free entry as Lambda runs it: the function's asset as the stack builds it (code split), each
 * invocation in a fresh Node process (one request per instance), against the local platform's table.
 * Its function carries the catalog core and sign-up alone, built by the first request for the free
 * entry's routes (chunks loaded then), and validates with zod/mini (docs/decisions/lambda-bundles.md):
 * these are what a cold instance of it does.
 *
 * - A sign-up creates the space, its owner and the templates it asked for, installed as the space's
 *   Skills, through the catalog core with the Python script's executor only.
 * - A malformed sign-up is refused with zod's English messages (zod/mini sets no locale of its own:
 *   without functions/core/zod-mini.ts each would read "Invalid input"), and leaves nothing behind.
 * - Its OpenAPI document, rendered by a chunk loaded on the first request for it, is the one the
 *   local platform's free entry (the same handler, not bundled) serves.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../functions/core/errors.ts';
import { tenantDomain } from '../../functions/core/governance/acting.ts';
import { functions } from '../../lib/topology.ts';
import { buildAsset } from '../support/lambda-assets.ts';
import { forwardedEvent, lambdaEnvironment } from '../support/lambda-environment.ts';
import { FreshInstances, type InstanceAnswer } from '../support/lambda-instances.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { tempDir } from '../support/scratch.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const scratch = tempDir('execfabric-lambda-free-');
const t = await startTestPlatform('lambda-free-password');
const PASSPHRASE = 'a long personal passphrase';
let env: NodeJS.ProcessEnv;
let instances: FreshInstances;

beforeAll(async () => {
  await buildAsset(ROOT, functions['free-api'].entry, join(scratch.path, 'free-api'));
  env = lambdaEnvironment({ ...t.platform.env, NODE_PATH: join(ROOT, 'node_modules') });
  instances = new FreshInstances(join(scratch.path, 'free-api', 'index.mjs'), env, scratch.path, 'free-api');
}, 60_000);

afterAll(async () => {
  instances.killAll();
  await t.stop();
  scratch.remove();
});

/** A request to the free entry, as the edge forwards it, from its own viewer address. */
function freeRequest(
  method: string,
  path: string,
  sourceIp: string,
  body?: unknown,
): Promise<InstanceAnswer> {
  const event = forwardedEvent(env, { method, surface: 'free', host: HOSTS.free, path, body, sourceIp });
  return instances.invoke(event).answer;
}

function json(answer: InstanceAnswer) {
  return JSON.parse(answer.body ?? 'null');
}

describe('the free entry on Lambda', () => {
  it('signs a person up: their space, its owner and the templates they chose, installed as Skills', async () => {
    const offers = await freeRequest('GET', '/api/free/offers', '198.51.100.10');
    expect(offers.statusCode, offers.body).toBe(200);
    const wordCount = json(offers).items.find((item: { name: string }) => item.name === 'Word count');
    expect(wordCount).toBeDefined();

    const signed = await freeRequest('POST', '/api/free/signups', '198.51.100.11', {
      handle: 'lambda-1',
      email: 'lambda@example.com',
      password: PASSPHRASE,
      // At its limit once trimmed (80): the limit counts the name without its spaces.
      name: `  ${'L'.repeat(80)}  `,
      templates: [wordCount.templateId],
    });
    expect(signed.statusCode, signed.body).toBe(201);
    const body = json(signed);
    expect(body).toMatchObject({ handle: 'lambda-1', tenantId: 'p-lambda-1', plan: 'free' });
    // The handoff into the space is bound to this browser by a cookie on the free domain.
    expect(signed.cookies?.some((cookie) => cookie.includes('Path=/api/auth/handoff'))).toBe(true);

    const space = tenantDomain(await t.core.tenants.get(body.tenantId));
    expect(space.tenant.name).toBe('L'.repeat(80));
    expect(body.templates).toHaveLength(1);
    const skill = await t.core.skills.get(space, body.templates[0].skillId);
    expect(skill).toMatchObject({ name: 'Word count', asset: { kind: 'python-script' } });
    // The owner signs in on the space's own host with the passphrase they chose.
    await expect(t.login(space.host, body.username, PASSPHRASE)).resolves.toEqual(expect.any(String));
  });

  it('refuses a malformed sign-up with zod’s English messages, and leaves nothing behind', async () => {
    const refused = await freeRequest('POST', '/api/free/signups', '198.51.100.12', {
      handle: 'lambda-2',
      email: 'not-an-email',
      password: PASSPHRASE,
      templates: 'all of them',
    });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json(refused).errors).toEqual(
      expect.arrayContaining([
        { path: 'email', message: 'Invalid email address' },
        { path: 'templates', message: 'Invalid input: expected array, received string' },
      ]),
    );
    await expect(t.core.tenants.get('p-lambda-2')).rejects.toBeInstanceOf(NotFoundError);
    // Nor a lead: the person's address is not kept.
    expect((await t.core.free.leads.list({}, 100)).items.map((lead) => lead.handle)).not.toContain(
      'lambda-2',
    );
  });

  it('serves the OpenAPI document the local platform serves, from the chunk its first request loads', async () => {
    const bundled = await freeRequest('GET', '/api/openapi.json', '198.51.100.13');
    expect(bundled.statusCode, bundled.body).toBe(200);
    const local = await t.send({ host: HOSTS.free, path: '/api/openapi.json' });
    expect(local.status).toBe(200);
    expect(json(bundled)).toEqual(local.body);
    expect(Object.keys(json(bundled).components.schemas)).toEqual(
      expect.arrayContaining(['Signup', 'Problem', 'Health', 'OpenApiDocument']),
    );
  });
});
