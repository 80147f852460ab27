/**
 * The embedded local platform: the topology wired on one machine. Services (dynalite, fauxqs), the
 * functions (Node handlers in process, the Python worker in its own processes), the edge router,
 * the queue pollers and the scheduler, all from `lib/topology.ts`. `npm start` and the integration
 * tests both start the platform through `startLocalPlatform`.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { tableFromEnv } from '../../functions/clients/dynamodb.ts';
import { LOG_LEVEL_ENV } from '../../functions/clients/logger.ts';
import type { CheckResult } from '../../functions/core/assets/checker.ts';
import { ENV, type Environment, functionNameEnv, queueUrlEnv } from '../../functions/core/env.ts';
import { processRunEnds } from '../../functions/core/executions/run-ends.ts';
import { TenantSlots } from '../../functions/core/executions/slots.ts';
import { sweepStaleExecutions } from '../../functions/core/executions/sweep.ts';
import { LOCAL_AGENT_KIND } from '../../functions/core/executors/local-agent.ts';
import type { SignupLimits } from '../../functions/core/free/signup-limits.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import { MessageSigner } from '../../functions/core/messages/signing.ts';
import { createCore } from '../../functions/core/platform.ts';
import { Queues } from '../../functions/core/queues.ts';
import { observeSdkRequests, type SdkRequestObserver } from '../../functions/core/sdk-requests.ts';
import { localCredentialDir } from '../../functions/core/secrets/encrypted-file-store.ts';
import type { HostRateRule } from '../edge/rate-limit.ts';
import { compileViewerRequest, viewerRequestSource } from '../edge/viewer-request.ts';
import {
  type FunctionName,
  type FunctionSpec,
  functions,
  queues,
  schedules,
  TENANT_SCHEDULE_TARGET,
} from '../topology.ts';
import { type ConnectionLimits, connectionLimits, createEdgeServer } from './connection-limits.ts';
import { type LocalFunction, type LocalInvoke, loadNodeFunction } from './lambda.ts';
import { startLambdaEndpoint } from './lambda-endpoint.ts';
import { type Poller, startPoller } from './pollers.ts';
import { DEFAULT_LOCAL_PORT } from './port.ts';
import { type HostConfiguration, MAX_LOCAL_HOSTS, servicePorts } from './python-function.ts';
import { createLocalRouter } from './router.ts';
import { type LocalScheduler, startScheduler } from './scheduler.ts';
import { seedDemo } from './seed.ts';
import { freshCredentials, LOCAL_REGION, type LocalServices, startLocalServices } from './services.ts';
import { startTenantScheduleTicker, type TenantScheduleTicker } from './tenant-schedules.ts';

/** How long a stop waits for the recorders to take the last reports of jobs that were in flight. */
const DRAIN_TIMEOUT_MS = 10_000;
/** The most receive loops a plain queue's poller scales to locally (2 CPUs are the norm here). */
const LOCAL_MAX_POLLERS = 4;

/** Waits until the queues hold no message (visible or in flight), or the time is up. */
async function drainQueues(
  services: LocalServices,
  urls: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let pending = 0;
    for (const url of urls) {
      const { Attributes } = await services.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      pending += Number(Attributes?.ApproximateNumberOfMessages ?? 0);
      pending += Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    if (pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LocalPlatformOptions {
  /** Port of the edge router; 0 picks a free one. @default DEFAULT_LOCAL_PORT (8080) */
  readonly port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly listenHost?: string;
  /** Data folder; `null` keeps everything in memory (tests). @default '.execfabric' */
  readonly dataDir?: string | null;
  /** Queue visibility override for tests; `null` keeps the topology's. @default null */
  readonly visibilityTimeoutSeconds?: number | null;
  /** Hosts of the governance console. @default ['admin.localhost'] */
  readonly adminHosts?: readonly string[];
  /** Hosts of the free entry; personal spaces live on `<handle>.<free host>`. @default ['free.localhost'] */
  readonly freeHosts?: readonly string[];
  /**
   * The free entry's sign-up limits (any subset; see functions/core/free/signup-limits.ts).
   * @default EXECFABRIC_FREE_SIGNUP_LIMITS (JSON), else the defaults
   */
  readonly freeSignupLimits?: Partial<SignupLimits>;
  /** Hosts of the documentation site. @default ['docs.localhost'] */
  readonly docsHosts?: readonly string[];
  /** Run the schedules on their timers. @default true */
  readonly schedules?: boolean;
  /**
   * The scheme viewers reach the platform with: `https` behind a TLS-terminating proxy, so that
   * sessions use the `__Host-` Secure cookie and CSRF checks expect https origins.
   * @default process.env.EXECFABRIC_VIEWER_SCHEME ?? 'http'
   */
  readonly viewerScheme?: 'http' | 'https';
  /**
   * API requests one host may send per window at the edge, as the WAF rule counts them in AWS
   * (lib/edge/rate-limit.ts); false counts nothing (the benches, which measure the platform past it).
   * @default HOST_API_RATE
   */
  readonly hostRateLimit?: HostRateRule | false;
  /**
   * The clock of the rate limit's windows, in ms: a test sets it to end a window when it chooses
   * (so a refusal's Retry-After is short and known). @default Date.now
   */
  readonly hostRateClock?: () => number;
  /**
   * The most consumer calls at once per queue: receive loops of a plain queue (which start at one and
   * scale with the backlog), messages in hand of a fair one. @default the queue's mapping bound, at
   * most 4 for a plain queue; the worker hosts' cap for a fair one
   */
  readonly pollerConcurrency?: number;
  /**
   * The edge's connection limits (any subset; see lib/local/connection-limits.ts and
   * docs/guide/operating.md). Small values are for tests. @default EDGE_LIMITS
   */
  readonly edgeLimits?: Partial<ConnectionLimits>;
  /** Seed the demo data on a first start. @default true */
  readonly seed?: boolean;
  /**
   * Password of the seeded demo users. @default EXECFABRIC_DEMO_PASSWORD, else one generated on the
   * first start and kept (owner-only) in the data folder
   */
  readonly demoPassword?: string;
  /**
   * The functions' log level (Powertools: `DEBUG`, `INFO`, `WARN`, `ERROR`…).
   * @default POWERTOOLS_LOG_LEVEL of this process, else `WARN`
   */
  readonly logLevel?: string;
  /** Where platform diagnostics go. @default stderr */
  readonly log?: (line: string) => void;
  readonly root?: string;
  /**
   * How jobs are contained (see docs/decisions/python-runtime.md). `network`: `auto` picks the best
   * rung, or force `netns` | `userns` | `seccomp`. `unsafeNoNetworkIsolation` lets jobs run where no
   * rung works — never for a platform tenants use. @default EXECFABRIC_SANDBOX_NETWORK (else `auto`)
   * and EXECFABRIC_UNSAFE_NO_JOB_NETWORK_ISOLATION=1 (else off)
   */
  readonly sandbox?: {
    readonly network?: 'auto' | 'netns' | 'userns' | 'seccomp';
    readonly unsafeNoNetworkIsolation?: boolean;
  };
}

/** The operator's switches for job containment, read from the environment of `npm start`. */
export const SANDBOX_NETWORK_ENV = 'EXECFABRIC_SANDBOX_NETWORK';
export const UNSAFE_NO_JOB_NETWORK_ISOLATION_ENV = 'EXECFABRIC_UNSAFE_NO_JOB_NETWORK_ISOLATION';

export interface LocalPlatform {
  readonly url: string;
  readonly port: number;
  readonly services: LocalServices;
  readonly dataDir: string | null;
  readonly adminHosts: readonly string[];
  readonly freeHosts: readonly string[];
  readonly docsHosts: readonly string[];
  /** True when this start seeded the demo data. */
  readonly seeded: boolean;
  /** Password of the demo users, when known to this process. */
  readonly demoPassword: string;
  /**
   * Both message keys of this start, for code in this process that acts as a platform function
   * (tests that send a job themselves, tools). Nothing outside the process ever holds them.
   */
  readonly signer: MessageSigner;
  /**
   * The environment every function of this platform is configured with — what the CDK stack sets on
   * each function, pointed at this start's services (table and queue names, endpoints, credentials,
   * message keys, hosts). Passed to each function explicitly; never written into `process.env`, so
   * platforms started in one process each keep their own. For tests and tools in this process.
   */
  readonly env: Environment;
  /** Invokes a function directly, as its trigger would (a tenant id for tenant-isolated ones). */
  invoke(name: FunctionName, event: unknown, options?: { tenantId?: string }): Promise<unknown>;
  /** Fires a schedule now. */
  fireSchedule(name: string): Promise<unknown>;
  /**
   * Calls `observer` for every AWS SDK request the platform's clients send (the functions', the
   * pollers', the Python functions' ports), from a middleware on each client's stack, until the
   * returned function is called or the platform stops. The clients are this process's: a second
   * platform started in the same process is observed too.
   */
  observeRequests(observer: SdkRequestObserver): () => void;
  /** Fires the tenant schedules due at `at` (default now), as the ticker does every second. */
  tickTenantSchedules(at?: Date): Promise<number>;
  /** Connections open at the edge now, those past its cap included (for tests and tools). */
  edgeConnections(): number;
  stop(): Promise<void>;
}

interface LocalSecrets {
  readonly tokenSecret: string;
  readonly demoPassword: string;
}

/** Platform secrets of the local data folder, created once and readable only by their owner. */
function localSecrets(dataDir: string | null): LocalSecrets {
  const fresh = (): LocalSecrets => ({
    tokenSecret: randomBytes(32).toString('base64url'),
    demoPassword: process.env.EXECFABRIC_DEMO_PASSWORD ?? `demo-${randomBytes(9).toString('base64url')}`,
  });
  if (dataDir === null) return fresh();
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets;
  const secrets = fresh();
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/** The pid of the live process that holds `dataDir` (its `platform.lock`), or null. */
export function dataDirHolder(dataDir: string): number | null {
  const lock = join(dataDir, 'platform.lock');
  if (!existsSync(lock)) return null;
  const pid = Number(readFileSync(lock, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** What a start says when `dataDir` is held by another process. */
export function dataDirInUse(dataDir: string, pid: number): string {
  return `Another ExecFabric process (pid ${pid}) is using ${dataDir}; stop it or set EXECFABRIC_DATA_DIR`;
}

/** One process per data folder: the embedded store cannot share its files. */
function lockDataDir(dataDir: string): () => void {
  const lock = join(dataDir, 'platform.lock');
  const holder = dataDirHolder(dataDir);
  if (holder !== null) throw new Error(dataDirInUse(dataDir, holder));
  rmSync(lock, { force: true });
  const fd = openSync(lock, 'wx');
  writeFileSync(fd, String(process.pid));
  closeSync(fd);
  return () => rmSync(lock, { force: true });
}

/** Tenants whose hosts the page of a bare loopback address lists. */
const LOOPBACK_DIRECTORY_TENANTS = 50;

export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const root = options.root ?? REPOSITORY_ROOT;
  const dataDir = options.dataDir === undefined ? resolve(root, '.execfabric') : options.dataDir;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const adminHosts = options.adminHosts ?? ['admin.localhost'];
  const freeHosts = options.freeHosts ?? ['free.localhost'];
  const docsHosts = options.docsHosts ?? ['docs.localhost'];
  // Checked before anything starts: a limit that makes no sense fails the start, not a request.
  const edgeLimits = connectionLimits(options.edgeLimits);

  const cleanups: (() => Promise<void> | void)[] = [];
  if (dataDir !== null) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    cleanups.push(lockDataDir(dataDir));
  }
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  try {
    // Per-start secrets, never written anywhere: the credentials every internal server demands a
    // signature with, and the keys every internal message is signed with.
    const awsCredentials = freshCredentials();
    const messageKeys = {
      jobs: randomBytes(32).toString('base64url'),
      reports: randomBytes(32).toString('base64url'),
    };
    const services = await startLocalServices({
      dataDir,
      credentials: awsCredentials,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? null,
      log,
    });
    cleanups.push(() => services.stop());
    const secrets = localSecrets(dataDir);
    // HTTP credentials: the encrypted folder (in the data folder; a temporary one in memory).
    const credentials = localCredentialDir(dataDir);
    cleanups.push(credentials.cleanup);
    const originSecret = randomBytes(32).toString('base64url');
    const lambda = await startLambdaEndpoint({
      invoke: (name) => invoker(name),
      known: new Set(Object.keys(functions)),
      credentials: awsCredentials,
      onRefused: (reason) => log(`[lambda endpoint] refused an invocation (security event): ${reason}`),
    });
    cleanups.push(() => lambda.stop());

    // The environment each function would get from the CDK stack, pointed at the local services.
    // Each function is configured with it explicitly (lambda.ts, python-function.ts): nothing of it
    // goes into this process's environment, which other platforms and the caller share.
    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: awsCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: awsCredentials.secretAccessKey,
      [messageKeyEnv('jobs').value]: messageKeys.jobs,
      [messageKeyEnv('reports').value]: messageKeys.reports,
      [LOG_LEVEL_ENV]: options.logLevel ?? process.env[LOG_LEVEL_ENV] ?? 'WARN',
      [ENV.tableName]: services.tableName,
      [ENV.claimsTableName]: services.claimsTableName,
      [ENV.dynamodbEndpoint]: services.dynamodbEndpoint,
      [ENV.sqsEndpoint]: services.sqsEndpoint,
      [ENV.lambdaEndpoint]: lambda.url,
      [ENV.originSecret]: originSecret,
      [ENV.tokenSecret]: secrets.tokenSecret,
      [ENV.credentialStoreDir]: credentials.dir,
      [ENV.allowLocalDevelopment]: 'true',
      // The platform's own hosts: the free entry names personal hosts under its hosts, and no
      // handle may shadow one; governance keeps the names under the free domain for personal spaces.
      [ENV.adminHosts]: adminHosts.join(','),
      [ENV.freeHosts]: freeHosts.join(','),
      ...(options.freeSignupLimits === undefined
        ? {}
        : { [ENV.freeSignupLimits]: JSON.stringify(options.freeSignupLimits) }),
    };
    for (const [name, queue] of Object.entries(services.queues)) env[queueUrlEnv(name)] = queue.url;
    for (const name of Object.keys(functions)) env[functionNameEnv(name)] = name;
    Object.freeze(env);
    const table = tableFromEnv(env);
    cleanups.push(() => table.client.destroy());
    const demoPassword = options.demoPassword ?? secrets.demoPassword;

    const sandboxNetwork = options.sandbox?.network ?? process.env[SANDBOX_NETWORK_ENV] ?? 'auto';
    const unsafe =
      options.sandbox?.unsafeNoNetworkIsolation ?? process.env[UNSAFE_NO_JOB_NETWORK_ISOLATION_ENV] === '1';
    if (unsafe) log('UNSAFE: jobs may run with the host network where no containment works');
    const hostConfiguration: HostConfiguration = {
      keys: messageKeys,
      sandbox: {
        network: sandboxNetwork,
        unsafe_no_network_isolation: unsafe,
        // Jobs see neither the data folder nor the repository (only the runtime layer shows through).
        hidden: [...(dataDir === null ? [] : [dataDir]), root],
      },
    };
    // A worker relays a script's calls only to the functions the topology lets it invoke.
    const relayTargets = new Set<string>(functions['script-worker'].permissions.invoke);
    const pythonPorts = servicePorts(services, (payload, target) => {
      if (!relayTargets.has(target)) {
        return Promise.reject(new Error(`The script worker may not invoke ${target}`));
      }
      return invoker(target as FunctionName)(payload);
    });
    const loaded = new Map<FunctionName, Promise<LocalFunction>>();
    const load = (spec: FunctionSpec): Promise<LocalFunction> => {
      let fn = loaded.get(spec.name);
      if (fn === undefined) {
        fn =
          spec.runtime === 'python3.12'
            ? import('./python-function.ts').then((python) =>
                python.loadPythonFunction({
                  root,
                  spec,
                  env,
                  ports: pythonPorts,
                  configuration: hostConfiguration,
                  log,
                }),
              )
            : loadNodeFunction(root, spec, env);
        loaded.set(spec.name, fn);
      }
      return fn;
    };
    cleanups.push(async () => {
      for (const fn of loaded.values()) await (await fn.catch(() => null))?.stop();
    });
    const invoker =
      (name: FunctionName): LocalInvoke =>
      async (event, invokeOptions) =>
        (await load(functions[name])).invoke(event, invokeOptions);

    // Pollers of queues whose consumer reports to another queue (the job runners) stop first, so a
    // job in flight finishes and its report is recorded before the recorder's pollers stop.
    const runners: Poller[] = [];
    const recorders: { poller: Poller; url: string }[] = [];
    const poll = (
      url: string,
      arn: string,
      consumer: FunctionName,
      batchSize: number,
      concurrency: number,
      fair: { visibilityTimeoutSeconds: number } | null = null,
    ) => {
      const poller = startPoller({
        sqs: services.sqs,
        queueUrl: url,
        queueArn: arn,
        batchSize,
        concurrency,
        invoke: invoker(consumer),
        onError: (error: unknown) => log(`[${consumer}] ${(error as Error).stack ?? String(error)}`),
        ...(fair === null ? {} : { fair: true, visibilityTimeoutSeconds: fair.visibilityTimeoutSeconds }),
      });
      if (url !== services.queues['execution-results'].url && !url.endsWith('-dlq')) runners.push(poller);
      else recorders.push({ poller, url });
    };
    for (const spec of Object.values(queues)) {
      const queue = services.queues[spec.name];
      if (spec.fairByTenant) {
        // Served round-robin across tenants, as many at once as there are worker hosts.
        poll(queue.url, queue.arn, spec.consumer, 1, options.pollerConcurrency ?? MAX_LOCAL_HOSTS, {
          visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? spec.visibilityTimeoutSeconds,
        });
      } else {
        // Scaled with the backlog (see pollers.ts), up to the mapping's bound or the local one.
        poll(
          queue.url,
          queue.arn,
          spec.consumer,
          spec.batchSize,
          options.pollerConcurrency ?? Math.min(spec.maxConcurrency, LOCAL_MAX_POLLERS),
        );
      }
      if (spec.deadLetterConsumer !== null) {
        poll(queue.deadLetterUrl, queue.deadLetterArn, spec.deadLetterConsumer, 10, 1);
      }
    }
    // The recorder, the sweeps and the API all run in this process: a run's end, once stored, wakes
    // the requests waiting on it here, and their own reads are only a backstop (run-ends.ts).
    cleanups.push(processRunEnds.recordedHere());
    cleanups.push(async () => {
      await Promise.all(runners.map((poller) => poller.stop()));
      await drainQueues(
        services,
        recorders.map((recorder) => recorder.url),
        DRAIN_TIMEOUT_MS,
      );
      await Promise.all(recorders.map((recorder) => recorder.poller.stop()));
    });

    // Seeding uploads the demo script, which the Python runtime syntax-checks like any upload.
    const { seeded } =
      options.seed === false
        ? { seeded: false }
        : await seedDemo({
            table,
            adminHosts,
            freeHosts,
            demoPassword,
            tokenSecret: secrets.tokenSecret,
            checker: {
              check: async (source, tenantId) =>
                (await invoker('script-worker')({ action: 'check', source }, { tenantId })) as CheckResult,
            },
          });

    // The embedded queues keep nothing across restarts: runs still waiting in the table are handed
    // to their executors again (the worker's claim refuses any duplicate).
    const signer = new MessageSigner(messageKeys);
    const core = createCore({
      table,
      env,
      signer,
      queues: new Queues(
        services.sqs,
        {
          'script-executions': services.queues['script-executions'].url,
          'http-executions': services.queues['http-executions'].url,
        },
        signer,
      ),
    });
    const recovered = await sweepStaleExecutions(
      { table, audit: core.audit, executions: core.executions, now: () => new Date() },
      {
        redispatchWaiting: 'all',
        // Every job this platform's own runtimes held died with it; a local agent's runs go on.
        lostRunning: (execution) => execution.asset.kind !== LOCAL_AGENT_KIND,
      },
    );
    // The slots those runs held died with them too: released now, so that the tenant's queued work
    // runs at once instead of waiting for the dead jobs' leases to expire (up to timeout + 2 min).
    const slots = new TenantSlots({ client: services.dynamodb, table: services.claimsTableName });
    for (const change of recovered.changed) {
      if (change.action === 'failed:platform-stopped')
        await slots.release(change.tenantId, change.executionId);
    }
    if (recovered.changed.length > 0)
      log(`Recovered ${recovered.changed.length} unfinished runs from the table`);

    let scheduler: LocalScheduler | undefined;
    const scheduleInvoker = (name: FunctionName) => invoker(name);
    scheduler = startScheduler(
      options.schedules === false ? [] : schedules,
      (schedule) => scheduleInvoker(schedule.function),
      (schedule, error) => log(`[schedule ${schedule.name}] ${(error as Error).stack ?? String(error)}`),
    );
    cleanups.push(() => scheduler?.stop());
    // Tenant schedules: the ticker stands in for EventBridge Scheduler (schedules: false stops it too).
    const tenantTicker: TenantScheduleTicker = startTenantScheduleTicker({
      core,
      signer,
      invoke: invoker(TENANT_SCHEDULE_TARGET),
      onError: (error) => log(`[tenant schedules] ${(error as Error).stack ?? String(error)}`),
      intervalMs: options.schedules === false ? 0 : undefined,
    });
    cleanups.push(() => tenantTicker.stop());

    const viewerRequest = compileViewerRequest(viewerRequestSource({ adminHosts, freeHosts, docsHosts }));
    const edge = createEdgeServer(
      createLocalRouter({
        root,
        viewerRequest,
        originSecret,
        invoke: invoker,
        log,
        viewerScheme:
          options.viewerScheme ?? (process.env.EXECFABRIC_VIEWER_SCHEME === 'https' ? 'https' : 'http'),
        ...(options.hostRateLimit === undefined ? {} : { hostRateLimit: options.hostRateLimit }),
        ...(options.hostRateClock === undefined ? {} : { now: options.hostRateClock }),
        loopbackDirectory: async () => {
          // A first page of tenants: a local platform has a handful; the page is a way in, not a registry.
          const tenants = await core.tenants.list(LOOPBACK_DIRECTORY_TENANTS);
          return [
            ...adminHosts.map((host) => ({ role: 'console' as const, host })),
            // Organisations only: a person's space is theirs to share. A converted space is an
            // organisation now, listed on its own hosts, not on its personal one.
            ...tenants.items.flatMap((tenant) =>
              (tenant.personal === undefined || tenant.personal.convertedAt !== undefined
                ? tenant.hosts.filter((host) => !freeHosts.some((free) => host.endsWith(`.${free}`)))
                : []
              ).map((host) => ({
                role: 'tenant' as const,
                host,
                name: tenant.name,
              })),
            ),
            ...freeHosts.map((host) => ({ role: 'free' as const, host })),
            ...docsHosts.map((host) => ({ role: 'docs' as const, host })),
          ];
        },
      }),
      edgeLimits,
      log,
    );
    const { server } = edge;
    cleanups.push(() => edge.stop());
    server.listen(options.port ?? DEFAULT_LOCAL_PORT, options.listenHost ?? '127.0.0.1');
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    cleanups.push(
      () =>
        new Promise<void>((resolvePromise) => {
          server.close(() => resolvePromise());
          server.closeAllConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      services,
      dataDir,
      adminHosts,
      freeHosts,
      docsHosts,
      seeded,
      demoPassword,
      signer,
      env,
      invoke: (name, event, invokeOptions) => invoker(name)(event, invokeOptions),
      fireSchedule: (name) => {
        const spec = schedules.find((schedule) => schedule.name === name);
        if (spec === undefined) return Promise.reject(new Error(`No schedule named ${name}`));
        return invoker(spec.function)({ ...spec.input });
      },
      tickTenantSchedules: (at) => tenantTicker.tick(at),
      edgeConnections: () => edge.connections(),
      observeRequests: (observer) => {
        const stopObserving = observeSdkRequests(observer);
        cleanups.push(stopObserving);
        return stopObserving;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
