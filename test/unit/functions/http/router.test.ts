import { describe, expect, it } from 'vitest';
import { MethodNotAllowedError, RouteNotFoundError } from '../../../../functions/core/errors.ts';
import { type Route, type RoutePath, Router, route } from '../../../../functions/http/router.ts';

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

function refusal(method: string, path: string): unknown {
  try {
    router.match(method, path);
  } catch (error) {
    return error;
  }
  return null;
}

describe('Router', () => {
  it('matches a static path', () => {
    const { route: found, params } = router.match('GET', '/api/me');
    expect(found).toBe(routes[0]);
    expect(params).toEqual({});
  });

  it('captures and decodes path parameters', () => {
    expect(router.match('GET', '/api/skills/abc').params).toEqual({ id: 'abc' });
    expect(router.match('GET', '/api/skills/a%20b%2Fc%23d').params).toEqual({ id: 'a b/c#d' });
    expect(router.match('GET', '/api/skills/x/versions/3').params).toEqual({ id: 'x', version: '3' });
  });

  it('keeps a parameter inside one segment', () => {
    expect(refusal('GET', '/api/skills/a/b')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/skills/')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/skills/x/versions/3/extra')).toBeInstanceOf(RouteNotFoundError);
  });

  it('matches literally: no regular-expression meaning, no trailing slash, no other case', () => {
    expect(router.match('GET', '/api/a.b').route).toBe(routes[4]);
    expect(refusal('GET', '/api/aXb')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/me/')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/API/me')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/me?x=1')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '//api/me')).toBeInstanceOf(RouteNotFoundError);
  });

  it('answers 405 with every allowed method when only the method is wrong', () => {
    const error = refusal('DELETE', '/api/skills/abc');
    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect((error as MethodNotAllowedError).allow).toEqual(['GET', 'PUT']);
    expect((refusal('GET', '/api/audit') as MethodNotAllowedError).allow).toEqual(['POST']);
  });

  it('answers 404 for a path nobody serves, and for a malformed escape in a parameter', () => {
    expect(refusal('GET', '/api/nothing')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/skills/%E0%A4%A')).toBeInstanceOf(RouteNotFoundError);
    expect(refusal('GET', '/api/skills/%')).toBeInstanceOf(RouteNotFoundError);
  });

  it('does not confuse a static route with a longer one', () => {
    expect(router.match('GET', '/api/audit/verify').route).toBe(routes[6]);
    expect(router.match('POST', '/api/audit').route).toBe(routes[5]);
  });
});
