/**
 * Every hint the CLI prints is worded from the command's own environment (`main(argv, { env })`,
 * the CliContext's), never from `process.env` behind its back: the command name (`npx execfabric`
 * under npm, else `execfabric`) and the local platform's port (PORT, else 8080). Run in process,
 * with an environment unlike the test runner's (which npx starts with npm_command=exec).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../../../lib/cli/config.ts';
import { main } from '../../../../lib/cli/main.ts';
import { Output } from '../../../../lib/cli/output.ts';
import { scratchDir } from '../../../support/scratch.ts';

/** Runs the CLI in this process with exactly `env`, and returns its stderr. */
async function stderrOf(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const sink = (write: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        write(chunk.toString('utf8'));
        done();
      },
    });
  const output = new Output({ stdout: sink(() => undefined), stderr: sink((text) => (stderr += text)) }, env);
  const full = { NO_COLOR: '1', XDG_CONFIG_HOME: scratchDir('execfabric-hints-'), ...env };
  const code = await main(['node', 'execfabric', ...args], { env: full, output });
  return { code, stderr };
}

const npm = { npm_command: 'exec' };

describe('the hints', () => {
  it('name the command as this environment ran it', async () => {
    // No manifest in an empty folder: the hint names init and pull.
    const empty = scratchDir('execfabric-hints-project-');
    const viaNpm = await stderrOf(['push', empty], npm);
    expect(viaNpm.code).toBe(2);
    expect(viaNpm.stderr).toContain(
      'Create one with `npx execfabric init`, or fetch the tenant’s with `npx execfabric pull`.',
    );
    const direct = await stderrOf(['push', empty], {});
    expect(direct.stderr).toContain(
      'Create one with `execfabric init`, or fetch the tenant’s with `execfabric pull`.',
    );

    // Nothing listens on the local host: the hint names dev.
    const token = { EXECFABRIC_TOKEN: 'efp_nothing' };
    const downViaNpm = await stderrOf(['skills', '--host', 'http://acme.localhost:9'], { ...npm, ...token });
    expect(downViaNpm.code).toBe(1);
    expect(downViaNpm.stderr).toContain('Start it with `npx execfabric dev`');
    const down = await stderrOf(['skills', '--host', 'http://acme.localhost:9'], token);
    expect(down.stderr).toContain('Start it with `execfabric dev`');
  });

  it('name the local platform’s port when no host is known: PORT, else 8080', async () => {
    const unset = await stderrOf(['skills'], {});
    expect(unset.code).toBe(3);
    expect(unset.stderr).toContain('execfabric login --host http://acme.localhost:8080');
    const moved = await stderrOf(['skills'], { PORT: '8181' });
    expect(moved.stderr).toContain('execfabric login --host http://acme.localhost:8181');
    // A PORT npm start would refuse (or 0, any free port) says nothing of where it listens.
    for (const PORT of ['', 'http', '0', '70000']) {
      expect((await stderrOf(['skills'], { PORT })).stderr).toContain('--host http://acme.localhost:8080');
    }
    const login = await stderrOf(['login'], { PORT: '8181' });
    expect(login.code).toBe(2);
    expect(login.stderr).toContain('(e.g. http://acme.localhost:8181)');
  });

  it('name the host signed out of last, port and all, over the default', async () => {
    const home = scratchDir('execfabric-hints-home-');
    const store = new ConfigStore(`${home}/execfabric`);
    const host = 'http://acme.localhost:8791';
    store.save({
      host,
      username: 'alice',
      token: 'efp_gone',
      tokenId: 'tok-1',
      expiresAt: '2030-01-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(store.remove(host)).toBe(true);
    expect(store.read().current).toBeUndefined();
    const after = await stderrOf(['skills'], { XDG_CONFIG_HOME: home });
    expect(after.code).toBe(3);
    expect(after.stderr).toContain(`execfabric login --host ${host}`);
    expect(after.stderr).not.toContain(':8080');
  });
});
