/**
 * Invokes functions the way Lambda would: a Node handler is configured once (as a container's cold
 * start does) and called with an event and a Context; each call is bounded by the function's timeout
 * from the topology.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { Environment } from '../../functions/core/env.ts';
import type { FunctionSpec } from '../topology.ts';

export interface InvokeOptions {
  /** The invocation's tenant (Lambda tenant isolation mode). */
  readonly tenantId?: string;
}

export type LocalInvoke = (event: unknown, options?: InvokeOptions) => Promise<unknown>;

/** A tenant-isolated function was invoked without a tenant id (Lambda refuses the same). */
export class TenantIdRequiredError extends Error {
  constructor(name: string) {
    super(`${name} runs in tenant isolation mode: an invocation must name its tenant`);
    this.name = 'TenantIdRequiredError';
  }
}

export interface LocalFunction {
  readonly spec: FunctionSpec;
  readonly invoke: LocalInvoke;
  /** Warm instances ("containers") held now, where the loader keeps several. */
  instances?(): number;
  stop(): Promise<void>;
}

export class LocalTimeoutError extends Error {
  constructor(name: string, seconds: number) {
    super(`Task timed out after ${seconds} seconds (${name})`);
    this.name = 'LocalTimeoutError';
  }
}

function lambdaContext(spec: FunctionSpec, deadline: number): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: spec.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${spec.name}`,
    memoryLimitInMB: String(spec.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${spec.name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The configuration entry of a Node function: `handler.ts` beside its Lambda entry, exporting
 * `createHandler(env)`. The Lambda entry (`index.ts`, what CDK bundles) calls it with `process.env`;
 * the local platform calls it with its own environment record.
 */
export function configurationEntry(spec: FunctionSpec): string {
  return join(dirname(spec.entry), 'handler.ts');
}

type HandlerFactory = (env: Environment) => unknown;

/**
 * Configures a Node handler from `env`, as a new Lambda container would at cold start. Nothing is
 * read from `process.env`: each platform passes its own record, so several platforms in one process
 * (tests, restarts) each keep their own configuration, and share the modules' code only.
 */
export async function loadNodeFunction(
  root: string,
  spec: FunctionSpec,
  env: Environment,
): Promise<LocalFunction> {
  const entry = configurationEntry(spec);
  const module = (await import(pathToFileURL(resolve(root, entry)).href)) as Record<string, unknown>;
  const factory = module.createHandler;
  if (typeof factory !== 'function') throw new Error(`${entry} does not export createHandler`);
  const handler: unknown = await (factory as HandlerFactory)(env);
  if (typeof handler !== 'function') throw new Error(`${entry}: createHandler did not return a handler`);
  const call = handler as (event: unknown, context: Context) => Promise<unknown>;
  return {
    spec,
    async invoke(event) {
      const deadline = Date.now() + spec.timeoutSeconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LocalTimeoutError(spec.name, spec.timeoutSeconds)),
          deadline - Date.now(),
        );
      });
      try {
        return await Promise.race([call(event, lambdaContext(spec, deadline)), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => undefined,
  };
}
