/**
 * What the dispatcher reads of a verified script job (`jobOwner`, written with zod's functional
 * build): each bound holds at its edge, the tenant's cap defaults to one, and nothing else passes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobOwner } from '../../../../functions/script-dispatcher/handler.ts';

const job = { tenantId: 'acme', executionId: 'e-1', limits: { timeoutSeconds: 30 } };

describe('the dispatcher’s reading of a job', () => {
  it('takes a job as the executors write it, the cap defaulting to one', () => {
    expect(jobOwner.parse(job)).toEqual({ ...job, concurrency: 1 });
    expect(jobOwner.parse({ ...job, concurrency: 1000 }).concurrency).toBe(1000);
    expect(jobOwner.parse({ ...job, limits: { timeoutSeconds: 900 } }).limits.timeoutSeconds).toBe(900);
  });

  it.each([
    ['a tenant id outside the pattern', { ...job, tenantId: 'Acme' }],
    ['no tenant', { executionId: 'e-1', limits: job.limits }],
    ['an empty execution id', { ...job, executionId: '' }],
    ['an execution id over 256 characters', { ...job, executionId: 'e'.repeat(257) }],
    ['a cap of zero', { ...job, concurrency: 0 }],
    ['a cap over 1000', { ...job, concurrency: 1001 }],
    ['a fractional cap', { ...job, concurrency: 1.5 }],
    ['a timeout of zero', { ...job, limits: { timeoutSeconds: 0 } }],
    ['a timeout over 900 s', { ...job, limits: { timeoutSeconds: 901 } }],
    ['no limits', { tenantId: 'acme', executionId: 'e-1' }],
  ])('refuses %s', (_what, value) => {
    expect(jobOwner.safeParse(value).success).toBe(false);
  });

  it('passes only values inside every bound', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (tenantId, concurrency, timeoutSeconds) => {
        const parsed = jobOwner.safeParse({
          tenantId,
          executionId: 'e-1',
          concurrency,
          limits: { timeoutSeconds },
        });
        if (!parsed.success) return;
        expect(parsed.data.tenantId).toMatch(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/);
        expect(Number.isInteger(parsed.data.concurrency)).toBe(true);
        expect(parsed.data.concurrency).toBeGreaterThanOrEqual(1);
        expect(parsed.data.concurrency).toBeLessThanOrEqual(1000);
        expect(parsed.data.limits.timeoutSeconds).toBeGreaterThan(0);
        expect(parsed.data.limits.timeoutSeconds).toBeLessThanOrEqual(900);
      }),
    );
  });
});
