/**
 * The tenant front's sentences (frontend/src/tenant/wording.ts): counts in words that read right
 * for 0, 1 and more, and the run form's "required" errors.
 */
import { describe, expect, it } from 'vitest';
import {
  approvalsInWords,
  cannotDecideReason,
  minimumApprovalsHint,
  readableFormErrors,
} from '../../../frontend/src/tenant/wording.ts';

describe('approvals in words', () => {
  it('says singular and plural, and a sentence of its own for none', () => {
    expect(approvalsInWords(1)).toBe('1 approval');
    expect(approvalsInWords(2)).toBe('2 approvals');
    expect(minimumApprovalsHint('low', 0)).toBe('A low-risk Skill may run without approval.');
    expect(minimumApprovalsHint('medium', 1)).toBe(
      'A medium-risk Skill needs at least 1 approval by someone other than the requester.',
    );
    expect(minimumApprovalsHint('critical', 2)).toBe(
      'A critical-risk Skill needs at least 2 approvals by people other than the requester.',
    );
  });
});

describe('the run form’s errors', () => {
  // As react-jsonschema-form 6 gives them (validator-ajv8's processRawValidationErrors): the label
  // pasted into ajv's wording, the label as `title`, the missing member's name in `params`.
  const labelled = {
    name: 'required',
    property: '.text',
    message: "must have required property 'Text to shout'",
    stack: "must have required property 'Text to shout'",
    title: 'Text to shout',
    params: { missingProperty: 'text' },
    schemaPath: '#/required',
  };
  const unlabelled = {
    ...labelled,
    property: '.times',
    message: "must have required property 'times'",
    stack: "must have required property 'times'",
    title: '',
    params: { missingProperty: 'times' },
  };
  const other = {
    name: 'type',
    property: '.times',
    message: 'must be integer',
    stack: '.times must be integer',
  };

  it('names a missing field by its label (or its name) in a sentence, not in the validator’s wording', () => {
    const errors = readableFormErrors([labelled, unlabelled]);
    expect(errors.map((error) => [error.message, error.stack])).toEqual([
      ['Text to shout is required', 'Text to shout is required'],
      ['times is required', 'times is required'],
    ]);
  });

  it('leaves other errors as the validator words them', () => {
    expect(readableFormErrors([other])).toEqual([other]);
  });
});

describe('why a user cannot decide on a run', () => {
  const run = {
    requestedBy: 'bob',
    approvals: [
      { approver: 'alice', decision: 'approve' },
      { approver: 'claire', decision: 'reject' },
    ],
  };

  it('names the reason that applies', () => {
    expect(cannotDecideReason(run, 'bob')).toBe(
      'You cannot decide on this run: you requested it, and a requester never decides their own run.',
    );
    expect(cannotDecideReason(run, 'alice')).toBe(
      'You cannot decide on this run: you have already approved it.',
    );
    expect(cannotDecideReason(run, 'claire')).toBe(
      'You cannot decide on this run: you have already rejected it.',
    );
    expect(cannotDecideReason(run, 'dave')).toBe(
      'You cannot decide on this run: deciding takes the approval:decide permission.',
    );
    expect(cannotDecideReason(run, undefined)).toBe('You cannot decide on this run.');
  });
});
