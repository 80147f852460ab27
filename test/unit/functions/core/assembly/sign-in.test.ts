/**
 * An API's core in two halves (core/assembly/sign-in.ts): the sign-in core at a cold start, the whole
 * core built once, on first use, on that very sign-in core.
 */
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../../../../functions/clients/dynamodb.ts';
import { builtCore, createSignInCore, lazyCore } from '../../../../../functions/core/assembly/sign-in.ts';
import { createTenantCore } from '../../../../../functions/core/assembly/tenant.ts';
import { ENV } from '../../../../../functions/core/env.ts';

// Building a core touches no database: an endpoint nothing listens on is enough.
const table = { client: documentClient({ [ENV.dynamodbEndpoint]: 'http://127.0.0.1:1' }), name: 'sign-in' };
const options = { table, tokenSecret: 'a'.repeat(32) };

describe('the sign-in core and the whole core built on it', () => {
  it('builds the whole core once, on first use, for every caller at once', async () => {
    const signIn = createSignInCore(options);
    let builds = 0;
    const core = lazyCore(signIn, async (built) => {
      builds++;
      return createTenantCore(options, built);
    });
    expect(builds).toBe(0);
    const [a, b] = await Promise.all([core.whole(), core.whole()]);
    expect(a).toBe(b);
    expect(await core.whole()).toBe(a);
    expect(builds).toBe(1);
  });

  it('shares the sign-in core’s services with the whole core: one audit, directory, hosts and sessions', async () => {
    const signIn = createSignInCore(options);
    const whole = await lazyCore(signIn, async (built) => createTenantCore(options, built)).whole();
    expect(whole.audit).toBe(signIn.audit);
    expect(whole.directory).toBe(signIn.directory);
    expect(whole.hosts).toBe(signIn.hosts);
    expect(whole.auth).toBe(signIn.auth);
    expect(whole.securityEvents).toBe(signIn.securityEvents);
  });

  it('tries a failed build again on the next use', async () => {
    const signIn = createSignInCore(options);
    let builds = 0;
    const core = lazyCore(signIn, async (built) => {
      builds++;
      if (builds === 1) throw new Error('the chunk did not load');
      return createTenantCore(options, built);
    });
    await expect(core.whole()).rejects.toThrow('the chunk did not load');
    const whole = await core.whole();
    expect(whole.auth).toBe(signIn.auth);
    expect(builds).toBe(2);
  });

  it('a core built whole is both halves', async () => {
    const whole = createTenantCore(options);
    const core = builtCore(whole);
    expect(core.signIn).toBe(whole);
    expect(await core.whole()).toBe(whole);
  });
});
