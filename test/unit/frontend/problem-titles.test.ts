/**
 * The fronts' headings for the API's problems (frontend/src/shared/problem-titles.ts `humanTitle`): a plain
 * heading per problem type, and by status where the type has none. A taken handle at sign-up was
 * headed "This conflicts with the current state", above the sentence that said what happened.
 */
import { describe, expect, it } from 'vitest';
import { humanTitle, unsaidFields } from '../../../frontend/src/shared/problem-titles.ts';

const problem = (slug: string, status: number) => ({
  type: `urn:execfabric:problem:${slug}`,
  title: 'Conflict',
  status,
});

describe('problem headings', () => {
  it('says what a known problem type is, in words', () => {
    expect(humanTitle(problem('handle-unavailable', 409))).toBe('That handle is taken');
    expect(humanTitle(problem('wrong-password', 403))).toBe('The current password is not right');
    // A plan's limit is a 403 too, but no permission is missing: it was headed as one.
    expect(humanTitle(problem('plan-limit', 403))).toBe('Your plan’s limit is reached');
    expect(humanTitle(problem('forbidden', 403))).toBe('You are not allowed to do this');
  });

  it('falls back on the status for a type it does not know', () => {
    expect(humanTitle(problem('order-state', 409))).toBe('This conflicts with the current state');
    expect(humanTitle(problem('something-new', 422))).toBe('Some values need correcting');
    // A type is the server's string: one named like an object's property is a type like any other.
    expect(humanTitle(problem('constructor', 409))).toBe('This conflicts with the current state');
  });
});

describe('field errors under a detail', () => {
  const syntax = { path: 'source', message: "SyntaxError: expected ':' (line 1, column 22)" };

  it('leaves out a field error the detail already says, its place included', () => {
    const detail = "The script does not compile (line 1, column 22): SyntaxError: expected ':'";
    expect(unsaidFields(detail, [syntax])).toEqual([]);
    expect(unsaidFields(`x: ${syntax.message}`, [syntax])).toEqual([]);
  });

  it('keeps one the detail does not say, or says at another place', () => {
    expect(unsaidFields('Invalid run filter', [{ path: 'status', message: 'one of a, b' }])).toHaveLength(1);
    const elsewhere = "The script does not compile (line 3, column 1): SyntaxError: expected ':'";
    expect(unsaidFields(elsewhere, [syntax])).toEqual([syntax]);
    expect(unsaidFields('(line 1, column 22)', [syntax])).toEqual([syntax]);
  });
});
