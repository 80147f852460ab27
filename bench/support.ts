/**
 * What the benchmarks share: the machine line every recorded result carries, percentiles, and the
 * replacement of one `## heading` section of bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { type LocalPlatform, startLocalPlatform } from '../lib/local/platform.ts';
import { call, type TestResponse } from '../test/support/http.ts';

export const RESULTS = resolve(import.meta.dirname, 'RESULTS.md');

/** The p-th percentile (nearest rank) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** CPUs, model, memory and the load when the benchmark started. */
export function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line !== undefined) model = line.split(':')[1]?.trim() ?? model;
  } catch {
    // not Linux: keep what Node says
  }
  let load = '';
  try {
    load = `, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the start`;
  } catch {
    // no /proc/loadavg
  }
  return `${cpus().length} CPUs (${model}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory${load}`;
}

/** Replaces (or appends) the section that starts with `heading` in bench/RESULTS.md. */
export function recordSection(heading: string, section: string): void {
  const existing = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const start = existing.indexOf(`${heading}\n`);
  let updated: string;
  if (start === -1) {
    updated = `${existing.trimEnd()}\n\n${section}`;
  } else {
    const next = existing.indexOf('\n## ', start + heading.length);
    updated = `${existing.slice(0, start)}${section}${next === -1 ? '' : existing.slice(next + 1)}`;
  }
  writeFileSync(RESULTS, updated.endsWith('\n') ? updated : `${updated}\n`);
}

/**
 * The embedded platform as every benchmark starts it: in memory, no schedule timers, quiet, and no
 * per-host rate limit at the edge (a bench's one tenant host sends far more than a tenant may: the
 * bench measures the platform, not the limit).
 */
export function startBenchPlatform(demoPassword: string): Promise<LocalPlatform> {
  return startLocalPlatform({
    port: 0,
    dataDir: null,
    schedules: false,
    demoPassword,
    log: () => undefined,
    hostRateLimit: false,
  });
}

/**
 * A signed-in user on one host of a bench platform: `api` answers the body of a 2xx and throws on
 * anything else (a benchmark stops rather than measure failures); `skill` binds a new script.
 */
export async function benchUser(platform: LocalPlatform, host: string, username: string, password: string) {
  const login = await call(platform.url, {
    host,
    method: 'POST',
    path: '/api/auth/login',
    body: { username, password },
  });
  if (login.status !== 200) throw new Error(`sign-in of ${username}@${host}: ${login.status} ${login.text}`);
  const token = String(login.body.token);
  const api = async (method: string, path: string, body?: unknown): Promise<TestResponse['body']> => {
    const response = await call(platform.url, {
      host,
      token,
      method,
      path,
      ...(body === undefined ? {} : { body }),
    });
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
    return response.body;
  };
  const skill = async (
    name: string,
    source: string,
    extra: Record<string, unknown> = {},
  ): Promise<string> => {
    const script = await api('POST', '/api/assets/scripts', { name, source });
    const created = await api('POST', '/api/skills', {
      name,
      inputSchema: { type: 'object' },
      outputSchema: {},
      risk: 'low',
      asset: { kind: 'python-script', id: script.id, version: 'active' },
      ...extra,
    });
    return String(created.id);
  };
  return { token, api, skill };
}
