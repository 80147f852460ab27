/**
 * The Node functions as CDK bundles them (esbuild, ESM, the runtime's SDK swapped for its shims in
 * lib/aws/runtime-sdk/, which `require` it), each started in a fresh Node process as Lambda starts it:
 * the SDK is found only through `NODE_PATH`, as the runtime's bootstrap provides it, which `require`
 * reads and an ESM `import` does not. Every bundle initialises; the bundled tenant API answers a
 * request that reads the local table through the runtime's SDK; and the CloudFront client, shipped
 * beside the bundles of the functions that provision hosts (lib/aws/side-modules.ts), is what their
 * dynamic import finds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_HEADER, ORIGIN_HEADER } from '../../functions/contract/headers.ts';
import { ENV, queueUrlEnv } from '../../functions/core/env.ts';
import { lambdaBuildOptions } from '../../lib/aws/functions.ts';
import { writeSideModules } from '../../lib/aws/side-modules.ts';
import type { LocalServices } from '../../lib/local/services.ts';
import { functions, type QueueName } from '../../lib/topology.ts';
import { lambdaEnvironment } from '../support/lambda-environment.ts';
import { servicesScratch } from '../support/local-services.ts';
import { tempDir } from '../support/scratch.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const nodeFunctions = Object.values(functions).filter((spec) => spec.runtime === 'nodejs22.x');
const scratch = tempDir('execfabric-lambda-bundles-');
const scratchServices = servicesScratch('execfabric-lambda-bundles-data-');
// Where the runtime keeps its SDK, as the bootstrap names it: outside the bundle's folder tree.
const NODE_PATH = join(ROOT, 'node_modules');
let services: LocalServices;

const builds = new Map<string, Promise<string>>();

/**
 * The function's bundle, written outside the repository (nothing resolves from beside it), with what
 * CDK's afterBundling hook adds to the asset; built once per function for the whole file.
 */
function bundled(name: string, entry: string): Promise<string> {
  let file = builds.get(name);
  if (file === undefined) {
    file = buildFor(name, entry);
    builds.set(name, file);
  }
  return file;
}

async function buildFor(name: string, entry: string): Promise<string> {
  const result = await build({
    ...lambdaBuildOptions(ROOT),
    entryPoints: [resolve(ROOT, entry)],
    write: false,
    outfile: 'index.mjs',
    logLevel: 'silent',
  });
  const dir = join(scratch.path, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  writeFileSync(file, result.outputFiles?.[0]?.contents ?? '');
  // The bundled SDK clients it imports, beside it.
  await writeSideModules(ROOT, dir);
  return file;
}

/** Runs `script` (an ES module) in a fresh Node process with `env`; what it prints. */
function fresh(script: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: scratch.path,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(async () => {
  services = await scratchServices.start({ dataDir: null, visibilityTimeoutSeconds: null });
});
afterAll(() => scratch.remove());

describe('the Lambda bundles, started as Lambda starts them', () => {
  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry, spec.handler] as const))(
    '%s: initialises and exports its handler, without loading undici, nor the Lambda client unless it invokes at every run',
    async (name, entry, handler) => {
      const file = await bundled(name, entry);
      const out = fresh(
        [
          "import { createRequire } from 'node:module';",
          `const m = await import(${JSON.stringify(file)});`,
          // Node's internal modules loaded so far: node:http's ESM facade would have loaded undici.
          "const undici = process.moduleLoadList.filter((m) => m.includes('undici'));",
          'const lambda = Object.keys(createRequire(import.meta.url).cache).some((path) => /[\\\\/]@aws-sdk[\\\\/]client-lambda[\\\\/]/.test(path));',
          `console.log(JSON.stringify([typeof m[${JSON.stringify(handler)}], undici, lambda]));`,
        ].join('\n'),
        lambdaEnvironment({ NODE_PATH }),
      );
      // Only the dispatcher invokes at every run (the worker); the APIs' script check loads the client
      // on its first check (functions/clients/script-checker.ts).
      expect(JSON.parse(out.trim().split('\n').at(-1) ?? '[]')).toEqual([
        'function',
        [],
        name === 'script-dispatcher',
      ]);
    },
    60_000,
  );

  it.each(nodeFunctions.map((spec) => [spec.name, spec.entry] as const))(
    '%s: the CloudFront client, where imported, is the module beside the bundle, with the tenant commands',
    async (name, entry) => {
      const file = await bundled(name, entry);
      const dir = join(file, '..');
      const imports = readFileSync(file, 'utf8').includes('import("@aws-sdk/client-cloudfront")');
      const shipped = existsSync(join(dir, 'node_modules', '@aws-sdk', 'client-cloudfront', 'index.mjs'));
      // Exactly the functions that provision hosts import it, and only they ship it.
      expect(imports).toBe(name === 'governance-api' || name === 'lifecycle-scan');
      expect(shipped).toBe(imports);
      if (!imports) return;
      // Resolved as the bundle's dynamic import resolves it: from the bundle's folder, not NODE_PATH.
      const probe = join(dir, 'probe.mjs');
      writeFileSync(
        probe,
        "const sdk = await import('@aws-sdk/client-cloudfront');\nconsole.log(JSON.stringify([import.meta.resolve('@aws-sdk/client-cloudfront'), typeof sdk.CloudFrontClient, typeof sdk.CreateDistributionTenantCommand, typeof sdk.GetManagedCertificateDetailsCommand]));\n",
      );
      const out = execFileSync(process.execPath, [probe], {
        cwd: dir,
        env: lambdaEnvironment(),
        encoding: 'utf8',
      });
      expect(JSON.parse(out)).toEqual([
        pathToFileURL(join(dir, 'node_modules', '@aws-sdk', 'client-cloudfront', 'index.mjs')).href,
        'function',
        'function',
        'function',
      ]);
    },
    60_000,
  );

  it('the tenant API reads the table through the runtime’s SDK, required', async () => {
    const file = await bundled('tenant-api', functions['tenant-api'].entry);
    const queueUrls = Object.fromEntries(
      Object.entries(services.queues).map(([name, queue]) => [queueUrlEnv(name as QueueName), queue.url]),
    );
    const env = lambdaEnvironment({
      NODE_PATH,
      AWS_ACCESS_KEY_ID: services.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: services.credentials.secretAccessKey,
      [ENV.dynamodbEndpoint]: services.dynamodbEndpoint,
      [ENV.sqsEndpoint]: services.sqsEndpoint,
      [ENV.tableName]: services.tableName,
      [ENV.claimsTableName]: services.claimsTableName,
      ...queueUrls,
    });
    const event = {
      version: '2.0',
      routeKey: 'ANY /tenant/api/{proxy+}',
      rawPath: '/tenant/api/skills',
      rawQueryString: '',
      headers: {
        [ORIGIN_HEADER]: env[ENV.originSecret],
        [HOST_HEADER]: 'nobody.example.test',
        accept: 'application/json',
      },
      requestContext: {
        http: {
          method: 'GET',
          path: '/tenant/api/skills',
          protocol: 'HTTP/1.1',
          sourceIp: '192.0.2.1',
          userAgent: 'test',
        },
        requestId: 'r1',
        routeKey: 'ANY /tenant/api/{proxy+}',
        stage: '$default',
        timeEpoch: Date.now(),
      },
      isBase64Encoded: false,
    };
    const out = fresh(
      [
        `const { handler } = await import(${JSON.stringify(file)});`,
        `const answer = await handler(${JSON.stringify(event)}, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000, functionName: 'tenant-api' });`,
        "const { createRequire } = await import('node:module');",
        'const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /[\\\\/]@aws-sdk[\\\\/](client-dynamodb|lib-dynamodb)[\\\\/]/.test(path));',
        'console.log(JSON.stringify({ answer, required: loaded.length > 0 }));',
      ].join('\n'),
      env,
    );
    const { answer, required } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      answer: { statusCode: number; headers: Record<string, string>; body: string };
      required: boolean;
    };
    // Only a host lookup that reached the table and found nothing answers so (a failed read is a 5xx).
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:execfabric:problem:unknown-host' });
    // The DynamoDB clients came through Node's CommonJS loader, from NODE_PATH.
    expect(required).toBe(true);
  }, 60_000);
});
