/**
 * The CLI client's retry rules (lib/cli/client.ts; the whole path against the platform is in
 * test/integration/cli-retry.test.ts): Retry-After as delta-seconds or an HTTP-date, which requests
 * are safe to send again, and when the caps stop the waiting.
 */
import { describe, expect, it } from 'vitest';
import {
  describeRetry,
  isSafeToRepeat,
  nextRetry,
  RETRY_MAX_ATTEMPTS,
  RETRY_MAX_TOTAL_WAIT_SECONDS,
  RETRY_MAX_WAIT_SECONDS,
  type RetryPolicy,
  retryAfterSeconds,
} from '../../../../lib/cli/client.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const policy: RetryPolicy = { onWait: () => undefined };

describe('retryAfterSeconds', () => {
  it('reads delta-seconds', () => {
    expect(retryAfterSeconds({ 'retry-after': '7' })).toBe(7);
    expect(retryAfterSeconds({ 'retry-after': ' 0 ' })).toBe(0);
  });

  it('reads an HTTP-date against the answer’s Date, else the clock; a date past is 0', () => {
    const at = 'Sun, 01 Mar 2026 12:00:05 GMT';
    expect(retryAfterSeconds({ 'retry-after': at }, () => NOW)).toBe(5);
    // The answer's own Date wins over a clock that is off by a minute.
    expect(retryAfterSeconds({ 'retry-after': at, date: 'Sun, 01 Mar 2026 12:00:03 GMT' }, () => 0)).toBe(2);
    expect(retryAfterSeconds({ 'retry-after': 'Sun, 01 Mar 2026 11:59:00 GMT' }, () => NOW)).toBe(0);
  });

  it('is null when absent or unreadable (then nothing is retried)', () => {
    expect(retryAfterSeconds({})).toBeNull();
    expect(retryAfterSeconds({ 'retry-after': '' })).toBeNull();
    expect(retryAfterSeconds({ 'retry-after': '1.5' })).toBeNull();
    expect(retryAfterSeconds({ 'retry-after': '-1' })).toBeNull();
    expect(retryAfterSeconds({ 'retry-after': 'soon' })).toBeNull();
    // A date without GMT would be read as local time.
    expect(retryAfterSeconds({ 'retry-after': 'Sun Mar  1 12:00:05 2026' }, () => NOW)).toBeNull();
  });
});

describe('isSafeToRepeat', () => {
  it('holds for GET, HEAD, PUT and DELETE, and for a POST with an Idempotency-Key', () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'get']) expect(isSafeToRepeat(method)).toBe(true);
    expect(isSafeToRepeat('POST', { 'idempotency-key': 'cli-1' })).toBe(true);
    expect(isSafeToRepeat('POST', { 'Idempotency-Key': 'cli-1' })).toBe(true);
  });

  it('does not hold for a POST without a key, or for PATCH', () => {
    expect(isSafeToRepeat('POST')).toBe(false);
    expect(isSafeToRepeat('POST', { 'idempotency-key': ' ' })).toBe(false);
    expect(isSafeToRepeat('PATCH', { 'idempotency-key': 'cli-1' })).toBe(false);
  });
});

describe('nextRetry', () => {
  it('waits what Retry-After asks on 429 and 503, and retries nothing else', () => {
    expect(nextRetry(429, 2, 1, 0, policy)).toEqual({ waitSeconds: 2 });
    expect(nextRetry(503, 1, 1, 0, policy)).toEqual({ waitSeconds: 1 });
    expect(nextRetry(429, null, 1, 0, policy)).toBeNull();
    expect(nextRetry(503, null, 1, 0, policy)).toBeNull();
    for (const status of [400, 404, 409, 500, 502, 504])
      expect(nextRetry(status, 1, 1, 0, policy)).toBeNull();
  });

  it(`gives up after ${RETRY_MAX_ATTEMPTS} attempts, on a wait past ${RETRY_MAX_WAIT_SECONDS} s, and past ${RETRY_MAX_TOTAL_WAIT_SECONDS} s in all`, () => {
    expect(nextRetry(429, 1, RETRY_MAX_ATTEMPTS, 2, policy)).toEqual({
      gaveUp: `Gave up after ${RETRY_MAX_ATTEMPTS} attempts (2 s of waiting); try again in 1 s.`,
    });
    expect(nextRetry(429, RETRY_MAX_WAIT_SECONDS, 1, 0, policy)).toEqual({
      waitSeconds: RETRY_MAX_WAIT_SECONDS,
    });
    expect(nextRetry(429, RETRY_MAX_WAIT_SECONDS + 1, 1, 0, policy)).toEqual({
      gaveUp: `Gave up: the platform asks to wait ${RETRY_MAX_WAIT_SECONDS + 1} s, longer than the CLI waits (${RETRY_MAX_WAIT_SECONDS} s); try again then.`,
    });
    expect(nextRetry(429, 30, 2, RETRY_MAX_TOTAL_WAIT_SECONDS - 29, policy)).toEqual({
      gaveUp: `Gave up after 2 attempts: waiting 30 s more would pass the ${RETRY_MAX_TOTAL_WAIT_SECONDS} s the CLI waits for one request.`,
    });
  });

  it('takes other caps from the policy', () => {
    const tight: RetryPolicy = { ...policy, maxAttempts: 5, maxWaitSeconds: 2, maxTotalWaitSeconds: 3 };
    expect(nextRetry(429, 2, 4, 0, tight)).toEqual({ waitSeconds: 2 });
    expect(nextRetry(429, 3, 1, 0, tight)).toHaveProperty('gaveUp');
    expect(nextRetry(429, 2, 2, 2, tight)).toHaveProperty('gaveUp');
    expect(nextRetry(429, 1, 5, 0, tight)).toHaveProperty('gaveUp');
  });
});

describe('describeRetry', () => {
  it('says who refused, how long the wait is and which attempt comes', () => {
    const notice = { host: 'acme.localhost:8080', waitSeconds: 2, attempt: 2, maxAttempts: 3 };
    expect(describeRetry({ ...notice, status: 429 })).toBe(
      'rate limited by acme.localhost:8080; retrying in 2 s (attempt 2 of 3)',
    );
    expect(describeRetry({ ...notice, status: 503 })).toBe(
      'acme.localhost:8080 is unavailable for a moment (503); retrying in 2 s (attempt 2 of 3)',
    );
  });
});
