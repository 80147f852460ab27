/**
 * Why a run of a local agent waits, against a real local store (dynalite) and the module's clock:
 * an agent that has never connected, one seen a moment ago (online), and one seen long ago
 * (offline, its last sighting in the platform's readable UTC wording).
 */
import { describe, expect, it } from 'vitest';
import { AGENT_ONLINE_SECONDS, Agents } from '../../../../functions/core/agents/agents.ts';
import { AuditLog } from '../../../../functions/core/audit/chain.ts';
import { readableUtc } from '../../../../functions/core/governance/dates.ts';
import { ACME, localTable } from '../../../support/unit-table.ts';

const ALICE = { username: 'alice', via: 'session' } as const;

const table = localTable();
let clock = new Date('2026-03-01T08:05:42.123Z');

/** The module as the platform builds it, on the test's clock. */
function agents(): Agents {
  const now = () => clock;
  return new Agents({ table: table(), audit: new AuditLog({ table: table(), now, settleMs: 0 }), now });
}

describe('Agents.waitingReason', () => {
  it('names an offline agent’s last sighting as a person reads it, in UTC', async () => {
    const module = agents();
    await module.create(ACME, { name: 'laptop' }, ALICE);
    expect(await module.waitingReason(ACME, 'laptop')).toBe(
      'waiting for agent laptop, which has never connected',
    );

    await module.seen(ACME, await module.get(ACME, 'laptop'), { version: '1.0.0', platform: 'linux' });
    clock = new Date(clock.getTime() + AGENT_ONLINE_SECONDS * 1000);
    expect(await module.waitingReason(ACME, 'laptop')).toBe(
      'waiting for agent laptop (online) to pick it up',
    );

    // Three days later, the agent never came back.
    clock = new Date(clock.getTime() + 3 * 24 * 3600 * 1000);
    expect(await module.waitingReason(ACME, 'laptop')).toBe(
      'waiting for agent laptop, which is offline (last seen 1 Mar 2026, 08:05 UTC)',
    );
  });

  it('says an agent that stopped is offline at once, until it is seen again', async () => {
    const module = agents();
    await module.create(ACME, { name: 'desk' }, ALICE);
    await module.seen(ACME, await module.get(ACME, 'desk'), { version: '1.0.0', platform: 'linux' });
    clock = new Date(clock.getTime() + 5_000);
    const stopped = await module.stopped(ACME, await module.get(ACME, 'desk'));
    expect(stopped.status).toBe('offline');
    expect(await module.waitingReason(ACME, 'desk')).toBe(
      `waiting for agent desk, which is offline (last seen ${readableUtc(clock.toISOString())})`,
    );
    clock = new Date(clock.getTime() + 1_000);
    await module.seen(ACME, await module.get(ACME, 'desk'), { version: '1.0.0', platform: 'linux' });
    expect(await module.waitingReason(ACME, 'desk')).toBe('waiting for agent desk (online) to pick it up');
  });
});
