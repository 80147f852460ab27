/**
 * The rules of requesting a run, without I/O: run ids (time-ordered), the input a run may take, the
 * Idempotency-Key, how many approvals a Skill's run needs and what they bind to. The requests
 * themselves (reads, the conditional writes, dispatch) are run-requests.ts (`Executions.request`).
 */
import { randomBytes } from 'node:crypto';
import { canonicalJson } from '../audit/chain.ts';
import { APPROVAL_COUNT, MIN_APPROVALS } from '../catalog/rules.ts';
import type { Skill } from '../catalog/skills.ts';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { ResolvedAsset } from '../executors/registry.ts';
import { sha256 } from '../hashing.ts';
import { overflowingNumbers, stringifyJson } from '../json.ts';

/** Largest run input (serialised JSON). */
export const MAX_INPUT_BYTES = 64 * 1024;
/** An idempotency key is remembered this long. */
export const IDEMPOTENCY_SECONDS = 24 * 3600;

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;
export const EXECUTION_ID_PATTERN = /^ex-[0-9a-z]{10}[0-9a-f]{10}$/;

/** Time-ordered ids: newest-first listings are a reverse key-order query. */
export function newExecutionId(now: Date): string {
  return `ex-${now.getTime().toString(36).padStart(10, '0')}${randomBytes(5).toString('hex')}`;
}

/** Time-ordered run ids make a date range a key range: the smallest id of a given instant. */
export function idAt(instant: Date): string {
  return `ex-${instant.getTime().toString(36).padStart(10, '0')}`;
}

/** What approvals bind to: the exact input, the exact asset version and the Skill definition. */
export function approvalHashOf(inputHash: string, asset: ResolvedAsset, definitionHash: string): string {
  return sha256(canonicalJson({ inputHash, asset, definitionHash }));
}

/** Approvals a run of the Skill needs: its own setting, and at least what its risk requires. */
export function approvalsRequiredOf(skill: Pick<Skill, 'approval' | 'risk'>): number {
  return Math.max(APPROVAL_COUNT[skill.approval], MIN_APPROVALS[skill.risk]);
}

export function assertIdempotencyKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError('Invalid Idempotency-Key', [
      { path: 'Idempotency-Key', message: '8-128 characters: letters, digits, . _ : -' },
    ]);
  }
}

/** A run's input as JSON, or the reason it may not be one: an object, within size and double range. */
export function runInputJson(input: unknown): string {
  // A run's input is the `inputs` dict of `main(inputs, ctx)`: always a JSON object.
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError('The run input must be a JSON object', [
      { path: 'input', message: 'must be an object' },
    ]);
  }
  const inputJson = stringifyJson(input);
  if (Buffer.byteLength(inputJson, 'utf8') > MAX_INPUT_BYTES)
    throw new PayloadTooLargeError('Run input', MAX_INPUT_BYTES);
  const overflowing = overflowingNumbers(input, 'input');
  if (overflowing.length > 0) {
    // Kept exactly it could be, but no runtime could receive it: Python reads it as inf.
    throw new ValidationError(
      'The input has numbers beyond the range of a double',
      overflowing.map((path) => ({
        path,
        message: 'must be within ±1.7976931348623157e308',
      })),
    );
  }
  return inputJson;
}
