/**
 * The fronts' headings for the API's problems (frontend/src/shared/problem-titles.ts `humanTitle`): a plain
 * heading per problem type, and by status where the type has none. A taken handle at sign-up was
 * headed "This conflicts with the current state", above the sentence that said what happened.
 */
import { describe, expect, it } from 'vitest';
import { humanTitle } from '../../../frontend/src/shared/problem-titles.ts';

const problem = (slug: string, status: number) => ({
  type: `urn:execfabric:problem:${slug}`,
  title: 'Conflict',
  status,
});

describe('problem headings', () => {
  it('says what a known problem type is, in words', () => {
    expect(humanTitle(problem('handle-unavailable', 409))).toBe('That handle is taken');
    expect(humanTitle(problem('wrong-password', 403))).toBe('The current password is not right');
  });

  it('falls back on the status for a type it does not know', () => {
    expect(humanTitle(problem('order-state', 409))).toBe('This conflicts with the current state');
    expect(humanTitle(problem('something-new', 422))).toBe('Some values need correcting');
    // A type is the server's string: one named like an object's property is a type like any other.
    expect(humanTitle(problem('constructor', 409))).toBe('This conflicts with the current state');
  });
});
