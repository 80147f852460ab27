/**
 * The local edge's diagnostics (lib/local/router.ts), on a real HTTP server with the real
 * viewer-request function: an upload the client abandons halfway is logged as one line without a
 * stack (a normal event at an edge), while a failure of the machinery behind it keeps its stack.
 * And what it buffers: only an API request's body is read, and all requests' bodies together are
 * held to a budget (any web page can POST to a `*.localhost` name).
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
async function edge(lines: string[], failure: Error, maxBufferedBytes?: number): Promise<number> {
  server = createServer(
    createLocalRouter({
      root: fileURLToPath(new URL('../../../../', import.meta.url)),
      viewerRequest,
      originSecret: 'origin-secret',
      invoke: () => () => Promise.reject(failure),
      log: (line) => lines.push(line),
      ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
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

/**
 * Sends a request's head declaring `declared` body bytes and then `sent` of them, and keeps the
 * connection open; resolves with the status line of the answer, or 'no answer' after `waitMs`.
 */
function upload(
  port: number,
  path: string,
  declared: number,
  sent: number,
  waitMs = 1_500,
): { answer: Promise<string>; close: () => void } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const answer = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), waitMs);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(text.slice(0, end));
      }
    });
    socket.on('close', () => resolve(text === '' ? 'closed' : text));
  });
  socket.on('connect', () => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: acme.localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    if (sent > 0) socket.write(Buffer.alloc(sent, 0x20));
  });
  return { answer, close: () => socket.destroy() };
}

describe('what the local edge buffers', () => {
  it('answers a POST to a site page 405 without waiting for its body', async () => {
    const port = await edge([], new Error('must not be reached'));
    const post = upload(port, '/skills', 5_000_000, 0);
    expect(await post.answer).toMatch(/^HTTP\/1\.1 405 /);
    post.close();
  });

  it('holds all requests’ bodies to one budget: past it an upload is answered 503 with Retry-After, and the budget comes back', async () => {
    const port = await edge([], new Error('the function host is a stand-in'), 100_000);
    // One upload holds 80 kB of the 100 kB and waits for the rest of its body.
    const holder = upload(port, '/api/executions', 90_000, 80_000, 600);
    expect(await holder.answer).toBe('no answer');
    // Another's 30 kB would pass the budget.
    const second = upload(port, '/api/executions', 30_000, 30_000);
    const head = await second.answer;
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.toLowerCase()).toContain('retry-after: 1');
    second.close();
    // Once the first is gone, its bytes are given back: the same upload now reaches the function.
    holder.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = upload(port, '/api/executions', 30_000, 30_000);
    expect(await third.answer).toMatch(/^HTTP\/1\.1 502 /);
    third.close();
  });
});
