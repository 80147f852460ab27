/**
 * Browser sessions over https (CloudFront in AWS, or a TLS-terminating proxy in front of the
 * embedded platform): the session cookie is `__Host-efs` with `Secure`, the plain `efs` cookie is
 * not read, and a cookie write must come from the https origin of the same host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const PASSWORD = 'secure-cookie-password';
let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform(PASSWORD, { viewerScheme: 'https' });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('browser sessions over https', () => {
  it('use the __Host- Secure cookie, read only that one, and take writes from the https origin only', async () => {
    const login = await platform.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/auth/login',
      body: { username: 'alice', password: PASSWORD, session: 'cookie' },
      headers: { origin: 'https://acme.localhost' },
    });
    expect(login.status, login.text).toBe(200);
    const setCookie = String(login.headers['set-cookie'] ?? '');
    expect(setCookie).toMatch(
      /^__Host-efs=efs\.[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(setCookie).not.toMatch(/Domain=/);
    const cookie = setCookie.split(';')[0] ?? '';
    const csrf = String(login.body.csrfToken);

    const me = await platform.send({ host: HOSTS.acme, method: 'GET', path: '/api/me', headers: { cookie } });
    expect(me.status, me.text).toBe(200);
    expect(me.body.username).toBe('alice');
    // The same token under the plain name is not a session here.
    const plain = await platform.send({
      host: HOSTS.acme,
      method: 'GET',
      path: '/api/me',
      headers: { cookie: cookie.replace(/^__Host-efs=/, 'efs=') },
    });
    expect(plain.status).toBe(401);

    const write = (origin: string) =>
      platform.send({
        host: HOSTS.acme,
        method: 'POST',
        path: '/api/parameters',
        body: { key: `secure.${origin.length}`, value: '1' },
        headers: { cookie, 'x-csrf-token': csrf, origin, 'sec-fetch-site': 'same-origin' },
      });
    expect((await write('http://acme.localhost')).status).toBe(403);
    expect((await write('https://globex.localhost')).status).toBe(403);
    const allowed = await write('https://acme.localhost');
    expect(allowed.status, allowed.text).toBe(201);

    const out = await platform.send({
      host: HOSTS.acme,
      method: 'POST',
      path: '/api/auth/logout',
      headers: {
        cookie,
        'x-csrf-token': csrf,
        origin: 'https://acme.localhost',
        'sec-fetch-site': 'same-origin',
      },
    });
    expect(out.status, out.text).toBeLessThan(300);
    expect(String(out.headers['set-cookie'])).toMatch(
      /^__Host-efs=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict; Secure/,
    );
  }, 60_000);
});
