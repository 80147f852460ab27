/**
 * Where the CLI keeps its sign-ins: one profile per host in `<config dir>/execfabric/config.json`
 * (`$XDG_CONFIG_HOME`, else `~/.config` on Linux; `%APPDATA%` on Windows; `~/Library/Application
 * Support` on macOS). The folder is 0700 and the file 0600, written whole to a temporary file and
 * renamed, so a crash never leaves half a file and nobody else may read a token. A file that other
 * users may read is refused until its mode is fixed.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.ts';

const profileSchema = z.object({
  /** The origin signed in to, e.g. `http://acme.localhost:8080`. */
  host: z.string(),
  username: z.string(),
  /** A personal access token (`efp_…`). */
  token: z.string(),
  tokenId: z.string(),
  expiresAt: z.string(),
  createdAt: z.string(),
});

export type Profile = z.output<typeof profileSchema>;

const configSchema = z.object({
  /** The host commands use when neither `--host` nor EXECFABRIC_HOST names one. */
  current: z.string().optional(),
  /** The host signed out of last: what a hint names when no host is current (not a target). */
  last: z.string().optional(),
  profiles: z.record(z.string(), profileSchema).default({}),
});

export type CliConfig = z.output<typeof configSchema>;

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg?.startsWith('/')) return join(xdg, 'execfabric');
  if (process.platform === 'win32' && env.APPDATA !== undefined) return join(env.APPDATA, 'execfabric');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'execfabric');
  return join(homedir(), '.config', 'execfabric');
}

export class ConfigStore {
  readonly dir: string;
  readonly file: string;

  constructor(dir: string = configDir()) {
    this.dir = dir;
    this.file = join(dir, 'config.json');
  }

  read(): CliConfig {
    if (!existsSync(this.file)) return { profiles: {} };
    if (process.platform !== 'win32') {
      const mode = statSync(this.file).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new CliError(`${this.file} may be read by other users (mode ${mode.toString(8)})`, {
          details: [`It holds access tokens: run \`chmod 600 ${this.file}\` and try again.`],
        });
      }
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (cause) {
      throw new CliError(`${this.file} is not valid JSON; remove it and sign in again`, { cause });
    }
    const parsed = configSchema.safeParse(raw);
    if (!parsed.success) throw new CliError(`${this.file} is not an ExecFabric CLI configuration; remove it`);
    return parsed.data;
  }

  write(config: CliConfig): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') chmodSync(this.dir, 0o700);
    const temporary = join(this.dir, `.config-${randomBytes(6).toString('hex')}.json`);
    try {
      writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(temporary, this.file);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  profile(origin: string): Profile | undefined {
    return this.read().profiles[origin];
  }

  save(profile: Profile): void {
    const config = this.read();
    this.write({ current: profile.host, profiles: { ...config.profiles, [profile.host]: profile } });
  }

  remove(origin: string): boolean {
    const config = this.read();
    if (config.profiles[origin] === undefined) return false;
    const { [origin]: _removed, ...profiles } = config.profiles;
    const current = config.current === origin ? Object.keys(profiles)[0] : config.current;
    this.write({ ...(current === undefined ? {} : { current }), last: origin, profiles });
    return true;
  }
}
