/**
 * Synthesis as an operator runs it: `npx cdk synth` with no AWS credentials anywhere in reach, and
 * the loud failures the stack promises (a missing function source, a malformed context value).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CONTEXT, stackPropsFromContext, stageContext } from '../../lib/aws/context.ts';
import { AwsWiringError, InvalidContextError, MissingSourceError } from '../../lib/aws/errors.ts';
import {
  BUNDLED_SDK_CLIENTS,
  CHUNKS_DIR,
  ESM_REQUIRE_BANNER,
  RUNTIME_SDK_MODULES,
} from '../../lib/aws/functions.ts';
import { ExecFabricStack, REPOSITORY_ROOT, STACK_ID, stackIdFor } from '../../lib/aws/stack.ts';
import { functions } from '../../lib/topology.ts';
import { scratchDir } from '../support/scratch.ts';
import { cdkJsonContext, secretLookingLiterals } from './support.ts';

/** The environment minus anything that could lend AWS credentials or reach the network via npm. */
function credentialFreeEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^AWS_|^CDK_|^npm_config_|^NPM_CONFIG_/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    NPM_CONFIG_OFFLINE: 'true',
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    NPM_CONFIG_FUND: 'false',
  };
}

/** Where the synthesized template is left for scripts/cfn-lint.mjs (git-ignored). */
const LINTED_TEMPLATE_DIR = join(REPOSITORY_ROOT, 'cdk.out', 'infra-test');

describe('npx cdk synth', () => {
  it('synthesizes the stack offline without AWS credentials, and the template carries no secret', () => {
    const home = scratchDir('execfabric-home-');
    const out = join(home, 'cdk.out');
    const result = spawnSync(
      'npx',
      ['cdk', 'synth', '--no-notices', '--no-version-reporting', '-q', '-o', out],
      {
        cwd: REPOSITORY_ROOT,
        env: credentialFreeEnv(home),
        encoding: 'utf8',
        timeout: 400_000,
      },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);

    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing ?? []).toEqual([]); // no context lookups, so nothing to ask AWS for
    const text = readFileSync(join(out, `${STACK_ID}.template.json`), 'utf8');
    // Left for `npm run check:cfn-lint` (scripts/cfn-lint.mjs), which runs after the tests.
    mkdirSync(LINTED_TEMPLATE_DIR, { recursive: true });
    writeFileSync(join(LINTED_TEMPLATE_DIR, `${STACK_ID}.template.json`), text);
    expect(text).toContain('"ConnectionMode": "tenant-only"');
    expect(text).toContain('{{resolve:secretsmanager:');
    expect(text).not.toContain('"SecretString"');
    expect(secretLookingLiterals(JSON.parse(text))).toEqual([]);

    // Node functions are ESM bundles that can still `require` (the banner comes first).
    const bundles = readdirSync(out)
      .filter((entry) => entry.startsWith('asset.'))
      .map((entry) => join(out, entry, 'index.mjs'))
      .filter((file) => existsSync(file));
    const nodeFunctions = Object.values(functions).filter((spec) => spec.runtime === 'nodejs22.x');
    expect(bundles).toHaveLength(nodeFunctions.length);
    const imported = new Set<string>();
    const required = new Set<string>();
    let tenantCommands = 0;
    for (const bundle of bundles) {
      const entry = readFileSync(bundle, 'utf8');
      expect(entry.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      // The asset is code split (lambdaAssetOptions): the entry, and its chunks beside it.
      const chunksDir = join(bundle, '..', CHUNKS_DIR);
      const chunks = existsSync(chunksDir)
        ? readdirSync(chunksDir).map((name) => readFileSync(join(chunksDir, name), 'utf8'))
        : [];
      for (const chunk of chunks) expect(chunk.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      for (const code of [entry, ...chunks]) {
        // The bundles' own imports (ESM `from"…"`), not package names quoted in error messages.
        for (const match of code.matchAll(/\bfrom\s*"(@aws-sdk\/[a-z0-9-]+)"/g)) imported.add(match[1] ?? '');
        // The runtime's SDK modules, required by their shims (lib/aws/runtime-sdk/): `var x="…";y.exports=z(x)`.
        for (const match of code.matchAll(/([\w$]+)="(@aws-sdk\/[a-z0-9-]+)";[\w$]+\.exports=[\w$]+\(\1\)/g))
          required.add(match[2] ?? '');
        // node:http is required too (lib/aws/builtins/): its ESM facade would load undici at init.
        expect(code.match(/\bfrom\s*"(node:)?http"/)).toBeNull();
      }
      // The CloudFront client (its operations' paths) is bundled into a chunk, never the entry.
      const client = (code: string) =>
        code.includes('/2020-05-31/distribution-tenant') && code.includes('/managed-certificate/');
      expect(client(entry)).toBe(false);
      if (chunks.some(client)) tenantCommands += 1;
    }
    // No asset imports an SDK module (ESM): the runtime's stable clients are required through their
    // shims, and only they; CloudFront is bundled.
    expect([...imported]).toEqual([]);
    expect(required.has('@aws-sdk/lib-dynamodb')).toBe(true);
    expect(
      [...required].filter((name) => !(RUNTIME_SDK_MODULES as readonly string[]).includes(name)),
    ).toEqual([]);
    expect(required.has(BUNDLED_SDK_CLIENTS[0])).toBe(false);
    // The governance API and the lifecycle scan, which provision hosts, carry it with those commands.
    expect(tenantCommands, 'the distribution-tenant commands in a chunk of two assets').toBe(2);

    // Every validation plugin synth ran (cdk-nag, CloudFormation schema validation) came back clean.
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    };
    expect(report.pluginReports.map((plugin) => plugin.pluginName)).toContain('CloudFormation Validate');
    for (const plugin of report.pluginReports) expect(plugin.violations, plugin.pluginName).toEqual([]);
  }, 420_000);
});

describe('loud failures', () => {
  /**
   * No bundling: these stacks fail before any asset would be built. Each app writes into the test's
   * own scratch folder (without an `outdir` it makes one in the system temp folder and leaves it).
   */
  const app = () =>
    new App({
      outdir: scratchDir('execfabric-cdk-'),
      context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    });

  it('names the missing entry file of a Node function', () => {
    const emptyRoot = scratchDir('execfabric-root-');
    const build = () => new ExecFabricStack(app(), STACK_ID, { projectRoot: emptyRoot });
    expect(build).toThrow(MissingSourceError);
    expect(build).toThrow(functions['tenant-api'].entry);
  });

  it('names the missing handler module of the Python worker', () => {
    const root = scratchDir('execfabric-root-');
    for (const spec of Object.values(functions)) {
      if (spec.runtime !== 'nodejs22.x') continue;
      mkdirSync(join(root, spec.entry, '..'), { recursive: true });
      writeFileSync(join(root, spec.entry), 'export const handler = async () => undefined;\n');
    }
    writeFileSync(join(root, 'package-lock.json'), '{}\n');
    const build = () => new ExecFabricStack(app(), STACK_ID, { projectRoot: root });
    expect(build).toThrow(MissingSourceError);
    expect(build).toThrow(`${functions['script-worker'].entry}/handler.py`);
  });

  it('refuses a host that is bound to two surfaces', () => {
    const build = () =>
      new ExecFabricStack(app(), STACK_ID, { adminHosts: ['a.example.com'], freeHosts: ['a.example.com'] });
    expect(build).toThrow(AwsWiringError);
    expect(build).toThrow('a.example.com');
  });

  it('refuses malformed host context and accepts comma-separated -c values', () => {
    const read = (values: Record<string, unknown>) => (key: string) => values[key];
    expect(() => stackPropsFromContext(read({ [CONTEXT.adminHosts]: ['not a host'] }))).toThrow(
      InvalidContextError,
    );
    expect(() => stackPropsFromContext(read({ [CONTEXT.freeHosts]: [42] }))).toThrow(CONTEXT.freeHosts);
    const props = stackPropsFromContext(
      read({
        [CONTEXT.adminHosts]: 'Admin.Example.com:443, ops.example.com',
        [CONTEXT.superAdmins]: '["root"]',
      }),
    );
    expect(props.adminHosts).toEqual(['admin.example.com', 'ops.example.com']);
    expect(props.superAdmins).toEqual(['root']);
    expect(props.freeHosts).toEqual([]);
    expect(props.reservedConcurrency).toEqual({});
  });

  it('refuses a retired context key rather than ignoring it', () => {
    const read = (key: string) => (key === 'execfabric:tenantHosts' ? ['acme.example.com'] : undefined);
    expect(() => stackPropsFromContext(read)).toThrow(/execfabric:tenantHosts.*bound at run time/);
  });

  it('refuses a certificate outside us-east-1, and certificate hosts without a certificate', () => {
    const read = (values: Record<string, unknown>) => (key: string) => values[key];
    expect(() =>
      stackPropsFromContext(
        read({ [CONTEXT.certificateArn]: 'arn:aws:acm:eu-west-1:111122223333:certificate/abc' }),
      ),
    ).toThrow(/us-east-1/);
    expect(() => stackPropsFromContext(read({ [CONTEXT.certificateHosts]: ['*.example.com'] }))).toThrow(
      CONTEXT.certificateArn,
    );
    expect(
      stackPropsFromContext(
        read({
          [CONTEXT.certificateArn]: 'arn:aws:acm:us-east-1:111122223333:certificate/abc-1',
          [CONTEXT.certificateHosts]: '*.Example.com, example.com',
        }),
      ).certificateHosts,
    ).toEqual(['*.example.com', 'example.com']);
  });

  it('reads a CloudFront web ACL ARN, and refuses a regional one or one outside us-east-1', () => {
    const read = (value: unknown) => (key: string) => (key === CONTEXT.webAclArn ? value : undefined);
    const arn =
      'arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge/0f3c2a4e-8d1b-4c7a-9e6f-1a2b3c4d5e6f';
    expect(stackPropsFromContext(read(arn)).webAclArn).toBe(arn);
    expect(stackPropsFromContext(read(undefined))).not.toHaveProperty('webAclArn');
    for (const wrong of [
      arn.replace('global/', 'regional/'),
      arn.replace('us-east-1', 'eu-west-1'),
      'edge',
    ]) {
      expect(() => stackPropsFromContext(read(wrong)), wrong).toThrow(/scope CLOUDFRONT/);
    }
  });

  it('reads reserved concurrency as a map of topology functions to whole numbers', () => {
    const read = (value: unknown) => (key: string) =>
      key === CONTEXT.reservedConcurrency ? value : undefined;
    expect(stackPropsFromContext(read('{"http-executor":30}')).reservedConcurrency).toEqual({
      'http-executor': 30,
    });
    expect(() => stackPropsFromContext(read({ 'no-such-fn': 3 }))).toThrow(/no function "no-such-fn"/);
    expect(() => stackPropsFromContext(read({ 'http-executor': 0 }))).toThrow(/at least 1/);
    expect(() => stackPropsFromContext(read('[1]'))).toThrow(CONTEXT.reservedConcurrency);
  });

  it('refuses a reservation below what the function’s queue mappings may invoke', () => {
    const build = () => new ExecFabricStack(app(), STACK_ID, { reservedConcurrency: { 'http-executor': 3 } });
    expect(build).toThrow(AwsWiringError);
    expect(build).toThrow(/http-executor.*at least 20/);
  });

  it('names a stage’s stack after it, and refuses a malformed stage', () => {
    expect(stackIdFor(undefined)).toBe('ExecFabric');
    expect(stackIdFor(stageContext(CONTEXT.stage, 'staging'))).toBe('ExecFabric-staging');
    expect(() => stageContext(CONTEXT.stage, 'Staging!')).toThrow(InvalidContextError);
  });

  it('gives two stages of one account distinct names for every account-wide CloudFront resource', () => {
    // Stack names drive these names, so each stage is built on its own (one synthesis per app).
    const names = (id: string) => {
      const template = Template.fromStack(new ExecFabricStack(app(), id));
      const of = (type: string, ...path: string[]) =>
        Object.values(template.findResources(type)).map((resource) =>
          JSON.stringify(
            path.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], resource.Properties),
          ),
        );
      return [
        ...of('AWS::CloudFront::OriginAccessControl', 'OriginAccessControlConfig', 'Name'),
        ...of('AWS::CloudFront::Function', 'Name'),
        ...of('AWS::CloudFront::ConnectionGroup', 'Name'),
      ];
    };
    const production = names(STACK_ID);
    const staging = names(stackIdFor(stageContext(CONTEXT.stage, 'staging')));
    expect(production.length).toBeGreaterThan(0);
    expect(staging.length).toBe(production.length);
    expect(staging.filter((name) => production.includes(name))).toEqual([]);
  }, 120_000);

  it('refuses a named site folder that holds no built page', () => {
    const empty = scratchDir('execfabric-site-');
    const build = () => new ExecFabricStack(app(), STACK_ID, { siteDirs: { tenant: empty } });
    expect(build).toThrow(MissingSourceError);
    expect(build).toThrow(/Built site "tenant".*npm run build:sites/);
  });
});
