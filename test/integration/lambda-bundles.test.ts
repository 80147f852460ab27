/**
 * The Node functions' assets as the stack builds them (lambdaAssetOptions: esbuild, ESM, code split,
 * the runtime's SDK swapped for its shims in lib/aws/runtime-sdk/, which `require` it), each started in
 * a fresh Node process as Lambda starts it: the SDK is found only through `NODE_PATH`, as the runtime's
 * bootstrap provides it, which `require` reads and an ESM `import` does not. Every asset initialises;
 * the tenant API answers a request that reads the local table through the runtime's SDK; and the
 * CloudFront client, in a chunk of the two functions that provision hosts, is loaded on first use.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, queueUrlEnv } from '../../functions/core/env.ts';
import type { LocalServices } from '../../lib/local/services.ts';
import { functions, type QueueName } from '../../lib/topology.ts';
import { assetFiles, buildAsset, inputsOf } from '../support/lambda-assets.ts';
import { forwardedEvent, lambdaEnvironment } from '../support/lambda-environment.ts';
import { servicesScratch } from '../support/local-services.ts';
import { tempDir } from '../support/scratch.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const nodeFunctions = Object.values(functions).filter((spec) => spec.runtime === 'nodejs22.x');
const scratch = tempDir('execfabric-lambda-bundles-');
const scratchServices = servicesScratch('execfabric-lambda-bundles-data-');
// Where the runtime keeps its SDK, as the bootstrap names it: outside the bundle's folder tree.
const NODE_PATH = join(ROOT, 'node_modules');
let services: LocalServices;

const builds = new Map<string, ReturnType<typeof buildAsset>>();

/**
 * The function's asset, written outside the repository (nothing resolves from beside it); built once
 * per function for the whole file.
 */
function built(name: string, entry: string): ReturnType<typeof buildAsset> {
  let asset = builds.get(name);
  if (asset === undefined) {
    asset = buildAsset(ROOT, entry, join(scratch.path, name));
    builds.set(name, asset);
  }
  return asset;
}

/** The function's entry file (`index.mjs`, the handler's module). */
async function bundled(name: string, entry: string): Promise<string> {
  await built(name, entry);
  return join(scratch.path, name, 'index.mjs');
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
    '%s: the CloudFront client, where bundled, is in a chunk loaded on first use only',
    async (name, entry) => {
      const { metafile } = await built(name, entry);
      const files = assetFiles(metafile);
      const cloudfront = (paths: readonly string[]) =>
        inputsOf(metafile, paths).filter((path) => path.includes('node_modules/@aws-sdk/client-cloudfront/'));
      expect(cloudfront(files.init)).toEqual([]);
      // Exactly the functions that provision hosts carry it.
      expect(cloudfront(files.lazy).length > 0).toBe(name === 'governance-api' || name === 'lifecycle-scan');
    },
    60_000,
  );

  it('the CloudFront client’s chunk loads on first use, with the tenant commands', async () => {
    // What the two functions' edge calls on its first provisioning (functions/clients/cloudfront-edge-calls.ts).
    const probe = join(scratch.path, 'cloudfront-probe.ts');
    writeFileSync(
      probe,
      [
        `import { cloudFrontSdk } from ${JSON.stringify(join(ROOT, 'functions', 'clients', 'cloudfront-edge-calls.ts'))};`,
        "import { createRequire } from 'node:module';",
        'const atInit = Object.keys(createRequire(import.meta.url).cache).length;',
        'const sdk = await cloudFrontSdk();',
        'console.log(JSON.stringify([atInit, typeof sdk.CloudFrontClient, typeof sdk.CreateDistributionTenantCommand, typeof sdk.GetManagedCertificateDetailsCommand]));',
      ].join('\n'),
    );
    const { metafile } = await buildAsset(ROOT, probe, join(scratch.path, 'cloudfront-probe'));
    const files = assetFiles(metafile);
    expect(inputsOf(metafile, files.init).filter((path) => path.includes('client-cloudfront'))).toEqual([]);
    expect(inputsOf(metafile, files.lazy).filter((path) => path.includes('client-cloudfront'))).not.toEqual(
      [],
    );
    const out = fresh(
      `await import(${JSON.stringify(join(scratch.path, 'cloudfront-probe', 'index.mjs'))});`,
      lambdaEnvironment({ NODE_PATH }),
    );
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '[]')).toEqual([
      0,
      'function',
      'function',
      'function',
    ]);
  }, 60_000);

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
    const event = forwardedEvent(env, {
      method: 'GET',
      surface: 'tenant',
      host: 'nobody.example.test',
      path: '/api/skills',
    });
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
