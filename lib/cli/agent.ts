/**
 * `execfabric agent --name N`: this machine as a local agent of a tenant. It says hello with the
 * agent token (EXECFABRIC_AGENT_TOKEN, or a file), long-polls the tenant API for runs of its
 * `local-agent` Skills, runs each in ExecFabric's Python runtime through a Python host process
 * (lib/cli/agent_host.py, which wraps the runtime layer's Sandbox unchanged: zygote, per-job
 * processes, limits, clean environment), and reports start and result with the lease it was handed.
 * One run at a time. On a stop, the poll in flight is abandoned: a job the platform leased in its
 * answer never reaches the agent, and its unconfirmed lease lapses so the job goes to the next poll
 * (functions/core/agents/agents.ts); a job whose answer did arrive is run and recorded first. A stop
 * then says goodbye, so the platform shows the agent offline at once (not a minute later), waiting
 * for an answer at most GOODBYE_TIMEOUT_MS: an unreachable platform does not hold the stop. The
 * Python side never sees the token. A platform that cannot be reached, or that answers "not now"
 * (429 or 503: the host's API rate limit, a busy store), is retried — as long as `Retry-After` says,
 * else with back-off — and never stops the agent; a refused token does.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, hostname, platform } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  ApiClient,
  describeRetry,
  parseHost,
  RETRY_MAX_WAIT_SECONDS,
  type RetryPolicy,
  sleep,
} from './client.ts';
import { configDir } from './config.ts';
import type { CliContext } from './context.ts';
import {
  ApiError,
  CliError,
  ConnectionError,
  NotSignedInError,
  RequestAbortedError,
  UsageError,
} from './errors.ts';
import { ENV_HOST } from './target.ts';

export const ENV_AGENT_TOKEN = 'EXECFABRIC_AGENT_TOKEN';
export const ENV_PYTHON = 'EXECFABRIC_PYTHON';

/** The package root: two folders above this module, in a clone (lib/cli) and in the bundle (dist/cli). */
/**
 * The agent's own calls are each bound to the agent and its lease, so sending one again does
 * nothing twice (a start confirmed twice is one start; a second result is refused): they are retried
 * on 429/503 with Retry-After, for longer than a person at a prompt would wait.
 */
const AGENT_RETRY_ATTEMPTS = 10;
const AGENT_RETRY_TOTAL_SECONDS = 600;
/** The longest a stopping agent waits to tell the platform it goes offline (no retry). */
const GOODBYE_TIMEOUT_MS = 2000;
/** The longest the poll loop sleeps between polls the platform refused (it says when; back-off else). */
const AGENT_MAX_PAUSE_MS = RETRY_MAX_WAIT_SECONDS * 1000;

/** A failure of the platform or the way to it, not a verdict on this agent: it waits and goes on. */
function passing(error: unknown): error is ConnectionError | ApiError {
  return (
    error instanceof ConnectionError ||
    (error instanceof ApiError && (error.status === 429 || error.status >= 500))
  );
}

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST_SCRIPT = resolve(PACKAGE_ROOT, 'lib', 'cli', 'agent_host.py');
const LAYER_DIR = resolve(PACKAGE_ROOT, 'layers', 'python-runtime', 'python');

interface AgentJob {
  readonly executionId: string;
  readonly tenantId: string;
  readonly skillId: string;
  readonly asset: {
    readonly id: string;
    readonly version: number;
    readonly sha256: string;
    readonly source: string;
  };
  readonly input: unknown;
  readonly limits: Readonly<Record<string, number>>;
}

interface Outcome {
  readonly status: 'succeeded' | 'failed' | 'timed_out' | 'killed' | 'cancelled';
  readonly output?: unknown;
  readonly error?: { type: string; message: string; trace?: string; limit?: string } | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  readonly durationMs?: number;
  readonly cpuMs?: number;
  readonly maxRssKb?: number;
  /** The containment the runtime chose on this machine (network, seccomp, memory, disk, uid, pid). */
  readonly sandbox?: Readonly<Record<string, string | boolean>> | null;
}

export interface AgentOptions {
  readonly name: string;
  readonly host?: string;
  readonly tokenFile?: string;
  readonly python?: string;
  readonly version: string;
}

function python(command: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      ['-c', 'import sys; print(sys.executable); print(sys.version_info[0], sys.version_info[1])'],
      { timeout: 30_000 },
      (error, stdout) => {
        if (error) return reject(new CliError(`Cannot run ${command}: ${error.message}`));
        const [executable = '', version = ''] = stdout.trim().split('\n');
        const [major = 0, minor = 0] = version.split(' ').map(Number);
        if (major < 3 || (major === 3 && minor < 11)) {
          return reject(
            new CliError(`${executable} is Python ${major}.${minor}; the agent needs 3.11 or later`),
          );
        }
        resolvePromise(executable);
      },
    );
  });
}

type OutputListener = (stream: 'stdout' | 'stderr', text: string) => void;

/** The Python host process: one job at a time, outcomes and output matched by execution id. */
class PythonHost {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #ready: Promise<void>;
  #pending: {
    id: string;
    resolve: (outcome: Outcome) => void;
    reject: (error: Error) => void;
    onOutput: OutputListener;
  } | null = null;
  #exited = false;

  /** `hidden`: folders the jobs must not see (where the runtime can hide them: root or userns). */
  constructor(interpreter: string, log: (line: string) => void, hidden: readonly string[] = []) {
    this.#child = spawn(interpreter, ['-I', '-S', HOST_SCRIPT, LAYER_DIR, ...hidden], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr.on('data', (chunk: Buffer) => log(`[python] ${chunk.toString('utf8').trimEnd()}`));
    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.#ready = new Promise((ok, fail) => {
      markReady = ok;
      failReady = fail;
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as {
        type: string;
        id?: string;
        outcome?: Outcome;
        message?: string;
        stream?: string;
        text?: string;
      };
      if (message.type === 'ready') return markReady();
      const pending = this.#pending;
      if (pending === null || message.id !== pending.id) return;
      if (message.type === 'output') {
        pending.onOutput(message.stream === 'stderr' ? 'stderr' : 'stdout', String(message.text ?? ''));
        return;
      }
      this.#pending = null;
      if (message.type === 'outcome' && message.outcome !== undefined) pending.resolve(message.outcome);
      else pending.resolve(sandboxFailure(message.message ?? 'the sandbox failed'));
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      const error = new CliError(`The Python host exited (${signal ?? code})`);
      failReady(error);
      this.#pending?.resolve(sandboxFailure(error.message));
      this.#pending = null;
    });
  }

  get alive(): boolean {
    return !this.#exited;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  run(job: AgentJob, onOutput: OutputListener = () => undefined): Promise<Outcome> {
    return new Promise((resolvePromise, reject) => {
      this.#pending = { id: job.executionId, resolve: resolvePromise, reject, onOutput };
      this.#child.stdin.write(
        `${JSON.stringify({
          type: 'run',
          id: job.executionId,
          job: {
            source: job.asset.source,
            input: job.input,
            limits: job.limits,
            executionId: job.executionId,
            tenantId: job.tenantId,
            skillId: job.skillId,
          },
        })}\n`,
      );
    });
  }

  /** Kills the running job (a cancel); its outcome comes back `cancelled`. */
  stopRun(id: string): void {
    if (!this.#exited) this.#child.stdin.write(`${JSON.stringify({ type: 'stop', id })}\n`);
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.stdin.end();
    this.#child.kill('SIGTERM');
    await new Promise((done) => this.#child.once('exit', done));
  }
}

function sandboxFailure(message: string): Outcome {
  return {
    status: 'failed',
    error: { type: 'SandboxError', message },
    stdout: '',
    stderr: '',
    truncated: false,
  };
}

function agentToken(context: CliContext, options: AgentOptions): string {
  if (options.tokenFile !== undefined) {
    if (!existsSync(options.tokenFile)) throw new UsageError(`${options.tokenFile} does not exist`);
    if (process.platform !== 'win32' && (statSync(options.tokenFile).mode & 0o077) !== 0) {
      throw new UsageError(`${options.tokenFile} may be read by other users: chmod 600 it`);
    }
    return readFileSync(options.tokenFile, 'utf8').trim();
  }
  const token = context.env[ENV_AGENT_TOKEN];
  if (token === undefined || token === '') {
    throw new NotSignedInError(`No agent token: set ${ENV_AGENT_TOKEN} or pass --token-file`, [
      'A tenant admin creates the agent and its token in the tenant front (Agents).',
    ]);
  }
  return token.trim();
}

/**
 * The folders holding this user's ExecFabric secrets, which the jobs must not see: the CLI's config
 * folder (signed-in sessions) and the token file's folder. A top-level folder (`/etc`, `/opt`) is not
 * hidden whole — jobs need what else is there; keep the token file in a folder of its own.
 */
function secretFolders(context: CliContext, options: AgentOptions): string[] {
  const folders = [configDir(context.env)];
  if (options.tokenFile !== undefined) {
    const folder = dirname(resolve(options.tokenFile));
    if (folder.split('/').filter(Boolean).length >= 2) folders.push(folder);
  }
  return folders;
}

export async function runAgent(context: CliContext, options: AgentOptions): Promise<number> {
  const named = options.host ?? context.env[ENV_HOST];
  if (named === undefined || named === '')
    throw new UsageError(`The agent needs --host URL (or ${ENV_HOST})`);
  const origin = parseHost(named);
  const log = (line: string) => context.output.info(`${new Date().toISOString()} ${line}`);
  const retry: RetryPolicy = {
    maxAttempts: AGENT_RETRY_ATTEMPTS,
    maxTotalWaitSeconds: AGENT_RETRY_TOTAL_SECONDS,
    onWait: (notice) => log(describeRetry(notice)),
  };
  const client = new ApiClient(origin, agentToken(context, options), retry);
  const about = {
    name: options.name,
    version: options.version,
    platform: `${platform()}-${arch()} ${hostname()}`.slice(0, 128),
  };

  const hello = await client
    .post('/api/agent/hello', { ...about, waitSeconds: 0 }, { repeatable: true })
    .catch((error: unknown) => {
      throw refusal(error, options.name, origin.host);
    });
  log(
    `agent ${options.name} connected to ${origin.host} (tenant ${hello.body.tenant?.id}); waiting for runs`,
  );

  const interpreter = await python(options.python ?? context.env[ENV_PYTHON] ?? 'python3');
  const hidden = secretFolders(context, options);
  let host = new PythonHost(interpreter, log, hidden);
  await host.ready();

  let stopping = false;
  let running: string | null = null;
  // Fired on stop: ends the long poll (or back-off) in flight, so an idle agent stops at once. A run
  // in progress does not take it, and is finished and recorded first.
  const stopped = new AbortController();
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    log(
      running === null
        ? 'stopping (Ctrl-C again to exit now)'
        : `stopping once run ${running} is recorded (Ctrl-C again to exit now)`,
    );
    stopped.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let backoff = 1000;
  try {
    while (!stopping) {
      let taken: { job: AgentJob; lease: string } | null;
      try {
        const answer = await client.post('/api/agent/poll', about, {
          timeoutMs: 60_000,
          signal: stopped.signal,
          repeatable: true,
        });
        taken = answer.status === 204 ? null : (answer.body as { job: AgentJob; lease: string });
        backoff = 1000;
      } catch (error) {
        if (error instanceof RequestAbortedError) break;
        if (passing(error)) {
          // The platform's own word on when, where it gave one; the back-off otherwise.
          const said = error instanceof ApiError ? error.retryAfterSeconds : null;
          const pause = Math.min(AGENT_MAX_PAUSE_MS, said === null ? backoff : Math.max(said * 1000, 1000));
          log(`${error.message}; polling again in ${pause / 1000}s`);
          await sleep(pause, stopped.signal);
          backoff = Math.min(30_000, backoff * 2);
          continue;
        }
        throw refusal(error, options.name, origin.host);
      }
      if (taken === null) continue;
      // A job whose answer came in as the agent was asked to stop is run and recorded all the same,
      // as a run in progress is: its lease is this agent's alone until it lapses unconfirmed.
      if (stopping) log(`run ${taken.job.executionId} arrived as the agent was stopping; running it first`);
      if (!host.alive) {
        host = new PythonHost(interpreter, log, hidden);
        await host.ready();
      }
      running = taken.job.executionId;
      try {
        await runOne(client, host, taken.job, taken.lease, log);
      } catch (error) {
        // Past every retry: the platform closes the run (its lease lapses, or its time runs out);
        // this agent goes on with the next.
        if (!passing(error)) throw error;
        log(
          `run ${taken.job.executionId}: could not be reported (${error.message}); the platform will close it`,
        );
      } finally {
        running = null;
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await Promise.all([host.stop(), stopping ? goodbye(client, options.name, log) : undefined]);
  }
  log(`agent ${options.name} stopped`);
  return 0;
}

/**
 * Tells the platform this agent is stopping, so runs waiting for it say it is offline. Once, within
 * GOODBYE_TIMEOUT_MS: a platform that cannot be reached or answers late only delays the offline
 * status to when the agent's last poll ages out.
 */
async function goodbye(client: ApiClient, name: string, log: (line: string) => void): Promise<void> {
  try {
    await client.post(
      '/api/agent/goodbye',
      { name },
      { timeoutMs: GOODBYE_TIMEOUT_MS, signal: AbortSignal.timeout(GOODBYE_TIMEOUT_MS) },
    );
  } catch (error) {
    log(`could not tell the platform that agent ${name} is stopping: ${(error as Error).message}`);
  }
}

async function runOne(
  client: ApiClient,
  host: PythonHost,
  job: AgentJob,
  lease: string,
  log: (line: string) => void,
): Promise<void> {
  const path = (what: string) => `/api/agent/runs/${encodeURIComponent(job.executionId)}/${what}`;
  log(`run ${job.executionId}: script ${job.asset.id} v${job.asset.version}`);
  try {
    await client.post(path('started'), { lease }, { repeatable: true });
  } catch (error) {
    // The lease lapsed before this agent confirmed it, and the job went to another poll.
    if (error instanceof ApiError && error.status === 409) {
      log(`run ${job.executionId}: its lease was no longer this agent's (${error.message}); not run`);
      return;
    }
    throw error;
  }
  const digest = createHash('sha256').update(job.asset.source, 'utf8').digest('hex');
  let outcome: Outcome;
  if (digest === job.asset.sha256) {
    const live = new LiveReport(client, path('logs'), lease, () => {
      log(`run ${job.executionId}: cancel requested; stopping it`);
      host.stopRun(job.executionId);
    });
    try {
      outcome = await host.run(job, (stream, text) => live.feed(stream, text));
    } finally {
      await live.close();
    }
  } else {
    outcome = sandboxFailure('The script received does not match its version hash; it was not run');
  }
  const result = await client.post(
    path('result'),
    {
      lease,
      status: outcome.status,
      ...(outcome.status === 'succeeded' ? { output: outcome.output ?? null } : {}),
      ...(outcome.error === null || outcome.error === undefined ? {} : { error: outcome.error }),
      logs: { stdout: outcome.stdout, stderr: outcome.stderr, truncated: outcome.truncated },
      ...(outcome.sandbox === undefined || outcome.sandbox === null ? {} : { sandbox: outcome.sandbox }),
      metrics: {
        ...(outcome.durationMs === undefined ? {} : { durationMs: outcome.durationMs }),
        ...(outcome.cpuMs === undefined ? {} : { cpuMs: outcome.cpuMs }),
        ...(outcome.maxRssKb === undefined ? {} : { maxRssKb: outcome.maxRssKb }),
      },
    },
    // A second result for the lease is refused (409), so a retry never records one twice.
    { repeatable: true, accept: [409] },
  );
  if (result.status === 409) {
    log(
      `run ${job.executionId}: ${outcome.status}, but the platform holds its result already or its lease lapsed`,
    );
    return;
  }
  log(`run ${job.executionId}: ${outcome.status} → recorded as ${result.body.status}`);
}

/** Live output goes up about once a second; each report's answer says whether a cancel came. */
const REPORT_MS = 1000;
/** A chunk holds at most this many bytes of one stream (the platform's chunk limit). */
const CHUNK_BYTES = 16 * 1024 - 64;
/** Chunks per report, and in all (the platform keeps no more). */
const CHUNKS_PER_REPORT = 16;
const MAX_CHUNKS = 2000;

/**
 * The live side of an agent run: buffers the job's output, cuts it into chunks and posts them to
 * `/api/agent/runs/{id}/logs` about once a second, also when there is nothing new (a heartbeat that
 * learns of a cancel). A report that fails is dropped: the live view never fails the run, and the
 * result carries the whole log anyway.
 */
class LiveReport {
  readonly #client: ApiClient;
  readonly #path: string;
  readonly #lease: string;
  readonly #onStop: () => void;
  readonly #timer: NodeJS.Timeout;
  #pending: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  #seq = 0;
  #inFlight: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(client: ApiClient, path: string, lease: string, onStop: () => void) {
    this.#client = client;
    this.#path = path;
    this.#lease = lease;
    this.#onStop = onStop;
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.#send());
    }, REPORT_MS);
  }

  feed(stream: 'stdout' | 'stderr', text: string): void {
    const last = this.#pending.at(-1);
    if (
      last !== undefined &&
      last.stream === stream &&
      Buffer.byteLength(last.text) + Buffer.byteLength(text) <= CHUNK_BYTES
    ) {
      last.text += text;
      return;
    }
    for (let start = 0; start < text.length; ) {
      // Cut by characters, within the byte bound (a UTF-8 character is at most 4 bytes).
      const piece = text.slice(start, start + CHUNK_BYTES / 4);
      this.#pending.push({ stream, text: piece });
      start += piece.length;
    }
  }

  async #send(): Promise<void> {
    const room = MAX_CHUNKS - this.#seq;
    const taken = this.#pending.splice(0, Math.max(0, Math.min(CHUNKS_PER_REPORT, room)));
    const chunks = taken.map((chunk) => ({ seq: ++this.#seq, ...chunk }));
    try {
      const answer = await this.#client.post(this.#path, { lease: this.#lease, chunks });
      if (answer.body?.stop === true && !this.#stopped) {
        this.#stopped = true;
        this.#onStop();
      }
    } catch {
      // Dropped: the result carries the whole log.
    }
  }

  /** Stops reporting; what is left is streamed first, so the live log is whole before the result. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    if (this.#seq === 0) return; // a short run streamed nothing: its result carries the log
    while (this.#pending.length > 0 && this.#seq < MAX_CHUNKS) await this.#send();
  }
}

function refusal(error: unknown, name: string, host: string): Error {
  if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
    return new CliError(`${host} refused the agent token for agent ${name}: ${error.message}`, {
      details: ['The token may have been revoked or rotated, or belong to another agent or tenant.'],
    });
  }
  return error as Error;
}
