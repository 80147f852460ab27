/**
 * The APIs' syntax check of uploaded scripts, by the Python worker (lambda-script-checker.ts). The
 * check, the Lambda client and the runtime's SDK module behind it are loaded by the first check,
 * not at a cold start: a script upload is rare, and most instances of the APIs never serve one, while
 * `@aws-sdk/client-lambda` takes ~10 ms to load (bench/RESULTS.md, "The Lambda client loaded by the
 * first script check").
 */
import { type ScriptChecker, ScriptCheckUnavailableError } from '../core/assets/checker.ts';
import { type Environment, functionNameEnv, optionalEnv } from '../core/env.ts';

/** The check, where this function may invoke the worker (its name is in the environment); else none. */
export function scriptCheckerFromEnv(env: Environment): ScriptChecker | undefined {
  const worker = optionalEnv(functionNameEnv('script-worker'), env);
  if (worker === undefined) return undefined;
  let loaded: Promise<ScriptChecker> | undefined;
  const load = async (): Promise<ScriptChecker> => {
    const [{ LambdaScriptChecker }, { lambdaClientFromEnv }] = await Promise.all([
      import('./lambda-script-checker.ts'),
      import('./lambda.ts'),
    ]);
    return new LambdaScriptChecker(lambdaClientFromEnv(env), worker);
  };
  return {
    async check(source, tenantId) {
      loaded ??= load().catch((cause: unknown) => {
        // Not kept: the next check tries again.
        loaded = undefined;
        throw new ScriptCheckUnavailableError('The Python runtime’s client could not be loaded', { cause });
      });
      return (await loaded).check(source, tenantId);
    },
  };
}
