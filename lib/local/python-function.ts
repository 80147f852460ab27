/**
 * Runs a Python function of the topology (the script worker) on the local platform. Each "container"
 * is a long-lived host process (`python -I -S lib/local/python_host.py …`) that imports the handler
 * module and serves one invocation at a time over a JSON-lines pipe, like a warm Lambda container;
 * concurrent invocations get more hosts, up to a small cap, and queue beyond it. A tenant-isolated
 * function's host serves one tenant for its whole life, as a Lambda execution environment in tenant
 * isolation mode does. The worker's ports call back over the same pipe and are performed here with
 * the platform's AWS SDK clients, so a host holds no AWS credentials (nor the platform's secrets but
 * the message keys, which it receives on the pipe). Each host starts its own zygote, with a clean
 * environment, for the jobs.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { isSlotKey } from '../../functions/core/executions/slots.ts';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import type { FunctionSpec } from '../topology.ts';
import { type LocalFunction, LocalTimeoutError, TenantIdRequiredError } from './lambda.ts';
import type { LocalServices } from './services.ts';

export const PYTHON_LAYER_DIR = 'layers/python-runtime/python';
export const PYTHON_HOST_SCRIPT = 'lib/local/python_host.py';
/** Hosts (local "containers") per function; each holds a host, a zygote and two idle job processes. */
export const MAX_LOCAL_HOSTS = 4;
/** An idle host is retired after this long, unless it is the function's last one (kept warm). */
export const IDLE_HOST_RETIRE_MS = 60_000;
const MIN_PYTHON: readonly [number, number] = [3, 11];
const STOP_GRACE_MS = 5_000;
const START_TIMEOUT_MS = 30_000;
/**
 * Variables a host never receives: it performs no AWS call itself (no credentials) and has no use for
 * the platform's secrets (token signing, origin proof).
 */
const WITHHELD_VARIABLE =
  /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$|SECRET|TOKEN|PASSWORD|_KEY$/i;

export interface PythonFunctionOptions {
  readonly root: string;
  readonly spec: FunctionSpec;
  readonly env: Record<string, string>;
  readonly ports: PythonPorts;
  readonly configuration: HostConfiguration;
  readonly log: (line: string) => void;
  /** How long a host may sit idle before it is retired (its zygote and job processes with it). @default IDLE_HOST_RETIRE_MS */
  readonly idleRetireMs?: number;
}

export class PythonHostError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PythonHostError';
  }
}

/** An exception the Python handler raised, surfaced like a Lambda function error. */
export class PythonFunctionError extends Error {
  readonly pythonStack: string;
  constructor(name: string, message: string, stack: string) {
    super(`${name}: ${message}`);
    this.name = 'PythonFunctionError';
    this.pythonStack = stack;
  }
}

let interpreter: Promise<string> | undefined;

/**
 * The real interpreter behind `python3` on PATH, resolved once per Node process: the command may be a
 * slow shim (pyenv), and every host and zygote is then started from the interpreter itself.
 */
export function resolvePythonInterpreter(command = 'python3'): Promise<string> {
  interpreter ??= new Promise<string>((resolvePromise, reject) => {
    execFile(
      command,
      ['-c', 'import sys; print(sys.executable); print(sys.version_info[0], sys.version_info[1])'],
      { timeout: 30_000 },
      (error, stdout) => {
        if (error) {
          reject(new PythonHostError(`cannot run ${command}: ${error.message}`, { cause: error }));
          return;
        }
        const [executable = '', version = ''] = stdout.trim().split('\n');
        const [major = 0, minor = 0] = version.split(' ').map(Number);
        if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
          reject(
            new PythonHostError(`${executable} is Python ${major}.${minor}; the worker needs 3.11 or later`),
          );
          return;
        }
        resolvePromise(executable);
      },
    );
  });
  return interpreter;
}

type HostMessage =
  | { type: 'ready' }
  | {
      type: 'call';
      id: number;
      callId: number;
      call: 'claim';
      jobId: string;
      expiresAtEpoch: number;
      now: number;
    }
  | { type: 'call'; id: number; callId: number; call: 'lastSignOfLife'; jobId: string }
  | { type: 'call'; id: number; callId: number; call: 'heartbeat'; jobId: string; now: number }
  | { type: 'call'; id: number; callId: number; call: 'send'; body: string; mac: string }
  | { type: 'call'; id: number; callId: number; call: 'relay'; target?: string; payload: unknown }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: { name: string; message: string; stack: string } };

interface Pending {
  readonly id: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What a host's calls are performed with: the services and the functions it may invoke. */
export interface PythonPorts {
  /** Claims a job at `now` (epoch seconds); false when it was claimed already. */
  claim(jobId: string, expiresAtEpoch: number, now: number): Promise<boolean>;
  /** When the attempt holding the job last showed it was alive; null for a cancel's claim or none. */
  lastSignOfLife(jobId: string): Promise<number | null>;
  /** Marks the claimed job alive at `now`; true once someone asked to stop it (a cancel). */
  heartbeat(jobId: string, now: number): Promise<boolean>;
  send(body: string, mac: string): Promise<void>;
  /** Invokes `target` (a function the worker may invoke) with a script's relayed call. */
  relay(payload: unknown, target: string): Promise<unknown>;
}

/** What each host is told first: this start's message keys and the sandbox's options. */
export interface HostConfiguration {
  readonly keys: { readonly jobs: string; readonly reports: string };
  readonly sandbox: Readonly<Record<string, unknown>>;
}

/** A host names a job's claim only: never a key of the slots or the wait list (its role in AWS cannot either). */
function claimKey(jobId: string): string {
  if (isSlotKey(jobId)) throw new PythonHostError(`${jobId.slice(0, 64)} is not a job's claim`);
  return jobId;
}

export function servicePorts(
  services: LocalServices,
  relay: (payload: unknown, target: string) => Promise<unknown>,
): PythonPorts {
  return {
    async claim(jobId, expiresAtEpoch, now) {
      claimKey(jobId);
      try {
        await services.dynamodb.send(
          new PutItemCommand({
            TableName: services.claimsTableName,
            Item: {
              jobId: { S: jobId },
              expiresAtEpoch: { N: String(expiresAtEpoch) },
              aliveAt: { N: now.toFixed(3) },
            },
            ConditionExpression: 'attribute_not_exists(jobId)',
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async lastSignOfLife(jobId) {
      claimKey(jobId);
      const answer = await services.dynamodb.send(
        new GetItemCommand({
          TableName: services.claimsTableName,
          Key: { jobId: { S: jobId } },
          ProjectionExpression: 'aliveAt',
          ConsistentRead: true,
        }),
      );
      const value = answer.Item?.aliveAt?.N;
      return value === undefined ? null : Number(value);
    },
    async heartbeat(jobId, now) {
      claimKey(jobId);
      const answer = await services.dynamodb.send(
        new UpdateItemCommand({
          TableName: services.claimsTableName,
          Key: { jobId: { S: jobId } },
          UpdateExpression: 'SET aliveAt = :now',
          ConditionExpression: 'attribute_exists(jobId)',
          ExpressionAttributeValues: { ':now': { N: now.toFixed(3) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes?.stopRequested?.BOOL === true;
    },
    async send(body, mac) {
      await services.sqs.send(
        new SendMessageCommand({
          QueueUrl: services.queues['execution-results'].url,
          MessageBody: body,
          MessageAttributes: { [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: mac } },
        }),
      );
    },
    relay,
  };
}

/** One host process: serves one invocation at a time, for one tenant (or none) for its whole life. */
class PythonHost {
  private pending: Pending | undefined;
  private nextId = 1;
  private exited = false;
  private readonly ready: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly ports: PythonPorts;
  private readonly log: (line: string) => void;
  readonly tenant: string | null;

  constructor(
    child: ChildProcessWithoutNullStreams,
    ports: PythonPorts,
    configuration: HostConfiguration,
    tenant: string | null,
    log: (line: string) => void,
  ) {
    this.child = child;
    this.ports = ports;
    this.log = log;
    this.tenant = tenant;
    let markReady: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolvePromise, reject) => {
      markReady = resolvePromise;
      failStart = reject;
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: HostMessage;
      try {
        message = JSON.parse(line) as HostMessage;
      } catch {
        // Only its size: an unreadable line may be a call that carries a run's sealed grant, and up
        // to a script's whole call (2 MiB).
        this.log(`[python host] unreadable output: a line of ${line.length} characters that is not JSON`);
        return;
      }
      if (message.type === 'ready') markReady();
      else this.onMessage(message);
    });
    createInterface({ input: child.stderr }).on('line', (line) => this.log(line));
    child.on('exit', (code, signal) => {
      this.exited = true;
      const error = new PythonHostError(`the Python host exited (code ${code}, signal ${signal})`);
      failStart(error);
      this.pending?.reject(error);
      this.pending = undefined;
    });
    child.on('error', (error) => failStart(error));
    child.stdin.on('error', () => undefined); // a host that died mid-write is reported by 'exit'
    this.write({ type: 'configure', keys: configuration.keys, sandbox: configuration.sandbox });
  }

  get alive(): boolean {
    return !this.exited;
  }

  started(): Promise<void> {
    return this.ready;
  }

  private write(message: unknown): void {
    if (!this.exited) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private perform(message: Extract<HostMessage, { type: 'call' }>): Promise<unknown> {
    switch (message.call) {
      case 'claim':
        return this.ports.claim(message.jobId, message.expiresAtEpoch, message.now);
      case 'lastSignOfLife':
        return this.ports.lastSignOfLife(message.jobId);
      case 'heartbeat':
        return this.ports.heartbeat(message.jobId, message.now);
      case 'send':
        return this.ports.send(message.body, message.mac).then(() => null);
      case 'relay':
        return this.ports.relay(message.payload, message.target ?? 'http-executor');
    }
  }

  private onMessage(message: Exclude<HostMessage, { type: 'ready' }>): void {
    if (message.type === 'call') {
      // A call may outlive its invocation (a relay still running when its job timed out): it is
      // answered all the same, by its call id.
      this.perform(message).then(
        (value) => this.write({ type: 'reply', callId: message.callId, ok: true, value }),
        (error: unknown) =>
          this.write({
            type: 'reply',
            callId: message.callId,
            ok: false,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
      );
      return;
    }
    const pending = this.pending;
    if (pending === undefined || message.id !== pending.id) {
      this.log(`[python host] message for no current invocation: ${JSON.stringify(message).slice(0, 200)}`);
      return;
    }
    this.pending = undefined;
    if (message.type === 'result') pending.resolve(message.value);
    else
      pending.reject(new PythonFunctionError(message.error.name, message.error.message, message.error.stack));
  }

  invoke(event: unknown, deadlineMs: number): Promise<unknown> {
    if (this.pending !== undefined) return Promise.reject(new PythonHostError('the host is busy'));
    if (this.exited) return Promise.reject(new PythonHostError('the host has exited'));
    const id = this.nextId++;
    return new Promise<unknown>((resolvePromise, reject) => {
      this.pending = { id, resolve: resolvePromise, reject };
      this.write({
        type: 'invoke',
        id,
        event,
        deadlineMs,
        ...(this.tenant === null ? {} : { tenantId: this.tenant }),
      });
    });
  }

  /** Closes the pipe (the host stops its zygote and exits); kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.child, 'exit');
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function hostEnvironment(env: Record<string, string>): Record<string, string> {
  const clean: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
  for (const [name, value] of Object.entries(env)) {
    if (!WITHHELD_VARIABLE.test(name)) clean[name] = value;
  }
  return clean;
}

interface Waiter {
  readonly tenant: string | null;
  readonly resolve: (host: PythonHost) => void;
  readonly reject: (error: unknown) => void;
}

export async function loadPythonFunction(options: PythonFunctionOptions): Promise<LocalFunction> {
  const { root, spec, log } = options;
  const python = await resolvePythonInterpreter();
  const moduleName = spec.handler.slice(0, spec.handler.lastIndexOf('.'));
  const args = [
    '-I',
    '-S',
    resolve(root, PYTHON_HOST_SCRIPT),
    resolve(root, PYTHON_LAYER_DIR),
    resolve(root, spec.entry),
    moduleName,
  ];
  const env = hostEnvironment(options.env);
  const prefix = `[${spec.name}]`;
  const maxHosts = Math.min(spec.reservedConcurrency ?? MAX_LOCAL_HOSTS, MAX_LOCAL_HOSTS);
  const perTenant = spec.tenancy === 'per-tenant';

  const hosts = new Set<PythonHost>();
  /** Idle hosts, oldest first, with the time each became idle. */
  const idle: PythonHost[] = [];
  const idleSince = new WeakMap<PythonHost, number>();
  const idleRetireMs = options.idleRetireMs ?? IDLE_HOST_RETIRE_MS;
  // The hosts scale with the work: more start under concurrent invocations (up to the cap), and the
  // ones left idle are retired, so a quiet platform keeps one warm host, not the peak's.
  const retireIdle = setInterval(
    () => {
      const now = Date.now();
      for (let index = 0; index < idle.length && hosts.size > 1; ) {
        const host = idle[index] as PythonHost;
        if (now - (idleSince.get(host) ?? now) < idleRetireMs) {
          index++;
          continue;
        }
        idle.splice(index, 1);
        hosts.delete(host);
        void host.stop();
      }
    },
    Math.max(50, Math.min(idleRetireMs / 4, 5_000)),
  );
  retireIdle.unref();
  const waiting: Waiter[] = [];
  let stopped = false;

  async function startHost(tenant: string | null): Promise<PythonHost> {
    const child = spawn(python, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const host = new PythonHost(child, options.ports, options.configuration, tenant, (line) =>
      log(`${prefix}${tenant === null ? '' : `[${tenant}]`} ${line}`),
    );
    hosts.add(host);
    const timer = setTimeout(() => host.kill(), START_TIMEOUT_MS);
    try {
      await host.started();
    } catch (error) {
      hosts.delete(host);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return host;
  }

  /** An idle host of this tenant; else a new one, making room by retiring another tenant's idle host. */
  async function acquire(tenant: string | null): Promise<PythonHost> {
    for (let index = idle.length - 1; index >= 0; index--) {
      const host = idle[index] as PythonHost;
      if (!host.alive) {
        idle.splice(index, 1);
        hosts.delete(host);
      } else if (host.tenant === tenant) {
        idle.splice(index, 1);
        return host;
      }
    }
    if (hosts.size >= maxHosts) {
      const other = idle.shift();
      if (other !== undefined) {
        hosts.delete(other);
        void other.stop();
      }
    }
    if (hosts.size < maxHosts) return startHost(tenant);
    return new Promise<PythonHost>((resolvePromise, reject) =>
      waiting.push({ tenant, resolve: resolvePromise, reject }),
    );
  }

  function release(host: PythonHost): void {
    const sameTenant = waiting.findIndex((waiter) => waiter.tenant === host.tenant);
    const next = waiting.splice(sameTenant >= 0 ? sameTenant : 0, 1)[0];
    if (!host.alive || stopped || (next !== undefined && next.tenant !== host.tenant)) {
      // A dead host is replaced; a live one is retired for a waiter of another tenant (a host never
      // serves two tenants).
      hosts.delete(host);
      if (host.alive) void host.stop();
      if (next !== undefined) startHost(next.tenant).then(next.resolve, next.reject);
      return;
    }
    if (next !== undefined) next.resolve(host);
    else {
      idleSince.set(host, Date.now());
      idle.push(host);
    }
  }

  return {
    spec,
    instances: () => hosts.size,
    async invoke(event, invokeOptions) {
      if (stopped) throw new PythonHostError(`${spec.name} has been stopped`);
      const tenant = invokeOptions?.tenantId ?? null;
      if (perTenant && tenant === null) throw new TenantIdRequiredError(spec.name);
      const host = await acquire(perTenant ? tenant : null);
      const deadlineMs = Date.now() + spec.timeoutSeconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          host.kill(); // as Lambda does: a timed-out container is not reused
          reject(new LocalTimeoutError(spec.name, spec.timeoutSeconds));
        }, deadlineMs - Date.now());
      });
      try {
        return await Promise.race([host.invoke(event, deadlineMs), timeout]);
      } finally {
        clearTimeout(timer);
        release(host);
      }
    },
    async stop() {
      stopped = true;
      clearInterval(retireIdle);
      idle.length = 0;
      for (const waiter of waiting.splice(0))
        waiter.reject(new PythonHostError(`${spec.name} has been stopped`));
      await Promise.all([...hosts].map((host) => host.stop()));
      hosts.clear();
    },
  };
}
