/**
 * What the benchmarks share: the machine line every recorded result carries, percentiles, and the
 * replacement of one `## heading` section of bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';

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
