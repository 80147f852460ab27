/**
 * Every Node function is configured from an explicit environment record: its configuration entry
 * (`handler.ts`) exports `createHandler(env)`, its Lambda entry (`index.ts`, what CDK bundles) passes
 * the process environment to it, and no other module under `functions/` reads `process.env` — the
 * local platform, which passes its own record, could not keep two platforms apart otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationEntry } from '../../../lib/local/lambda.ts';
import { functions } from '../../../lib/topology.ts';

const REPOSITORY_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const nodeFunctions = Object.values(functions).filter((spec) => spec.runtime === 'nodejs22.x');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('Node function entries', () => {
  it.each(nodeFunctions.map((spec) => [spec.name, spec] as const))(
    '%s: the Lambda entry configures handler.ts from the process environment',
    async (_name, spec) => {
      expect(spec.entry).toMatch(/\/index\.ts$/);
      const entry = readFileSync(join(REPOSITORY_ROOT, spec.entry), 'utf8');
      expect(entry).toContain("import { createHandler } from './handler.ts';");
      expect(entry).toMatch(
        new RegExp(`export const ${spec.handler} = (await )?createHandler\\(process\\.env\\);`),
      );
      const module = (await import(join(REPOSITORY_ROOT, configurationEntry(spec)))) as Record<
        string,
        unknown
      >;
      expect(typeof module.createHandler).toBe('function');
    },
  );

  it('reads process.env nowhere else under functions/', () => {
    const entries = new Set(nodeFunctions.map((spec) => spec.entry));
    const readers = sources(join(REPOSITORY_ROOT, 'functions'))
      .map((path) => relative(REPOSITORY_ROOT, path))
      .filter((path) => !entries.has(path))
      .filter((path) =>
        /process\s*\.\s*env|process\s*\[/.test(readFileSync(join(REPOSITORY_ROOT, path), 'utf8')),
      );
    expect(readers).toEqual([]);
  });
});
