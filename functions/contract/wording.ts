/**
 * Counted nouns in the sentences the platform writes (API problems, notices, ledger lines) and the
 * fronts show: `1 approval`, `2 approvals` — never `2 approval(s)`.
 */

/** `count` and the noun, singular for exactly 1: `counted(2, 'approval')` → `2 approvals`. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
