/**
 * The Lambda functions of `topology.functions`: Node handlers bundled by the local esbuild as ESM
 * (arm64, nodejs22.x), the Python worker with its layer, one role and one log group per function,
 * the environment every function reads (names from `functions/core/env.ts`), reserved concurrency,
 * tenant isolation mode where the topology asks for it, and the SQS event source mappings (each
 * queue's consumer, and each dead-letter queue's consumer; never a tenant-isolated function).
 *
 * Roles start empty: no managed policy, only writes to the function's own log group. Everything else
 * is granted by `grantTopologyPermissions`, from the topology's declared permissions.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AssetHashType, DockerImage, Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  type ILayerVersion,
  Function as LambdaFunction,
  LayerVersion,
  Runtime,
  TenancyConfig,
} from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { ENV, functionNameEnv, queueUrlEnv } from '../../functions/core/env.ts';
import { messageKeyEnv } from '../../functions/core/messages/keys.ts';
import {
  type FunctionName,
  type FunctionSpec,
  functions,
  type MessageKeyPurpose,
  queues,
} from '../topology.ts';
import type { DataStores } from './data.ts';
import { AwsWiringError, MissingSourceError } from './errors.ts';
import { type PermissionTargets, permissionStatements } from './permissions.ts';
import type { ExecutionQueues } from './queues.ts';
import { mapRecord } from './record.ts';

/**
 * SDK clients shipped with the functions that import them: the nodejs22.x runtime's own SDK copy may
 * predate the commands called, and a missing command fails only at run time. Only CloudFront
 * (distribution tenants, managed certificates), imported by the functions that provision hosts, on
 * first use: bundled from this checkout's copy into a chunk of its own (lambdaAssetOptions), which
 * no cold start reads.
 * Tenant-isolated Lambda invocations use the runtime's client with the tenant header written by a
 * middleware (functions/clients/lambda.ts). See docs/decisions/lambda-bundles.md; the cost is measured
 * in bench/RESULTS.md ("Lambda bundle sizes and module init").
 */
export const BUNDLED_SDK_CLIENTS = ['@aws-sdk/client-cloudfront'] as const;

/**
 * SDK modules left to the runtime: long-stable APIs (items, queues, secrets, STS sessions, schedules,
 * Invoke). A bundle loads them with `require`, through runtimeSdkShims.
 */
export const RUNTIME_SDK_MODULES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/client-sqs',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-scheduler',
  '@aws-sdk/client-lambda',
] as const;

/**
 * Packages the build swaps for a stub that throws on use (`lib/aws/stubs/unbundled.ts`): Ajv and its
 * formats, which the MCP SDK's server imports for its default JSON Schema validator. The tenant API
 * gives the server its own (functions/http/mcp-validation.ts), so the default is never built; without
 * the swap it would still be bundled (~130 KiB with fast-uri). Only the SDK's Ajv provider may
 * import them (test/unit/lib/bundles.test.ts); the bench builds with the same swap.
 */
export const UNBUNDLED_PACKAGES = ['ajv', 'ajv-formats'] as const;

/**
 * The file each runtime SDK module is swapped for in a bundle (`lib/aws/runtime-sdk/<name>.cjs`): a
 * CommonJS module that `require`s the runtime's copy at run time. An ESM bundle that `import`s a
 * CommonJS package has Node's ESM loader read it: cjs-module-lexer parses the package and every
 * module it requires, and each is checked for ESM syntax first. Through `require` the same modules load
 * ~30–40 % faster (the DynamoDB and SQS clients: ~50 ms against ~80 on the bench's machine), which is
 * init time of every cold start; the modules are the same (bench/RESULTS.md, "Lambda bundle sizes and
 * module init"; docs/decisions/lambda-bundles.md). The runtime's bootstrap puts its SDK on `NODE_PATH`,
 * which `require` reads and `import` does not.
 */
export function runtimeSdkShims(projectRoot: string): Record<string, string> {
  return Object.fromEntries(
    RUNTIME_SDK_MODULES.map((name) => [
      name,
      resolve(projectRoot, 'lib', 'aws', 'runtime-sdk', `${name.slice(name.indexOf('/') + 1)}.cjs`),
    ]),
  );
}

/**
 * Node's builtins a bundle loads through `require` rather than `import` (`lib/aws/builtins/*.cjs`), by
 * the names a module may import them under. An ES module that imports a builtin has Node build the
 * builtin's ESM facade, which reads every one of its exports; node:http's lazy ones (`WebSocket`,
 * `EventSource`, …) then load undici, which nothing at init uses: ~15 ms of the cold start of the
 * functions that load the outbound HTTP client (functions/core/http-resources/outbound.ts: the
 * http-executor at init, the governance API on its first trial run). Required, node:http loads in
 * ~2.5 ms (bench/RESULTS.md, "node:http required, not imported"). The other builtins' facades cost
 * nothing measurable, so they stay imported.
 */
export const REQUIRED_BUILTINS = ['http'] as const;

/** The shim each name of REQUIRED_BUILTINS is swapped for in a bundle, with and without `node:`. */
export function requiredBuiltinShims(projectRoot: string): Record<string, string> {
  return Object.fromEntries(
    REQUIRED_BUILTINS.flatMap((name) => {
      const file = resolve(projectRoot, 'lib', 'aws', 'builtins', `${name}.cjs`);
      return [
        [`node:${name}`, file],
        [name, file],
      ];
    }),
  );
}

/**
 * esbuild's `alias` for a Lambda bundle, by absolute path: UNBUNDLED_PACKAGES to the stub, the
 * runtime's SDK modules to their shims (runtimeSdkShims), and REQUIRED_BUILTINS to theirs.
 */
export function bundleAliases(projectRoot: string): Record<string, string> {
  const stub = resolve(projectRoot, 'lib', 'aws', 'stubs', 'unbundled.ts');
  return {
    ...Object.fromEntries(UNBUNDLED_PACKAGES.map((name) => [name, stub])),
    ...runtimeSdkShims(projectRoot),
    ...requiredBuiltinShims(projectRoot),
  };
}

/** What a function leaves to the runtime's SDK (the same for every function). */
export function runtimeSdkModules(): string[] {
  return [...RUNTIME_SDK_MODULES];
}

/** `reservedConcurrentExecutions` only where a reservation is configured. */
function reservation(reserved: number | undefined): { reservedConcurrentExecutions?: number } {
  return reserved === undefined ? {} : { reservedConcurrentExecutions: reserved };
}

/**
 * The most concurrent invocations the queue mappings feeding a function may make: the sum of their
 * `maxConcurrency` (the queue's own and, where the function drains a dead-letter queue, that one's).
 */
export function mappedConcurrency(name: FunctionName): number {
  let total = 0;
  for (const spec of Object.values(queues)) {
    if (spec.consumer === name) total += spec.maxConcurrency;
    if (spec.deadLetterConsumer === name) total += spec.deadLetterMaxConcurrency;
  }
  return total;
}

/** A reservation below what the function's mappings may invoke would throttle them: refuse it at synth. */
function assertReservationsCoverMappings(reserved: Readonly<Partial<Record<FunctionName, number>>>): void {
  for (const [name, value] of Object.entries(reserved) as [FunctionName, number | undefined][]) {
    if (value === undefined) continue;
    const mapped = mappedConcurrency(name);
    if (value < mapped) {
      throw new AwsWiringError(
        `Reserved concurrency ${value} of ${name} is below the ${mapped} concurrent invocations its queue mappings may make; reserve at least ${mapped}, or none`,
      );
    }
  }
}

/**
 * The esbuild options CDK's build of a Node function comes to (`bundling` in PlatformFunctions), for
 * the tests and the bench that build a function's bundle themselves.
 */
export function lambdaBuildOptions(projectRoot: string) {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    banner: { js: ESM_REQUIRE_BANNER },
    external: runtimeSdkModules(),
    alias: bundleAliases(projectRoot),
  } as const;
}

/** The folder of an asset's chunks, beside its `index.mjs`. */
export const CHUNKS_DIR = 'chunks';

/**
 * The esbuild options of a Node function's asset, as the stack builds it into `outdir`: `index.mjs`
 * (the entry, `index.handler`) and, code split, `chunks/*.mjs`. What a function imports only
 * dynamically — on first use: the schema validator and RE2, the CloudFront client, the APIs' script
 * check — lands in chunks that no cold start reads. Code in the entry's file is parsed at every cold
 * start, evaluated or not (the validator cost ~5–10 ms of it, the CloudFront client ~20–24 ms:
 * bench/RESULTS.md). Chunks the entry imports statically (code shared with a lazy chunk) load at
 * init with it.
 */
export function lambdaAssetOptions(projectRoot: string, entry: string, outdir: string) {
  return {
    ...lambdaBuildOptions(projectRoot),
    entryPoints: { index: entry },
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    metafile: true,
    logLevel: 'warning',
  } as const;
}

/**
 * ESM bundles still meet CommonJS dependencies that call `require`, and load the runtime's SDK with it
 * (runtimeSdkShims); give them one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __execfabricCreateRequire } from 'node:module'; const require = __execfabricCreateRequire(import.meta.url);";

const LATEST_RUNTIME_REASON: Record<FunctionSpec['runtime'], string> = {
  'nodejs22.x':
    'The runtime is pinned by lib/topology.ts to Node.js 22, the version the project, its tests and the local platform run on; moving to a newer runtime is a topology change, not a drift.',
  'python3.12':
    'The runtime is pinned by lib/topology.ts to Python 3.12, the version the sandboxed runner and the python-runtime layer are built and tested against.',
};

export interface PlatformFunctionsProps {
  /** Repository root: function entries, the Python worker and layers are resolved from it. */
  readonly projectRoot: string;
  readonly data: DataStores;
  readonly queues: ExecutionQueues;
  /** Secrets Manager name prefix of HTTP resource credentials (e.g. `execfabric/http-credentials/`). */
  readonly credentialPrefix: string;
  /** Retention of every function's log group. */
  readonly logRetention: RetentionDays;
  /** The message keys' secrets; a function learns the ARN of each key its topology lists. */
  readonly messageKeys: Readonly<Record<MessageKeyPurpose, ISecret>>;
  /**
   * Reserved concurrency by function (CDK context `execfabric:reservedConcurrency`). Each must cover
   * the `maxConcurrency` of every queue mapping that feeds the function, or a mapping would invoke
   * into a throttle.
   * @default - no reservation: accounts with a low concurrency quota refuse any
   */
  readonly reservedConcurrency?: Readonly<Partial<Record<FunctionName, number>>>;
}

export interface PlatformFunction {
  readonly spec: FunctionSpec;
  readonly fn: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
}

export class PlatformFunctions extends Construct {
  readonly byName: Readonly<Record<FunctionName, PlatformFunction>>;
  private readonly layers = new Map<string, ILayerVersion>();
  private readonly projectRoot: string;

  constructor(scope: Construct, id: string, props: PlatformFunctionsProps) {
    super(scope, id);
    this.projectRoot = props.projectRoot;
    this.byName = mapRecord(functions, (spec) => this.create(spec, props));

    // Base environment: the resources each function's declared permissions point at.
    for (const { spec, fn } of Object.values(this.byName)) {
      const permissions = spec.permissions;
      if (permissions.table !== 'none') fn.addEnvironment(ENV.tableName, props.data.table.tableName);
      if (permissions.claims !== false || permissions.slots)
        fn.addEnvironment(ENV.claimsTableName, props.data.claimsTable.tableName);
      for (const queue of permissions.sendTo) {
        fn.addEnvironment(queueUrlEnv(queue), props.queues.byName[queue].queue.queueUrl);
      }
      for (const target of permissions.invoke) {
        fn.addEnvironment(functionNameEnv(target), this.byName[target].fn.functionName);
      }
      if (permissions.httpCredentials !== 'none')
        fn.addEnvironment(ENV.credentialPrefix, props.credentialPrefix);
      for (const purpose of permissions.messageKeys) {
        fn.addEnvironment(messageKeyEnv(purpose).secret, props.messageKeys[purpose].secretArn);
      }
    }

    // Consumers: each queue's consumer, and each dead-letter queue's consumer where there is one,
    // each mapping bounded by MaximumConcurrency so it stops polling instead of invoking into a throttle.
    for (const { spec, queue, deadLetterQueue } of Object.values(props.queues.byName)) {
      for (const consumer of [spec.consumer, spec.deadLetterConsumer]) {
        if (consumer !== null && functions[consumer].tenancy === 'per-tenant') {
          throw new AwsWiringError(
            `${consumer} runs in tenant isolation mode and takes no event source mapping; a dispatcher must consume ${spec.name}`,
          );
        }
      }
      this.byName[spec.consumer].fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: spec.batchSize,
          reportBatchItemFailures: true,
          maxConcurrency: spec.maxConcurrency,
        }),
      );
      if (spec.deadLetterConsumer !== null) {
        this.byName[spec.deadLetterConsumer].fn.addEventSource(
          new SqsEventSource(deadLetterQueue, {
            batchSize: spec.batchSize,
            reportBatchItemFailures: true,
            maxConcurrency: spec.deadLetterMaxConcurrency,
          }),
        );
      }
    }
    assertReservationsCoverMappings(props.reservedConcurrency ?? {});
  }

  get(name: FunctionName): LambdaFunction {
    return this.byName[name].fn;
  }

  /** Attaches each function's declared permissions (see `permissions.ts`) to its role. */
  grantTopologyPermissions(targets: Omit<PermissionTargets, 'functionArns'>): void {
    const functionArns = mapRecord(this.byName, ({ fn }) => fn.functionArn);
    for (const { spec, role } of Object.values(this.byName)) {
      for (const statement of permissionStatements(spec.permissions, { ...targets, functionArns })) {
        role.addToPrincipalPolicy(statement);
      }
    }
  }

  private create(spec: FunctionSpec, props: PlatformFunctionsProps): PlatformFunction {
    const role = new Role(this, `${spec.name}-role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `ExecFabric ${spec.name}: only what lib/topology.ts declares`,
    });
    const logGroup = new LogGroup(this, `${spec.name}-logs`, { retention: props.logRetention });
    logGroup.grantWrite(role);
    const common = {
      description: `ExecFabric ${spec.name}`,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role,
      logGroup,
      ...reservation(props.reservedConcurrency?.[spec.name] ?? spec.reservedConcurrency),
      // One execution environment per tenant; such a function is invoked (with a tenant id), never mapped.
      ...(spec.tenancy === 'per-tenant' ? { tenancyConfig: TenancyConfig.PER_TENANT } : {}),
    };
    let fn: LambdaFunction;
    switch (spec.runtime) {
      case 'nodejs22.x': {
        const entry = resolve(this.projectRoot, spec.entry);
        if (!existsSync(entry))
          throw new MissingSourceError(`Entry of function "${spec.name}" (${spec.entry})`, entry);
        const projectRoot = this.projectRoot;
        // Built here with esbuild, as NodejsFunction builds (its asset is the project root, hashed by
        // its output), but code split, which NodejsFunction's single `--outfile` cannot be.
        fn = new LambdaFunction(this, spec.name, {
          ...common,
          runtime: Runtime.NODEJS_22_X,
          handler: `index.${spec.handler}`,
          code: Code.fromAsset(projectRoot, {
            assetHashType: AssetHashType.OUTPUT,
            bundling: {
              // Never used: the local build below always succeeds or throws.
              image: DockerImage.fromRegistry('dummy'),
              // Names the entry: CDK caches a bundling by its source and its options' JSON, in which
              // the build function is nothing, so without it every function got the first one's asset.
              command: ['build', spec.entry],
              local: {
                tryBundle(outputDir: string) {
                  buildSync(lambdaAssetOptions(projectRoot, entry, outputDir));
                  return true;
                },
              },
            },
          }),
        });
        break;
      }
      case 'python3.12': {
        const dir = resolve(this.projectRoot, spec.entry);
        const module = spec.handler.slice(0, spec.handler.lastIndexOf('.')).replace(/\./g, '/');
        const handlerFile = [join(dir, `${module}.py`), join(dir, module, '__init__.py')].find((file) =>
          existsSync(file),
        );
        if (handlerFile === undefined) {
          throw new MissingSourceError(
            `Handler module of function "${spec.name}" (${spec.entry}/${module}.py)`,
            join(dir, `${module}.py`),
          );
        }
        fn = new LambdaFunction(this, spec.name, {
          ...common,
          runtime: Runtime.PYTHON_3_12,
          handler: spec.handler,
          code: Code.fromAsset(dir, { exclude: ['**/__pycache__', '**/*.pyc', '.pytest_cache'] }),
          layers: spec.layers.map((layer) => this.layer(layer, Runtime.PYTHON_3_12)),
        });
        break;
      }
    }
    Validations.of(fn).acknowledge({ id: 'AwsSolutions-L1', reason: LATEST_RUNTIME_REASON[spec.runtime] });
    return { spec, fn, role, logGroup };
  }

  /** One layer version per layer folder (`layers/<name>`), shared by every function that lists it. */
  private layer(name: FunctionSpec['layers'][number], runtime: Runtime): ILayerVersion {
    const existing = this.layers.get(name);
    if (existing !== undefined) return existing;
    const dir = resolve(this.projectRoot, 'layers', name);
    if (!existsSync(dir) || readdirSync(dir).length === 0) {
      throw new MissingSourceError(`Layer "${name}" (layers/${name})`, dir);
    }
    const layer = new LayerVersion(this, `${name}-layer`, {
      description: `ExecFabric ${name}`,
      code: Code.fromAsset(dir, { exclude: ['**/__pycache__', '**/*.pyc', '.pytest_cache'] }),
      compatibleRuntimes: [runtime],
      compatibleArchitectures: [Architecture.ARM_64],
    });
    this.layers.set(name, layer);
    return layer;
  }
}
