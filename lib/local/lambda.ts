/**
 * Invokes functions the way Lambda would: a Node handler is imported once (its module scope runs
 * once, as in a warm container) and called with an event and a Context; each call is bounded by the
 * function's timeout from the topology.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
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

let instances = 0;

/**
 * Imports a Node handler. Each platform gets its own module instance of the entry (as a new Lambda
 * container would), so a handler's module-scope configuration is read from this platform's
 * environment even when one process starts several platforms (tests, restarts).
 */
export async function loadNodeFunction(
  root: string,
  spec: FunctionSpec,
  instance = ++instances,
): Promise<LocalFunction> {
  const url = `${pathToFileURL(resolve(root, spec.entry)).href}?instance=${instance}`;
  const module = (await import(url)) as Record<string, unknown>;
  const handler = module[spec.handler];
  if (typeof handler !== 'function') throw new Error(`${spec.entry} does not export ${spec.handler}`);
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
