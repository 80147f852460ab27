/** The onboarding state machine's transitions and limits, as a pure function, at each edge. */
import { describe, expect, it } from 'vitest';
import {
  initialOnboarding,
  nextOnboarding,
  ONBOARDING_LIMITS,
  type Onboarding,
  onboardingIndex,
} from '../../../../functions/core/governance/onboarding.ts';

const start = new Date('2030-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);
const missing = { kind: 'dns', verdict: { ok: false, code: 'dns-missing', reason: 'no CNAME' } } as const;

describe('nextOnboarding', () => {
  it('backs off DNS checks by doubling, up to the cap', () => {
    let state: Onboarding = initialOnboarding(start);
    const waits: number[] = [];
    for (let check = 0; check < 9; check++) {
      state = nextOnboarding(state, missing, start);
      waits.push((Date.parse(state.nextAttemptAt ?? '') - start.getTime()) / 1000);
    }
    expect(waits).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    expect(state).toMatchObject({ state: 'pending-dns', attempts: 9, revision: 9 });
  });

  it('fails a host exactly at the DNS deadline, not a millisecond before', () => {
    const deadline = ONBOARDING_LIMITS.dnsDeadlineDays * 24 * 3600;
    const before = nextOnboarding(initialOnboarding(start), missing, new Date(at(deadline).getTime() - 1));
    expect(before.state).toBe('pending-dns');
    const after = nextOnboarding(initialOnboarding(start), missing, at(deadline));
    expect(after).toMatchObject({ state: 'failed', code: 'dns-timeout' });
    expect(onboardingIndex('a.example.com', after)).toBeNull();
  });

  it('moves to provisioning when DNS points here, due at once', () => {
    const next = nextOnboarding(
      initialOnboarding(start),
      { kind: 'dns', verdict: { ok: true, via: 'cname' } },
      at(5),
    );
    expect(next).toMatchObject({ state: 'provisioning', attempts: 0, nextAttemptAt: at(5).toISOString() });
    expect(onboardingIndex('a.example.com', next)).toEqual({
      partition: 'ONBOARDING',
      sort: `${at(5).toISOString()}#a.example.com`,
    });
  });

  it('fails on the last of the passing edge faults allowed, not before', () => {
    const transient = {
      kind: 'edge',
      outcome: { kind: 'transient', code: 'edge-unavailable', reason: '503' },
    } as const;
    let state: Onboarding = { ...initialOnboarding(start), state: 'provisioning' };
    for (let attempt = 1; attempt < ONBOARDING_LIMITS.maxEdgeAttempts; attempt++) {
      state = nextOnboarding(state, transient, start);
      expect(state.state, `attempt ${attempt}`).toBe('provisioning');
    }
    expect(state.attempts).toBe(ONBOARDING_LIMITS.maxEdgeAttempts - 1);
    expect((Date.parse(state.nextAttemptAt ?? '') - start.getTime()) / 1000).toBe(
      ONBOARDING_LIMITS.edgeRetryMaxSeconds,
    );
    expect(nextOnboarding(state, transient, start)).toMatchObject({
      state: 'failed',
      code: 'edge-unavailable',
    });
  });

  it('waits on a validating certificate without spending attempts, and settles on active or failed', () => {
    const provisioning: Onboarding = { ...initialOnboarding(start), state: 'provisioning', attempts: 2 };
    const pending = nextOnboarding(
      provisioning,
      { kind: 'edge', outcome: { kind: 'pending', code: 'certificate-validating', reason: 'validating' } },
      start,
    );
    expect(pending).toMatchObject({
      state: 'provisioning',
      attempts: 2,
      nextAttemptAt: at(ONBOARDING_LIMITS.pendingPollSeconds).toISOString(),
    });
    const active = nextOnboarding(pending, { kind: 'edge', outcome: { kind: 'active' } }, start);
    expect(active).toMatchObject({ state: 'active', code: 'served' });
    expect(active.nextAttemptAt).toBeUndefined();
    const refused = nextOnboarding(
      provisioning,
      { kind: 'edge', outcome: { kind: 'failed', code: 'host-taken', reason: 'taken' } },
      start,
    );
    expect(refused).toMatchObject({ state: 'failed', code: 'host-taken', reason: 'taken' });
    const back = nextOnboarding(
      provisioning,
      { kind: 'edge', outcome: { kind: 'dns-not-ready', reason: 'CloudFront: no CNAME' } },
      start,
    );
    expect(back).toMatchObject({ state: 'pending-dns', code: 'edge-sees-no-dns', since: provisioning.since });
  });
});
