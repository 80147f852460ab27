/**
 * The manifest reader on its edges: whatever text or JSON value a manifest holds, the only failure
 * that comes out is a ManifestError whose problems name the file and a line and column inside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest, ManifestError } from '../../../../lib/cli/manifest.ts';
import { tempDir } from '../../../support/scratch.ts';

const project = tempDir('execfabric-manifest-');
afterAll(project.remove);
const dir = project.path;
mkdirSync(join(dir, 'scripts'));
writeFileSync(join(dir, 'scripts', 'a.py'), 'def main(inputs, ctx):\n    return {}\n');

async function check(text: string, name: string): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, text);
  try {
    await loadManifest(dir, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    const lines = text.split('\n').length;
    for (const problem of (error as ManifestError).problems) {
      expect(problem.file).toContain(name);
      expect(problem.line).toBeGreaterThanOrEqual(1);
      expect(problem.line).toBeLessThanOrEqual(lines + 1);
      expect(problem.column).toBeGreaterThanOrEqual(1);
      expect(problem.message).not.toBe('');
    }
  }
}

const nearManifest = fc.record(
  {
    version: fc.oneof(fc.constant(1), fc.jsonValue()),
    scripts: fc.oneof(
      fc.dictionary(fc.string(), fc.record({ file: fc.oneof(fc.constant('scripts/a.py'), fc.string()) })),
      fc.jsonValue(),
    ),
    skills: fc.oneof(
      fc.dictionary(
        fc.string(),
        fc.record(
          {
            script: fc.string(),
            risk: fc.oneof(fc.constantFrom('low', 'medium', 'high', 'critical'), fc.string()),
            inputSchema: fc.oneof(fc.constant({ type: 'object' }), fc.jsonValue()),
            outputSchema: fc.jsonValue(),
            limits: fc.jsonValue(),
            agent: fc.string(),
            tags: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
            egress: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
            collections: fc.jsonValue(),
            parameters: fc.array(fc.string()),
          },
          { requiredKeys: [] },
        ),
      ),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);

describe('loadManifest', () => {
  it('answers any YAML text with a manifest or a located ManifestError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400 }), (text) => check(text, 'execfabric.yaml')),
      { numRuns: 300 },
    );
  });

  it('answers any JSON value shaped almost like a manifest the same way', async () => {
    await fc.assert(
      fc.asyncProperty(nearManifest, (value) => check(JSON.stringify(value, null, 2), 'execfabric.json')),
      { numRuns: 300 },
    );
  });

  it('reports the shape’s problems and the files’ and references’ in one pass', async () => {
    const file = join(dir, 'execfabric.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'scripts:',
        '  a:',
        '    file: scripts/a.py',
        '  gone:',
        '    file: scripts/gone.py',
        'skills:',
        '  Broken:',
        '    script: a',
        '    inputSchema: { type: object }',
        '    outputSchema: { type: object }',
        '    risk: extreme',
        '  Orphan:',
        '    script: nowhere',
        '    inputSchema: { type: object }',
        '    outputSchema: { type: nonsense }',
        '    risk: high',
        '    approval: one',
        '',
      ].join('\n'),
    );
    const error = await loadManifest(dir, file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ManifestError);
    expect(
      (error as ManifestError).problems.map((problem) => `${problem.line} ${problem.field}`).sort(),
    ).toEqual([
      '12 skills.Broken.risk',
      '14 skills.Orphan.script',
      '16 skills.Orphan.outputSchema',
      '18 skills.Orphan.approval',
      '6 scripts.gone.file',
    ]);
  });

  it('reads a valid manifest with the platform’s defaults applied', async () => {
    writeFileSync(
      join(dir, 'execfabric.yaml'),
      'version: 1\nscripts:\n  a:\n    file: scripts/a.py\nskills:\n  A:\n    script: a\n    agent: laptop\n    inputSchema: { type: object }\n    outputSchema: { type: object }\n    risk: high\n',
    );
    const manifest = await loadManifest(dir, join(dir, 'execfabric.yaml'));
    expect(manifest.scripts).toEqual([
      expect.objectContaining({ name: 'a', file: 'scripts/a.py', activate: true }),
    ]);
    expect(manifest.skills[0]).toMatchObject({
      name: 'A',
      approval: 'two',
      agent: 'laptop',
      version: 'active',
      visibility: { roles: [] },
      limits: { timeoutSeconds: 30, memoryMb: 256 },
      tags: [],
      egress: [],
      collections: [],
      parameters: [],
    });
  });

  it('holds a Skill’s declarations as the platform keeps them: no repeats, sorted but for egress', async () => {
    writeFileSync(
      join(dir, 'execfabric.yaml'),
      [
        'version: 1',
        'scripts: { a: { file: scripts/a.py } }',
        'skills:',
        '  A:',
        '    script: a',
        '    inputSchema: { type: object }',
        '    outputSchema: { type: object }',
        '    risk: low',
        '    tags: [reports, finance, reports]',
        '    egress: [hr-bbbbbbbbbbbb, hr-aaaaaaaaaaaa, hr-bbbbbbbbbbbb]',
        '    collections: [orders, invoices]',
        '    parameters: [region, currency, region]',
        '',
      ].join('\n'),
    );
    const manifest = await loadManifest(dir, join(dir, 'execfabric.yaml'));
    expect(manifest.skills[0]).toMatchObject({
      tags: ['finance', 'reports'],
      egress: ['hr-bbbbbbbbbbbb', 'hr-aaaaaaaaaaaa'],
      collections: ['invoices', 'orders'],
      parameters: ['currency', 'region'],
    });
  });
});
