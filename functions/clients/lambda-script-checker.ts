/**
 * The syntax check of an uploaded script, done by the Python runtime itself: the tenant API is a
 * Node function, so it invokes the Python worker synchronously with `{ action: 'check', source }`, in
 * an execution environment of the script's tenant. Nothing is executed: the runtime only compiles the
 * source and looks for `def main`. Loaded by the first check (script-checker.ts), with the Lambda
 * client it imports.
 */
import type { InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { type CheckResult, type ScriptChecker, ScriptCheckUnavailableError } from '../core/assets/checker.ts';
import { invokeInTenant } from './lambda.ts';

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
      response = await invokeInTenant(this.#client, {
        functionName: this.#functionName,
        tenantId,
        payload: Buffer.from(JSON.stringify({ action: 'check', source })),
      });
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
