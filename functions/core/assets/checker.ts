/**
 * The syntax check of an uploaded script, done by the Python runtime itself (the Lambda adapter is
 * functions/clients/script-checker.ts; locally the platform invokes the worker in-process).
 * Nothing is executed: the runtime only compiles the source and looks for `def main`.
 */
import { ServiceUnavailableError, ValidationError } from '../errors.ts';

export interface CheckFailure {
  readonly message: string;
  readonly line: number | null;
  readonly offset: number | null;
}

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly error: CheckFailure };

export interface ScriptChecker {
  /**
   * `tenantId` is whose source it is: the Python worker runs in Lambda tenant isolation mode, so a
   * check runs in an execution environment of that tenant (`public` for platform templates).
   */
  check(source: string, tenantId: string): Promise<CheckResult>;
}

/** The tenancy id of checks made for the public domain (platform templates). */
export const PUBLIC_TENANCY_ID = 'public';

/** The runtime could not be asked (the check did not happen, so the upload must not either). */
export class ScriptCheckUnavailableError extends ServiceUnavailableError {
  override readonly code = 'script-check-unavailable';
}

/** A 1-based position the runtime reported, or nothing when it gave none (or nonsense). */
function position(value: number | null): number | undefined {
  return value !== null && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/**
 * Throws a ValidationError carrying the line and column of a failed check: in the text, and as the
 * issue's `line` and `column`, so an editor can mark the line.
 */
export async function requireValidScript(
  checker: ScriptChecker,
  source: string,
  tenantId: string,
): Promise<void> {
  const result = await checker.check(source, tenantId);
  if (!result.ok) {
    const line = position(result.error.line);
    const column = line === undefined ? undefined : position(result.error.offset);
    const where =
      line === undefined ? '' : ` (line ${line}${column === undefined ? '' : `, column ${column}`})`;
    throw new ValidationError(`The script does not compile${where}: ${result.error.message}`, [
      {
        path: 'source',
        message: `${result.error.message}${where}`,
        ...(line === undefined ? {} : { line }),
        ...(column === undefined ? {} : { column }),
      },
    ]);
  }
}
