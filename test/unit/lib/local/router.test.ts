/**
 * The local edge's diagnostics (lib/local/router.ts), on a real HTTP server with the real
 * viewer-request function: an upload the client abandons halfway is logged as one line without a
 * stack (a normal event at an edge), while a failure of the machinery behind it keeps its stack.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileViewerRequest, viewerRequestSource } from '../../../../lib/edge/viewer-request.ts';
import { createLocalRouter } from '../../../../lib/local/router.ts';

const viewerRequest = compileViewerRequest(
  viewerRequestSource({ adminHosts: ['admin.localhost'], freeHosts: ['free.localhost'], docsHosts: [] }),
);

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** An edge on a real port whose API function fails with `failure`; what it logs goes to `lines`. */
async function edge(lines: string[], failure: Error): Promise<number> {
  server = createServer(
    createLocalRouter({
      root: fileURLToPath(new URL('../../../../', import.meta.url)),
      viewerRequest,
      originSecret: 'origin-secret',
      invoke: () => () => Promise.reject(failure),
      log: (line) => lines.push(line),
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Starts an upload to the API, sends part of it and resets the connection (as an aborted fetch does). */
function abandonedUpload(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/executions HTTP/1.1\r\nHost: acme.localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
      );
      socket.write(Buffer.alloc(1000, 0x20));
      setTimeout(() => {
        socket.resetAndDestroy();
        resolve();
      }, 100);
    });
    socket.on('error', () => resolve());
  });
}

describe('the local edge’s log', () => {
  it('says in one line, without a stack, that a client abandoned its upload, once per upload', async () => {
    const lines: string[] = [];
    const port = await edge(lines, new Error('must not be reached'));
    await abandonedUpload(port);
    await abandonedUpload(port);
    await expect.poll(() => lines.length).toBe(2);
    for (const line of lines) {
      expect(line).toBe('local router: POST /api/executions: the client abandoned its request body');
    }
  });

  it('keeps the stack of a real failure behind the edge, and answers it 502', async () => {
    const lines: string[] = [];
    const port = await edge(lines, new Error('the function host broke'));
    const response = await fetch(`http://127.0.0.1:${port}/api/health`, {
      headers: { host: 'acme.localhost' },
    });
    expect(response.status).toBe(502);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^local router: Error: the function host broke\n\s+at /);
  });
});
