/**
 * Schemas that fan out, for the evaluation budget's tests: N levels of `$defs`, each evaluating the
 * next twice — an `allOf` of two references to it, or (`viaIf`) an `if` and a `then` of it, where
 * `then` evaluates its `if` again — so a value is evaluated 2^(N+1) times by the last level, `leaf`.
 */
export function fanOut(
  levels: number,
  leaf: Record<string, unknown> = {},
  viaIf = false,
): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  for (let level = 0; level < levels; level++) {
    const next = { $ref: `#/$defs/d${level + 1}` };
    // Built from entries: an object literal with a `then` key reads as a thenable.
    defs[`d${level}`] = viaIf
      ? Object.fromEntries([
          ['if', next],
          ['then', next],
        ])
      : { allOf: [next, next] };
  }
  defs[`d${levels}`] = leaf;
  return defs;
}
