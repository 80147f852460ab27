/**
 * What approvals bind to: every field that changes what a run does or may reach changes the
 * definition hash (egress included, so a Skill cannot gain an HTTP resource under an approval given
 * without it); labels do not; the order of keys does not.
 */
import { describe, expect, it } from 'vitest';
import { definitionHash, type SkillDefinition } from '../../../../../functions/core/catalog/skills.ts';

const base: SkillDefinition = {
  name: 'Pay',
  description: 'pays',
  inputSchema: { type: 'object' },
  outputSchema: {},
  risk: 'high',
  approval: 'one',
  visibility: { roles: [] },
  tags: ['finance'],
  asset: { kind: 'python-script', id: 'scr-000000000001', version: 'active' },
  limits: { timeoutSeconds: 30, memoryMb: 256 },
};

describe('the definition hash', () => {
  it('changes with what a run may reach: egress, collections, parameters', () => {
    const hashes = [
      base,
      { ...base, egress: ['res-000000000001'] },
      { ...base, egress: ['res-000000000002'] },
      { ...base, egress: ['res-000000000001', 'res-000000000002'] },
      { ...base, collections: ['ledger'] },
      { ...base, parameters: ['greeting'] },
    ].map(definitionHash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('changes with the asset, the limits and the approval rule; not with labels or key order', () => {
    const changed = [
      { ...base, asset: { kind: 'python-script', id: 'scr-000000000001', version: 2 } },
      { ...base, limits: { timeoutSeconds: 31, memoryMb: 256 } },
      { ...base, approval: 'two' as const },
    ].map(definitionHash);
    expect(changed).not.toContain(definitionHash(base));
    expect(definitionHash({ ...base, tags: ['other'] })).toBe(definitionHash(base));
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as SkillDefinition;
    expect(definitionHash(reordered)).toBe(definitionHash(base));
  });
});
