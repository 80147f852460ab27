/**
 * A bundled function invoked as Lambda runs it: each invocation in a fresh Node process of its own
 * (one request per instance), the handler's module imported from the asset, the function's
 * configuration as its environment. For the tests that drive a bundled API end to end.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface InstanceAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly cookies?: readonly string[];
}

export class FreshInstances {
  readonly #running = new Set<ChildProcess>();
  readonly #handlerFile: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #cwd: string;
  readonly #functionName: string;

  /**
   * @param handlerFile the asset's `index.mjs`
   * @param env the function's environment (lambdaEnvironment, pointed at local services)
   * @param cwd where the processes start (a scratch folder)
   * @param functionName the context's function name
   */
  constructor(handlerFile: string, env: NodeJS.ProcessEnv, cwd: string, functionName: string) {
    this.#handlerFile = handlerFile;
    this.#env = env;
    this.#cwd = cwd;
    this.#functionName = functionName;
  }

  /** One invocation in a fresh instance: the process, and its answer. */
  invoke(event: { readonly requestContext: { readonly requestId: string } }): {
    child: ChildProcess;
    answer: Promise<InstanceAnswer>;
  } {
    const script = [
      `const { handler } = await import(${JSON.stringify(this.#handlerFile)});`,
      'const event = JSON.parse(process.argv[1]);',
      `const answer = await handler(event, { awsRequestId: event.requestContext.requestId, getRemainingTimeInMillis: () => 29000, functionName: ${JSON.stringify(this.#functionName)} });`,
      'console.log(JSON.stringify(answer));',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(event)], {
      cwd: this.#cwd,
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#running.add(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const answer = new Promise<InstanceAnswer>((resolveAnswer, reject) => {
      child.on('exit', (code) => {
        this.#running.delete(child);
        const last = out.trim().split('\n').at(-1) ?? '';
        if (code === 0 && last.startsWith('{')) resolveAnswer(JSON.parse(last) as InstanceAnswer);
        else reject(new Error(`instance exited ${code}: ${err.slice(-2000)}`));
      });
    });
    return { child, answer };
  }

  /** Every instance still running, killed. */
  killAll(): void {
    for (const child of this.#running) child.kill('SIGKILL');
  }
}
