import { describe, expect, it } from 'vitest';
import { MethodNotAllowedError, RouteNotFoundError } from '../../../../functions/core/errors.ts';
import { currentTenantScope, withTenantScope } from '../../../../functions/core/tenancy/tenant-scope.ts';
import {
  lazyRoutes,
  loadRoutes,
  type Route,
  type RoutePath,
  Router,
  route,
} from '../../../../functions/http/router.ts';

const handle = async () => ({ status: 204 as const });
/** A route the router only matches: served anywhere, answering 204. */
const at = (
  method: 'GET' | 'PUT' | 'POST',
  path: RoutePath,
  auth: 'caller' | 'anonymous' = 'caller',
): Route => route({ method, path, serves: 'anywhere', auth, responses: { 204: null }, handle });
const routes: Route[] = [
  at('GET', '/api/me'),
  at('GET', '/api/skills/{id}'),
  at('PUT', '/api/skills/{id}'),
  at('GET', '/api/skills/{id}/versions/{version}'),
  at('GET', '/api/a.b', 'anonymous'),
  at('POST', '/api/audit'),
  at('GET', '/api/audit/verify'),
];
const router = new Router(routes);

async function refusal(method: string, path: string, from: Router = router): Promise<unknown> {
  try {
    await from.match(method, path);
  } catch (error) {
    return error;
  }
  return null;
}

describe('Router', async () => {
  it('matches a static path', async () => {
    const { route: found, params } = await router.match('GET', '/api/me');
    expect(found).toBe(routes[0]);
    expect(params).toEqual({});
  });

  it('captures and decodes path parameters', async () => {
    expect((await router.match('GET', '/api/skills/abc')).params).toEqual({ id: 'abc' });
    expect((await router.match('GET', '/api/skills/a%20b%2Fc%23d')).params).toEqual({ id: 'a b/c#d' });
    expect((await router.match('GET', '/api/skills/x/versions/3')).params).toEqual({ id: 'x', version: '3' });
  });

  it('keeps a parameter inside one segment', async () => {
    expect(await refusal('GET', '/api/skills/a/b')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/skills/')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/skills/x/versions/3/extra')).toBeInstanceOf(RouteNotFoundError);
  });

  it('matches literally: no regular-expression meaning, no trailing slash, no other case', async () => {
    expect((await router.match('GET', '/api/a.b')).route).toBe(routes[4]);
    expect(await refusal('GET', '/api/aXb')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/me/')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/API/me')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/me?x=1')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '//api/me')).toBeInstanceOf(RouteNotFoundError);
  });

  it('answers 405 with every allowed method when only the method is wrong (HEAD wherever GET is)', async () => {
    const error = await refusal('DELETE', '/api/skills/abc');
    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect((error as MethodNotAllowedError).allow).toEqual(['GET', 'HEAD', 'PUT']);
    expect(((await refusal('GET', '/api/audit')) as MethodNotAllowedError).allow).toEqual(['POST']);
  });

  it('answers 404 for a path nobody serves, and for a malformed escape in a parameter', async () => {
    expect(await refusal('GET', '/api/nothing')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/skills/%E0%A4%A')).toBeInstanceOf(RouteNotFoundError);
    expect(await refusal('GET', '/api/skills/%')).toBeInstanceOf(RouteNotFoundError);
  });

  it('does not confuse a static route with a longer one', async () => {
    expect((await router.match('GET', '/api/audit/verify')).route).toBe(routes[6]);
    expect((await router.match('POST', '/api/audit')).route).toBe(routes[5]);
  });
});

/** A group of routes that counts its loads, and fails its first `failures` of them. */
function counted(prefixes: readonly RoutePath[], routes: readonly Route[], failures = 0) {
  const loads = { count: 0 };
  const group = lazyRoutes(prefixes, async () => {
    loads.count += 1;
    if (loads.count <= failures) throw new Error('the chunk could not be read');
    return routes;
  });
  return { group, loads };
}

describe('Router with groups loaded on first use', () => {
  it('loads a group outside the tenant scope of the request that first reaches it', async () => {
    const scopes: (string | undefined)[] = [];
    const group = lazyRoutes(['/api/skills'], async () => {
      await Promise.resolve();
      scopes.push(currentTenantScope());
      return [at('GET', '/api/skills')];
    });
    const matched = await withTenantScope('acme', async () => {
      const match = await new Router([group]).match('GET', '/api/skills');
      expect(currentTenantScope()).toBe('acme');
      return match;
    });
    expect(matched.route.path).toBe('/api/skills');
    expect(scopes).toEqual([undefined]);
  });

  it('loads a group only for a path under one of its prefixes, once, and matches it as a table route', async () => {
    const skills = [at('GET', '/api/skills'), at('GET', '/api/skills/{id}'), at('PUT', '/api/skills/{id}')];
    const users = [at('GET', '/api/users')];
    const a = counted(['/api/skills'], skills);
    const b = counted(['/api/users'], users);
    const lazy = new Router([at('GET', '/api/me'), a.group, b.group]);

    expect((await lazy.match('GET', '/api/me')).route.path).toBe('/api/me');
    expect(await refusal('GET', '/api/nothing', lazy)).toBeInstanceOf(RouteNotFoundError);
    // A path that only starts like a prefix is not under it: segments are whole.
    expect(await refusal('GET', '/api/skillset', lazy)).toBeInstanceOf(RouteNotFoundError);
    expect([a.loads.count, b.loads.count]).toEqual([0, 0]);

    expect((await lazy.match('GET', '/api/skills/x')).params).toEqual({ id: 'x' });
    expect(((await refusal('DELETE', '/api/skills/x', lazy)) as MethodNotAllowedError).allow).toEqual([
      'GET',
      'HEAD',
      'PUT',
    ]);
    await Promise.all([lazy.match('GET', '/api/skills'), lazy.match('PUT', '/api/skills/y')]);
    expect([a.loads.count, b.loads.count]).toEqual([1, 0]);
    expect((await lazy.match('GET', '/api/users')).route).toBe(users[0]);
    expect([a.loads.count, b.loads.count]).toEqual([1, 1]);
  });

  it('keeps the table’s order: an earlier route wins over a later group’s, whichever loaded first', async () => {
    const early = at('GET', '/api/audit/verify');
    const late = counted(
      ['/api/audit'],
      [at('GET', '/api/audit/verify', 'anonymous'), at('POST', '/api/audit')],
    );
    const lazy = new Router([late.group, early]);
    expect((await lazy.match('GET', '/api/audit/verify')).route.auth).toBe('anonymous');
    const ordered = new Router([early, late.group]);
    expect((await ordered.match('GET', '/api/audit/verify')).route).toBe(early);
    expect((await loadRoutes([early, late.group])).map((found) => found.path)).toEqual([
      '/api/audit/verify',
      '/api/audit/verify',
      '/api/audit',
    ]);
  });

  it('tries a group whose load failed again on the next request, and fails that request', async () => {
    const flaky = counted(['/api/skills'], [at('GET', '/api/skills')], 1);
    const lazy = new Router([flaky.group]);
    await expect(lazy.match('GET', '/api/skills')).rejects.toThrow('the chunk could not be read');
    expect((await lazy.match('GET', '/api/skills')).route.path).toBe('/api/skills');
    expect(flaky.loads.count).toBe(2);
  });

  it('refuses a group whose route lies outside its prefixes, and a prefix that is not a literal path', async () => {
    const stray = counted(['/api/skills'], [at('GET', '/api/skills'), at('GET', '/api/skillset')]);
    await expect(new Router([stray.group]).match('GET', '/api/skills')).rejects.toThrow(
      "GET /api/skillset lies under none of its group's prefixes (/api/skills)",
    );
    await expect(loadRoutes([stray.group])).rejects.toThrow(/GET \/api\/skillset lies under none/);
    expect(() => lazyRoutes(['/api/skills/{id}'], async () => [])).toThrow('not a literal path prefix');
    expect(() => lazyRoutes(['/api/skills/'], async () => [])).toThrow('not a literal path prefix');
  });

  it('tries a group whose check failed again on the next request', async () => {
    let checks = 0;
    const once = (found: Route) => {
      checks += 1;
      if (checks === 1) throw new Error(`${found.path} refused once`);
    };
    const group = counted(['/api/x'], [at('GET', '/api/x')]);
    const lazy = new Router([group.group], once);
    await expect(lazy.match('GET', '/api/x')).rejects.toThrow('/api/x refused once');
    expect((await lazy.match('GET', '/api/x')).route.path).toBe('/api/x');
    expect(checks).toBe(2);
    // The group's module loaded once: only the check was tried again.
    expect(group.loads.count).toBe(1);
  });

  it('checks a group’s routes when it loads, and a table’s own routes at once', async () => {
    const refuse = (found: Route) => {
      if (found.auth === 'anonymous') throw new Error(`${found.path} is anonymous`);
    };
    expect(() => new Router([at('GET', '/api/a.b', 'anonymous')], refuse)).toThrow('/api/a.b is anonymous');
    const group = counted(['/api/open'], [at('GET', '/api/open', 'anonymous')]);
    const lazy = new Router([group.group], refuse);
    await expect(lazy.match('GET', '/api/open')).rejects.toThrow('/api/open is anonymous');
  });
});

describe('HEAD', () => {
  const get = at('GET', '/api/things');
  const recorded = route({
    method: 'GET',
    path: '/api/x/export',
    head: false,
    serves: 'anywhere',
    auth: 'caller',
    responses: { 204: null },
    handle,
  });
  const heads = new Router([
    get,
    at('POST', '/api/things'),
    recorded,
    at('POST', '/api/only'),
    // Shadowed by /api/x/export for GET, so for HEAD too.
    at('GET', '/api/x/{id}'),
    at('PUT', '/api/x/{id}'),
  ]);

  it('finds the GET route of a path, and is allowed beside GET', async () => {
    expect((await heads.match('HEAD', '/api/things')).route).toBe(get);
    const refused = (await refusal('DELETE', '/api/things', heads)) as MethodNotAllowedError;
    expect(refused.allow).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('finds no route where GET is not served, nor a GET that answers no HEAD', async () => {
    expect(((await refusal('HEAD', '/api/only', heads)) as MethodNotAllowedError).allow).toEqual(['POST']);
    const export_ = (await refusal('HEAD', '/api/x/export', heads)) as MethodNotAllowedError;
    expect(export_).toBeInstanceOf(MethodNotAllowedError);
    expect(export_.allow).toEqual(['GET', 'PUT']);
    expect((await heads.match('HEAD', '/api/x/other')).route.path).toBe('/api/x/{id}');
    expect(await refusal('HEAD', '/api/nothing', heads)).toBeInstanceOf(RouteNotFoundError);
  });
});
