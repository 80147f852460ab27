/**
 * The bare local address: `http://localhost:<port>/` is no tenant's host, so the page says "Unknown
 * address"; on the local platform that page also lists the platform's own addresses, with the port
 * the viewer used. Only for a loopback name: any other unknown host learns nothing of the tenants,
 * and the API function itself (as it runs in AWS, behind CloudFront) adds nothing of the kind.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardedEvent } from '../support/lambda-environment.ts';
import {
  expectProblem,
  HOSTS,
  problemType,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform('loopback-directory-password');
});

afterAll(async () => {
  await t?.stop();
});

describe('an unknown host on the local platform', () => {
  it('lists the platform’s hosts, with the viewer’s port, to a loopback name', async () => {
    const port = t.platform.port;
    for (const loopback of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const answer = await t.send({ host: loopback, path: '/api/health' });
      expectProblem(answer, 404, loopback);
      expect(answer.body.type).toBe(problemType('unknown-host'));
      const hosts = answer.body.platformHosts as { role: string; host: string; url: string; name?: string }[];
      expect(hosts).toEqual(
        expect.arrayContaining([
          { role: 'console', host: HOSTS.admin, url: `http://${HOSTS.admin}:${port}/` },
          {
            role: 'tenant',
            host: HOSTS.acme,
            url: `http://${HOSTS.acme}:${port}/`,
            name: expect.any(String),
          },
          { role: 'free', host: HOSTS.free, url: `http://${HOSTS.free}:${port}/` },
          { role: 'docs', host: 'docs.localhost', url: `http://docs.localhost:${port}/` },
        ]),
      );
    }
  });

  it('lists nothing to any other unknown host: it must not learn the tenants', async () => {
    for (const host of ['nobody.localhost', 'unknown.example.com', `nobody.localhost:${t.platform.port}`]) {
      const answer = await t.send({ host, path: '/api/health' });
      expectProblem(answer, 404, host);
      expect(answer.body.type).toBe(problemType('unknown-host'));
      expect(answer.body).not.toHaveProperty('platformHosts');
      expect(answer.text).not.toContain(HOSTS.acme);
    }
  });

  it('is the local edge’s doing: the API function, as AWS runs it, lists nothing even to localhost', async () => {
    const answer = (await t.platform.invoke(
      'tenant-api',
      forwardedEvent(t.platform.env, {
        method: 'GET',
        surface: 'tenant',
        host: 'localhost',
        path: '/api/health',
      }),
    )) as APIGatewayProxyStructuredResultV2;
    expect(answer.statusCode).toBe(404);
    const body = JSON.parse(String(answer.body)) as Record<string, unknown>;
    expect(body.type).toBe(problemType('unknown-host'));
    expect(body).not.toHaveProperty('platformHosts');
  });
});
