import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';

let platform: LocalPlatform;

beforeAll(async () => {
  platform = await startLocalPlatform({ port: 0, dataDir: null, schedules: false, log: () => undefined });
});
afterAll(async () => {
  await platform?.stop();
});

async function get(host: string, path: string, headers: Record<string, string> = {}) {
  const response = await call(platform.url, { host, path, headers });
  return { status: response.status, type: response.headers['content-type'], body: response.body };
}

describe('host binding', () => {
  it('answers the public domain on the admin host', async () => {
    const { status, body } = await get('admin.localhost', '/api/health');
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok', domain: 'public' });
  });

  it.each([
    ['acme.localhost', 'acme', 'Acme Corporation'],
    ['globex.localhost', 'globex', 'Globex'],
  ])('answers tenant %s with its own tenant', async (host, id, name) => {
    const { status, body } = await get(host, '/api/health');
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok', domain: 'tenant', tenant: { id, name, status: 'active' } });
  });

  it('ignores the port and case of the Host header', async () => {
    const { body } = await get(`ACME.localhost:${platform.port}`, '/api/health');
    expect(body.tenant.id).toBe('acme');
  });

  it('refuses an unbound host with problem+json 404', async () => {
    const { status, type, body } = await get('initech.localhost', '/api/health');
    expect(status).toBe(404);
    expect(type).toBe('application/problem+json');
    expect(body.type).toBe('urn:execfabric:problem:unknown-host');
  });

  it('never trusts a client-sent x-execfabric-host', async () => {
    const { status, body } = await get('initech.localhost', '/api/health', {
      'x-execfabric-host': 'acme.localhost',
    });
    expect(status).toBe(404);
    expect(body.type).toBe('urn:execfabric:problem:unknown-host');
    const forged = await get('globex.localhost', '/api/health', { 'X-ExecFabric-Host': 'acme.localhost' });
    expect(forged.body.tenant.id).toBe('globex');
  });

  it('cannot be reached around the edge: a client-sent origin header is replaced', async () => {
    const { status, body } = await get('acme.localhost', '/api/health', { 'x-execfabric-origin': 'guess' });
    expect(status).toBe(200);
    expect(body.tenant.id).toBe('acme');
  });

  it('answers unknown API routes with problem+json 404', async () => {
    const { status, type } = await get('acme.localhost', '/api/nope');
    expect(status).toBe(404);
    expect(type).toBe('application/problem+json');
  });
});
