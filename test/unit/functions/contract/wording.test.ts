/** Counted nouns read right for every count: no "(s)" in a sentence a person reads. */
import { describe, expect, it } from 'vitest';
import { counted } from '../../../../functions/contract/wording.ts';

describe('counted', () => {
  it('is singular for exactly one, plural otherwise', () => {
    expect(counted(1, 'approval')).toBe('1 approval');
    expect(counted(2, 'approval')).toBe('2 approvals');
    expect(counted(0, 'tenant')).toBe('0 tenants');
  });

  it('takes an irregular plural', () => {
    expect(counted(1, 'entry', 'entries')).toBe('1 entry');
    expect(counted(3, 'entry', 'entries')).toBe('3 entries');
  });
});
