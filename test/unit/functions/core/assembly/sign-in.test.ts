/**
 * An API's core in layers (core/assembly/sign-in.ts): the sign-in core at a cold start, the signed-in
 * core and then the whole core each built once, on first use, on the layer before.
 */
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../../../../functions/clients/dynamodb.ts';
import { builtCore, createSignInCore, lazyCore } from '../../../../../functions/core/assembly/sign-in.ts';
import { createSignedInCore } from '../../../../../functions/core/assembly/signed-in.ts';
import { createTenantCore } from '../../../../../functions/core/assembly/tenant.ts';
import { ENV } from '../../../../../functions/core/env.ts';
import { currentTenantScope, withTenantScope } from '../../../../../functions/core/tenancy/tenant-scope.ts';

// Building a core touches no database: an endpoint nothing listens on is enough.
const table = { client: documentClient({ [ENV.dynamodbEndpoint]: 'http://127.0.0.1:1' }), name: 'sign-in' };
const options = { table, tokenSecret: 'a'.repeat(32) };

describe('the sign-in core and the whole core built on it', () => {
  /** A lazy tenant core on `signIn` that counts the builds of each layer. */
  function counted(
    signIn = createSignInCore(options),
    failFirst: 'signedIn' | 'whole' | undefined = undefined,
  ) {
    const builds = { signedIn: 0, whole: 0 };
    const core = lazyCore(signIn, {
      signedIn: async (built) => {
        builds.signedIn++;
        if (failFirst === 'signedIn' && builds.signedIn === 1) throw new Error('the chunk did not load');
        return createSignedInCore(options, built);
      },
      whole: async (signedIn) => {
        builds.whole++;
        if (failFirst === 'whole' && builds.whole === 1) throw new Error('the chunk did not load');
        return createTenantCore(options, signedIn);
      },
    });
    return { core, builds };
  }

  it('builds each layer once, on first use, for every caller at once', async () => {
    const { core, builds } = counted();
    expect(builds).toEqual({ signedIn: 0, whole: 0 });
    const [a, b] = await Promise.all([core.signedIn(), core.signedIn()]);
    expect(a).toBe(b);
    // The signed-in core alone: no schedules or MCP yet.
    expect(builds).toEqual({ signedIn: 1, whole: 0 });
    const [c, d] = await Promise.all([core.whole(), core.whole()]);
    expect(c).toBe(d);
    expect(await core.whole()).toBe(c);
    // The whole core is built on the signed-in core already built.
    expect(c.executions).toBe(a.executions);
    expect(builds).toEqual({ signedIn: 1, whole: 1 });
  });

  it('builds the signed-in core under the whole core when the whole core is asked first', async () => {
    const { core, builds } = counted();
    const whole = await core.whole();
    expect(await core.signedIn()).toMatchObject({ executions: whole.executions, skills: whole.skills });
    expect(builds).toEqual({ signedIn: 1, whole: 1 });
  });

  it('shares the sign-in core’s services with the whole core: one audit, directory, hosts and sessions', async () => {
    const signIn = createSignInCore(options);
    const whole = await counted(signIn).core.whole();
    expect(whole.audit).toBe(signIn.audit);
    expect(whole.directory).toBe(signIn.directory);
    expect(whole.hosts).toBe(signIn.hosts);
    expect(whole.auth).toBe(signIn.auth);
    expect(whole.securityEvents).toBe(signIn.securityEvents);
  });

  it.each(['signedIn', 'whole'] as const)(
    'tries a failed build of the %s layer again on the next use',
    async (layer) => {
      const signIn = createSignInCore(options);
      const { core, builds } = counted(signIn, layer);
      await expect(core.whole()).rejects.toThrow('the chunk did not load');
      const whole = await core.whole();
      expect(whole.auth).toBe(signIn.auth);
      // Only the layer that failed is built again.
      expect(builds).toEqual(layer === 'signedIn' ? { signedIn: 2, whole: 1 } : { signedIn: 1, whole: 2 });
    },
  );

  it('builds each layer outside the tenant scope of the request that first needs it', async () => {
    const scopes: (string | undefined)[] = [];
    const core = lazyCore(createSignInCore(options), {
      signedIn: async (built) => {
        scopes.push(currentTenantScope());
        return createSignedInCore(options, built);
      },
      whole: async (signedIn) => {
        await Promise.resolve();
        scopes.push(currentTenantScope());
        return createTenantCore(options, signedIn);
      },
    });
    const whole = await withTenantScope('acme', async () => {
      expect(currentTenantScope()).toBe('acme');
      const built = await core.whole();
      // The request itself stays in its scope.
      expect(currentTenantScope()).toBe('acme');
      return built;
    });
    expect(whole.auth).toBeDefined();
    expect(scopes).toEqual([undefined, undefined]);
  });

  it('a core built whole is both halves', async () => {
    const whole = createTenantCore(options);
    const core = builtCore(whole);
    expect(core.signIn).toBe(whole);
    expect(await core.signedIn()).toBe(whole);
    expect(await core.whole()).toBe(whole);
  });
});
