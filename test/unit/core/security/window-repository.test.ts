/**
 * Security-event windows against a real local store (dynalite): a window counts every event, owes
 * its summary once it suppressed one, is listed as due only once it is over, and is claimed for its
 * summary by exactly one of two processes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SecurityWindowRepository } from '../../../../functions/core/security/window-repository.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { ACME, localTable } from '../../../support/unit-table.ts';

const table = localTable();
let windows: SecurityWindowRepository;

const GLOBEX: TenantContext = { ...ACME, tenant: { ...ACME.tenant, id: 'globex' } };

beforeAll(() => {
  windows = new SecurityWindowRepository(table());
});

describe('SecurityWindowRepository', () => {
  it('counts, owes one summary once over, and lets exactly one process claim it', async () => {
    const window = {
      domain: ACME,
      sourceHash: 'abc',
      source: '203.0.113.7',
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:05:00.000Z',
      expiresAtEpoch: 1,
    };
    expect(await windows.count(window)).toBe(1);
    expect(await windows.count(window)).toBe(2);
    await windows.owesSummary(window, 'token-refused');
    expect(await windows.due(ACME, '2026-01-01T00:04:00.000Z', 25)).toEqual([]);
    expect(await windows.due(GLOBEX, '2026-01-01T01:00:00.000Z', 25)).toEqual([]);
    const [key] = await windows.due(ACME, '2026-01-01T01:00:00.000Z', 25);
    expect(key).toBeDefined();
    if (key === undefined) return;
    const claims = await Promise.all([windows.claimSummary(ACME, key), windows.claimSummary(ACME, key)]);
    expect(claims.filter((claim) => claim !== null)).toEqual([
      { count: 2, source: '203.0.113.7', kind: 'token-refused', windowEnd: '2026-01-01T00:05:00.000Z' },
    ]);
    expect(await windows.due(ACME, '2026-01-01T01:00:00.000Z', 25)).toEqual([]);
  });
});
