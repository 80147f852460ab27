/**
 * The local edge serving the static sites (lib/local/router.ts): a path that is no file of the docs
 * site answers a browser with the site's own 404 page and the status 404, and anyone else with a
 * problem+json 404 that names its instance like the API's problems do.
 */
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileViewerRequest, viewerRequestSource } from '../../../../lib/edge/viewer-request.ts';
import { createLocalRouter } from '../../../../lib/local/router.ts';
import { sites } from '../../../../lib/topology.ts';
import { call } from '../../../support/http.ts';
import { problemType } from '../../../support/platform.ts';
import { type TempDir, tempDir } from '../../../support/scratch.ts';

const NOT_FOUND_PAGE = '<!doctype html><title>404 | ExecFabric</title><p>PAGE NOT FOUND</p>';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let root: TempDir;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  root = tempDir('execfabric-sites-');
  const docs = join(root.path, sites.docs.dir);
  mkdirSync(join(docs, 'guide'), { recursive: true });
  writeFileSync(join(docs, 'index.html'), '<!doctype html><title>docs</title>');
  writeFileSync(join(docs, 'guide', 'index.html'), '<!doctype html><title>guide</title>');
  writeFileSync(join(docs, '404.html'), NOT_FOUND_PAGE);
  const tenant = join(root.path, sites.tenant.dir);
  mkdirSync(tenant, { recursive: true });
  writeFileSync(join(tenant, 'index.html'), '<!doctype html><title>tenant</title>');
  server = createServer(
    createLocalRouter({
      root: root.path,
      viewerRequest: compileViewerRequest(
        viewerRequestSource({
          adminHosts: ['admin.localhost'],
          freeHosts: ['free.localhost'],
          docsHosts: ['docs.localhost'],
        }),
      ),
      originSecret: 'origin-secret',
      invoke: () => () => Promise.reject(new Error('no API in these tests')),
      log: () => undefined,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  root.remove();
});

describe('a missing page of the docs site', () => {
  it('answers a browser with the site’s 404 page and the status 404', async () => {
    const response = await call(baseUrl, {
      host: 'docs.localhost',
      path: '/guide/nope',
      headers: { accept: BROWSER_ACCEPT },
    });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toBe(NOT_FOUND_PAGE);
  });

  it('answers an API client with a problem+json 404 that names its instance', async () => {
    for (const accept of ['*/*', 'application/json']) {
      const response = await call(baseUrl, {
        host: 'docs.localhost',
        path: '/guide/nope',
        headers: { accept },
      });
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.body).toMatchObject({ type: problemType('not-found'), status: 404 });
      expect(response.body.instance).toEqual(expect.any(String));
    }
  });

  it('still serves the pages that exist', async () => {
    const response = await call(baseUrl, {
      host: 'docs.localhost',
      path: '/guide/',
      headers: { accept: BROWSER_ACCEPT },
    });
    expect(response.status).toBe(200);
    expect(response.text).toContain('<title>guide</title>');
  });

  it('leaves a site without a 404 page to the problem', async () => {
    const response = await call(baseUrl, {
      host: 'acme.localhost',
      path: '/assets/gone.js',
      headers: { accept: BROWSER_ACCEPT },
    });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });
});
