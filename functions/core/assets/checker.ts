/**
 * The syntax check of an uploaded script, done by the Python runtime itself: the tenant API is a
 * Node function, so it invokes the Python worker synchronously with `{ action: 'check', source }`.
 * Nothing is executed: the runtime only compiles the source and looks for `def main`.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
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

export class LambdaScriptChecker implements ScriptChecker {
  readonly #client: LambdaClient;
  readonly #functionName: string;

  constructor(client: LambdaClient, functionName: string) {
    this.#client = client;
    this.#functionName = functionName;
  }

  async check(source: string, tenantId: string): Promise<CheckResult> {
    let response: InvokeCommandOutput;
    try {
      response = await this.#client.send(
        new InvokeCommand({
          FunctionName: this.#functionName,
          InvocationType: 'RequestResponse',
          TenantId: tenantId,
          Payload: Buffer.from(JSON.stringify({ action: 'check', source })),
        }),
      );
    } catch (cause) {
      throw new ScriptCheckUnavailableError('The Python runtime could not check the script', { cause });
    }
    const text = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
    if (response.FunctionError !== undefined) {
      throw new ScriptCheckUnavailableError(
        `The Python runtime failed to check the script: ${text.slice(0, 200)}`,
      );
    }
    const result = JSON.parse(text) as CheckResult;
    if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean') {
      throw new ScriptCheckUnavailableError('The Python runtime answered the check with an unexpected shape');
    }
    return result;
  }
}

/** Throws a ValidationError carrying the line and column of a failed check. */
export async function requireValidScript(
  checker: ScriptChecker,
  source: string,
  tenantId: string,
): Promise<void> {
  const result = await checker.check(source, tenantId);
  if (!result.ok) {
    const where =
      result.error.line === null
        ? ''
        : ` (line ${result.error.line}${result.error.offset === null ? '' : `, column ${result.error.offset}`})`;
    throw new ValidationError(`The script does not compile${where}: ${result.error.message}`, [
      { path: 'source', message: `${result.error.message}${where}` },
    ]);
  }
}
