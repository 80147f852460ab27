/**
 * Synthesis as an operator runs it: `npx cdk synth` with no AWS credentials anywhere in reach, and
 * the loud failures the stack promises (a missing function source, a malformed context value).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONTEXT, stackPropsFromContext } from '../../lib/aws/context.ts';
import { AwsWiringError, InvalidContextError, MissingSourceError } from '../../lib/aws/errors.ts';
import { ESM_REQUIRE_BANNER } from '../../lib/aws/functions.ts';
import { ExecFabricStack, REPOSITORY_ROOT, STACK_ID } from '../../lib/aws/stack.ts';
import { functions } from '../../lib/topology.ts';
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

describe('npx cdk synth', () => {
  it('synthesizes the stack offline without AWS credentials, and the template carries no secret', () => {
    const home = mkdtempSync(join(tmpdir(), 'execfabric-home-'));
    const out = join(home, 'cdk.out');
    const result = spawnSync(
      'npx',
      ['cdk', 'synth', '--no-notices', '--no-version-reporting', '-q', '-o', out],
      {
        cwd: REPOSITORY_ROOT,
        env: credentialFreeEnv(home),
        encoding: 'utf8',
        timeout: 170_000,
      },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);

    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing ?? []).toEqual([]); // no context lookups, so nothing to ask AWS for
    const text = readFileSync(join(out, `${STACK_ID}.template.json`), 'utf8');
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
    for (const bundle of bundles)
      expect(readFileSync(bundle, 'utf8').startsWith(ESM_REQUIRE_BANNER)).toBe(true);

    // Every validation plugin synth ran (cdk-nag, CloudFormation schema validation) came back clean.
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    };
    expect(report.pluginReports.map((plugin) => plugin.pluginName)).toContain('CloudFormation Validate');
    for (const plugin of report.pluginReports) expect(plugin.violations, plugin.pluginName).toEqual([]);
  }, 180_000);
});

describe('loud failures', () => {
  /** No bundling: these stacks fail before any asset would be built. */
  const app = () => new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });

  it('names the missing entry file of a Node function', () => {
    const emptyRoot = mkdtempSync(join(tmpdir(), 'execfabric-root-'));
    const build = () => new ExecFabricStack(app(), STACK_ID, { projectRoot: emptyRoot });
    expect(build).toThrow(MissingSourceError);
    expect(build).toThrow(functions['tenant-api'].entry);
  });

  it('names the missing handler module of the Python worker', () => {
    const root = mkdtempSync(join(tmpdir(), 'execfabric-root-'));
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
      new ExecFabricStack(app(), STACK_ID, { adminHosts: ['a.example.com'], tenantHosts: ['a.example.com'] });
    expect(build).toThrow(AwsWiringError);
    expect(build).toThrow('a.example.com');
  });

  it('refuses malformed host context and accepts comma-separated -c values', () => {
    const read = (values: Record<string, unknown>) => (key: string) => values[key];
    expect(() => stackPropsFromContext(read({ [CONTEXT.adminHosts]: ['not a host'] }))).toThrow(
      InvalidContextError,
    );
    expect(() => stackPropsFromContext(read({ [CONTEXT.tenantHosts]: [42] }))).toThrow(CONTEXT.tenantHosts);
    const props = stackPropsFromContext(
      read({
        [CONTEXT.adminHosts]: 'Admin.Example.com:443, ops.example.com',
        [CONTEXT.superAdmins]: '["root"]',
      }),
    );
    expect(props.adminHosts).toEqual(['admin.example.com', 'ops.example.com']);
    expect(props.superAdmins).toEqual(['root']);
    expect(props.freeHosts).toEqual([]);
  });
});
