/**
 * A fenced store (a write failed in it) is closed and opened again by the storage guard
 * (lib/local/storage-guard.ts) only once every request it let through is answered, and no request —
 * a read included — reaches the store meanwhile: a read that reached dynalite's store while it was
 * closed threw "Database is not open" and ended the services' thread (a clean-clone CI met it, in
 * crash-restart.test.ts's run without a reserve). Here a real HTTP server puts each request through
 * the guard, holds one read open, and a store handle records when it is reopened: the order of what
 * happens is the test, whatever the machine's speed.
 */
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type StoreHandle, storageGuard } from '../../../../lib/local/storage-guard.ts';
import { tempDir } from '../../../support/scratch.ts';

const folder = tempDir('execfabric-guard-reopen-');
afterAll(() => folder.remove());

const events: string[] = [];
const store: StoreHandle = {
  fenced: false,
  async reopen() {
    events.push('reopen');
    store.fenced = false;
  },
};
const guard = storageGuard(
  folder.path,
  0,
  () => undefined,
  () => undefined,
  () => store,
);
const held: ServerResponse[] = [];
const server = createServer(async (req, res) => {
  const name = String(req.headers['x-name']);
  if (await guard.refuse(req, res)) {
    events.push(`refused ${name}`);
    return;
  }
  events.push(`reached ${name}`);
  if (req.headers['x-hold'] === '1') held.push(res);
  else res.end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
afterAll(
  () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.end('ok'); // a failed test may leave one held
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);
const { port } = server.address() as AddressInfo;

/** One DynamoDB-like request (`action` in X-Amz-Target, as the SDK sends it); its answer's status. */
function send(name: string, action: string, hold = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        headers: {
          'x-name': name,
          'x-amz-target': `DynamoDB_20120810.${action}`,
          ...(hold ? { 'x-hold': '1' } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

describe('the storage guard reopening a fenced store', () => {
  it('waits for the requests it let through, and lets none through until the store is open again', async () => {
    const slow = send('slow read', 'GetItem', true);
    await until(() => events.includes('reached slow read'));

    store.fenced = true; // a write failed meanwhile
    const write = send('write', 'PutItem');
    await sleep(50); // the write's check is under way: the reopen waits for the slow read
    const read = send('read', 'GetItem');
    await sleep(100);
    // Nothing reopened under the request in flight, and nothing reached the store.
    expect(events).toEqual(['reached slow read']);

    held[0]?.end('ok');
    expect(await slow).toBe(200);
    expect(await write).toBe(200);
    expect(await read).toBe(200);
    // The store was reopened once the slow read was answered, and only then did the others reach it.
    expect(events[0]).toBe('reached slow read');
    expect(events[1]).toBe('reopen');
    expect(events.slice(2).sort()).toEqual(['reached read', 'reached write']);
    expect(store.fenced).toBe(false);
  });
});
