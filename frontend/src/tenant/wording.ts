/**
 * Sentences the tenant front builds from numbers and validator output, kept apart from the pages so
 * that they read right for every count and every schema (test/unit/frontend/wording.test.ts).
 */

/** The members of react-jsonschema-form's validation error (`RJSFValidationError`) read here. */
export interface FormError {
  readonly name?: string;
  readonly message?: string;
  readonly stack: string;
  /** The field's label, when the schema or uiSchema gives it one. */
  readonly title?: string;
  readonly params?: unknown;
}

/** `1 approval`, `2 approvals`. */
export function approvalsInWords(count: number): string {
  return `${count} ${count === 1 ? 'approval' : 'approvals'}`;
}

/**
 * Why `self` may not decide on a waiting run (the API's `canDecide: false`), the reason that applies:
 * their own run, or their vote already given; else the permission it takes.
 */
export function cannotDecideReason(
  run: {
    readonly requestedBy: string;
    readonly approvals?: readonly { approver: string; decision: string }[];
  },
  self: string | undefined,
): string {
  if (self === undefined) return 'You cannot decide on this run.';
  if (run.requestedBy === self)
    return 'You cannot decide on this run: you requested it, and a requester never decides their own run.';
  const vote = run.approvals?.find((entry) => entry.approver === self);
  if (vote !== undefined)
    return `You cannot decide on this run: you have already ${vote.decision === 'reject' ? 'rejected' : 'approved'} it.`;
  return 'You cannot decide on this run: deciding takes the approval:decide permission.';
}

/** The approval hint of a risk level: what its Skills need at least, in a sentence that reads right for 0. */
export function minimumApprovalsHint(risk: string, minimum: number): string {
  if (minimum <= 0) return `A ${risk}-risk Skill may run without approval.`;
  const who = minimum === 1 ? 'someone other than the requester' : 'people other than the requester';
  return `A ${risk}-risk Skill needs at least ${approvalsInWords(minimum)} by ${who}.`;
}

/**
 * The form's validation errors in words: the validator pastes a field's label into its own wording
 * ("must have required property 'Text to shout'"); a person reads "Text to shout is required".
 */
export function readableFormErrors<E extends FormError>(errors: E[]): E[] {
  return errors.map((error) => {
    if (error.name !== 'required') return error;
    const missing = (error.params as { missingProperty?: unknown } | undefined)?.missingProperty;
    const label =
      error.title !== undefined && error.title !== '' ? error.title : String(missing ?? 'This field');
    const message = `${label} is required`;
    return { ...error, message, stack: message };
  });
}
