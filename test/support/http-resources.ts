/**
 * An HTTP resource made the way a super-admin makes one, over the governance API: created (bearer
 * auth, allowed to reach a loopback upstream for local development), its credential set, granted to
 * tenants. Each step is checked, so a suite's setup fails where it went wrong.
 */
import { expect } from 'vitest';
import { HOSTS, type TestPlatform } from './platform.ts';

export interface GrantedResource {
  readonly name: string;
  /** The upstream, e.g. `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  readonly paths: readonly string[];
  /** @default ['GET'] */
  readonly methods?: readonly string[];
  /** The bearer token the platform sends upstream. */
  readonly credential: string;
  /** @default ['acme'] */
  readonly tenants?: readonly string[];
}

/** Creates, credentials and grants an HTTP resource as the super-admin `adminToken`; answers its id. */
export async function grantedResource(
  t: TestPlatform,
  adminToken: string,
  resource: GrantedResource,
): Promise<string> {
  const governance = (method: string, path: string, body: unknown) =>
    t.send({ host: HOSTS.admin, token: adminToken, method, path, body });
  const created = await governance('POST', '/api/http-resources', {
    name: resource.name,
    baseUrl: resource.baseUrl,
    methods: resource.methods ?? ['GET'],
    paths: resource.paths,
    writeAllowed: false,
    auth: { scheme: 'bearer' },
    localDevelopment: true,
  });
  expect(created.status, created.text).toBe(201);
  const id = String(created.body.id);
  const credential = await governance('PUT', `/api/http-resources/${id}/credential`, {
    value: resource.credential,
  });
  expect(credential.status, credential.text).toBe(204);
  const granted = await governance('POST', `/api/http-resources/${id}/grants`, {
    tenantIds: resource.tenants ?? ['acme'],
  });
  expect(granted.status, granted.text).toBe(200);
  return id;
}
