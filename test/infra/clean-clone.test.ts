/**
 * `npx cdk synth` from a clean clone, as an operator's first command after `git clone && npm ci`:
 * the tracked files only (no `frontend/dist`), the installed dependencies, no AWS credentials. The
 * synth builds the sites itself, and the cloud assembly uploads each one: a deploy from a clean clone
 * never answers 403 for want of a page. The context is docs/deploy.md's first command.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, STACK_ID } from '../../lib/aws/stack.ts';
import { sites } from '../../lib/topology.ts';
import { documentedCommands, shellWords } from '../support/shell.ts';

/** The working tree's files a commit would hold (tracked, or new and not ignored), copied as a clone would have them. */
function cleanClone(): string {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  });
  expect(listed.status, listed.stderr).toBe(0);
  const clone = mkdtempSync(join(tmpdir(), 'execfabric-clone-'));
  for (const file of listed.stdout.split('\0').filter((name) => name !== '')) {
    if (!existsSync(join(REPOSITORY_ROOT, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(join(REPOSITORY_ROOT, file), join(clone, file));
  }
  symlinkSync(join(REPOSITORY_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  return clone;
}

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
  };
}

describe('a clean clone', () => {
  it('synthesizes with every site built and uploaded', () => {
    const clone = cleanClone();
    try {
      synthesizesWithEverySite(clone);
    } finally {
      // ~55 MB a run (the copy and its cdk.out): left behind, every suite run filled the temp folder.
      rmSync(clone, { recursive: true, force: true });
    }
  }, 300_000);
});

function synthesizesWithEverySite(clone: string): void {
  expect(existsSync(join(clone, 'frontend', 'dist'))).toBe(false);
  const first = documentedCommands(readFileSync(join(clone, 'docs', 'deploy.md'), 'utf8')).find((command) =>
    command.startsWith('npx cdk synth'),
  );
  expect(first).toBeDefined();
  const out = join(clone, 'cdk.out');
  const result = spawnSync(
    'npx',
    [...shellWords(first ?? '').slice(1), '--no-notices', '--no-version-reporting', '-q', '-o', out],
    { cwd: clone, env: credentialFreeEnv(clone), encoding: 'utf8', timeout: 280_000 },
  );
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stderr).toContain('Building the sites');

  const template = JSON.parse(readFileSync(join(out, `${STACK_ID}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  const uploads = Object.values(template.Resources).filter((r) => r.Type === 'Custom::CDKBucketDeployment');
  expect(uploads.map((upload) => upload.Properties?.DestinationBucketKeyPrefix).sort()).toEqual(
    Object.keys(sites)
      .map((site) => `${site}/`)
      .sort(),
  );
  // Each upload's source asset holds the built site's page.
  for (const upload of uploads) {
    const keys = upload.Properties?.SourceObjectKeys as string[];
    expect(keys).toHaveLength(1);
    const hash = String(keys[0]).replace(/\.zip$/, '');
    expect(existsSync(join(out, `asset.${hash}`, 'index.html')), `asset.${hash}`).toBe(true);
  }
}
