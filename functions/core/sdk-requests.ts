/**
 * Every request the platform's AWS SDK clients send, observable by the process that built them:
 * each client is built with `observed(...)`, which adds one middleware to its stack. The middleware
 * sits in the `finalizeRequest` step below the SDK's retry middleware, so every attempt (a retry
 * too) is seen once, with the operation's name and the table, queue or function it names.
 *
 * Nothing observes in a deployed function (the list of observers is empty: one length check per
 * request). The embedded platform exposes `observeRequests` so a test can count what one run costs
 * (test/integration/round-trips.test.ts).
 */

export interface SdkRequest {
  /** The client's service, as the SDK names it: `DynamoDBClient`, `SQSClient`, `LambdaClient`. */
  readonly client: string;
  /** The wire operation: `GetItem`, `BatchGetItem`, `SendMessage`, `Invoke`… */
  readonly operation: string;
  /** What it names: a table, a queue (its name), a function; `''` when nothing is named. */
  readonly resource: string;
}

export type SdkRequestObserver = (request: SdkRequest) => void;

const observers = new Set<SdkRequestObserver>();

/** Calls `observer` for every request of every observed client of this process until the returned function is called. */
export function observeSdkRequests(observer: SdkRequestObserver): () => void {
  observers.add(observer);
  return () => {
    observers.delete(observer);
  };
}

const MIDDLEWARE = { step: 'finalizeRequest', priority: 'low', name: 'execfabricObserveRequests' } as const;

/** The part of an SDK client's middleware stack this module uses. */
interface ObservableStack {
  add(
    middleware: (
      next: (args: { readonly input: object }) => Promise<unknown>,
      context: { readonly clientName?: string; readonly commandName?: string },
    ) => (args: { readonly input: object }) => Promise<unknown>,
    options: typeof MIDDLEWARE,
  ): void;
  identify(): string[];
}

/** The table, queue or function a request names (`RequestItems` of a batch: its tables, sorted). */
function resourceOf(input: unknown): string {
  if (input === null || typeof input !== 'object') return '';
  const fields = input as Record<string, unknown>;
  if (typeof fields.TableName === 'string') return fields.TableName;
  if (typeof fields.QueueUrl === 'string') return fields.QueueUrl.slice(fields.QueueUrl.lastIndexOf('/') + 1);
  if (typeof fields.FunctionName === 'string') return fields.FunctionName;
  if (fields.RequestItems !== null && typeof fields.RequestItems === 'object')
    return Object.keys(fields.RequestItems).sort().join(',');
  return '';
}

/** Adds the observing middleware to a client's stack (once) and returns the client. */
export function observed<C extends { readonly middlewareStack: object }>(client: C): C {
  // Every SDK v3 client's stack has these two (`add` is overloaded per step; this is its finalize form).
  const stack = client.middlewareStack as ObservableStack;
  if (stack.identify().some((entry) => entry.startsWith(`${MIDDLEWARE.name} `))) return client;
  stack.add(
    (next, context) => async (args) => {
      if (observers.size > 0) {
        const request: SdkRequest = {
          client: String(context.clientName ?? ''),
          operation: String(context.commandName ?? '').replace(/Command$/, ''),
          resource: resourceOf(args.input),
        };
        for (const observer of observers) observer(request);
      }
      return next(args);
    },
    MIDDLEWARE,
  );
  return client;
}
