/** Sign-ups on the free entry, from a viewer address of the caller's choice (per-address limits). */
import type { TestResponse } from './http.ts';
import { HOSTS, type TestPlatform } from './platform.ts';

/**
 * Distinct loopback viewer addresses from `first` on, so each test's sign-ups have their own
 * per-address window (a suite picks a range no other suite on the same platform uses).
 */
export function addresses(first: number): () => string {
  let next = first;
  return () => {
    next += 1;
    return `127.0.0.${next}`;
  };
}

export function signUp(
  t: TestPlatform,
  body: Record<string, unknown>,
  from: string,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  return t.send({
    host: HOSTS.free,
    method: 'POST',
    path: '/api/free/signups',
    body,
    localAddress: from,
    headers,
  });
}
