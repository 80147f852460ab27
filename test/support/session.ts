/**
 * What the suites do as a user of a running platform: sign in on a host (a bearer token) and wait
 * on a run until it reaches the statuses a test waits for (by default, until it ends). One copy,
 * for the integration suites, the browser suites and the test platform alike.
 */
import { expect } from 'vitest';
import { TERMINAL_STATUSES } from '../../functions/contract/executions.ts';
import { call, type TestResponse } from './http.ts';

/** Statuses a run never leaves. */
export const FINISHED: readonly string[] = TERMINAL_STATUSES;
/** Statuses of a run still on its way through the queue and the worker (waiting for approval is not). */
export const IN_FLIGHT: readonly string[] = ['requested', 'queued', 'running'];
/** A run that has left the queue and the worker: ended, or waiting for people (approval). */
export const settled = (status: string): boolean => !IN_FLIGHT.includes(status);

/** A signed-in user of one host of a platform. */
export interface Signed {
  /** The platform's base URL (`platform.url`). */
  readonly url: string;
  readonly host: string;
  readonly token: string;
}

/** Signs `username` in on `host` with a password; answers the bearer token. */
export async function signIn(url: string, host: string, username: string, password: string): Promise<string> {
  const response = await call(url, {
    host,
    method: 'POST',
    path: '/api/auth/login',
    body: { username, password },
  });
  expect(response.status, `sign-in of ${username}@${host}: ${response.text}`).toBe(200);
  return String(response.body.token);
}

export interface WaitOptions {
  /** The statuses to wait for, or a test of the status. @default FINISHED */
  readonly until?: readonly string[] | ((status: string) => boolean);
  /** @default 90 000 */
  readonly timeoutMs?: number;
  /** @default 100 */
  readonly intervalMs?: number;
}

/** Reads a run until its status is one waited for; fails with the last answer when it never is. */
export async function waitForRun(
  as: Signed,
  id: string,
  options: WaitOptions = {},
): Promise<TestResponse['body']> {
  const until = options.until ?? FINISHED;
  const reached = typeof until === 'function' ? until : (status: string) => until.includes(status);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    const current = await call(as.url, { host: as.host, token: as.token, path: `/api/executions/${id}` });
    expect(current.status, current.text).toBe(200);
    if (reached(String(current.body.status))) return current.body;
    if (Date.now() > deadline)
      throw new Error(`run ${id} never reached the status waited for: ${current.text}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
