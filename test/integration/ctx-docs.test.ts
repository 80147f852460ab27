/**
 * The Python examples of docs/ctx.md and docs/guide/scripts.md, run through the real platform: every
 * Python block of those pages is marked
 * either `<!-- example {…} -->` (run as a Skill declaring the collections and parameters it names,
 * with its input; its output, and stdout and stderr where given, must match — a line given for
 * stdout must not be on stderr) or `<!-- illustrative… -->`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { HOSTS, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

interface Example {
  readonly page: string;
  readonly line: number;
  readonly source: string;
  readonly spec: {
    readonly collections?: string[];
    readonly parameters?: string[];
    readonly input?: Record<string, unknown>;
    readonly output?: unknown;
    readonly stdout?: string;
    readonly stderr?: string;
  } | null;
}

const PAGES = ['docs/ctx.md', 'docs/guide/scripts.md'] as const;

function examples(): Example[] {
  return PAGES.flatMap((page) => examplesOf(page));
}

function examplesOf(page: string): Example[] {
  const text = readFileSync(resolve(REPOSITORY_ROOT, page), 'utf8');
  const found: Example[] = [];
  const block = /(<!-- (example (\{.*\})|illustrative[^>]*) -->\n)?```python\n([\s\S]*?)```/g;
  for (const match of text.matchAll(block)) {
    const line = text.slice(0, match.index).split('\n').length;
    if (match[1] === undefined)
      throw new Error(`${page} line ${line}: a Python block marked neither example nor illustrative`);
    found.push({
      page,
      line,
      source: match[4] ?? '',
      spec: match[3] === undefined ? null : JSON.parse(match[3]),
    });
  }
  return found;
}

const ALL = examples();

describe('the documented script examples', { timeout: 120_000 }, () => {
  let test: TestPlatform;
  let acme: Runner;

  beforeAll(async () => {
    test = await startTestPlatform('ctx-docs-test-password');
    const alice = await test.login(HOSTS.acme, 'alice');
    acme = runner(test, HOSTS.acme, alice);
    const api = (method: string, path: string, body: unknown) =>
      test.send({ host: HOSTS.acme, token: alice, method, path, body });
    for (const collection of [
      { name: 'counters', schema: { type: 'object', properties: { count: { type: 'integer' } } } },
      {
        name: 'orders',
        schema: {
          type: 'object',
          properties: { id: { type: 'string' }, total: { type: 'number' } },
          required: ['id', 'total'],
        },
      },
    ]) {
      expect((await api('POST', '/api/data/collections', collection)).status).toBe(201);
    }
    for (const [key, value] of [
      ['greeting', 'bonjour'],
      ['region', 'eu-west'],
    ]) {
      expect((await api('POST', '/api/parameters', { key, value })).status).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
  });

  it('marks every Python block as an example or illustrative, and has examples', () => {
    expect(ALL.filter((example) => example.spec !== null).length).toBeGreaterThanOrEqual(6);
  });

  for (const example of ALL.filter((candidate) => candidate.spec !== null)) {
    it(`runs the example of ${example.page} at line ${example.line}`, async () => {
      const spec = example.spec ?? {};
      const skillId = await acme.skill(example.source, {
        ...(spec.collections === undefined ? {} : { collections: spec.collections }),
        ...(spec.parameters === undefined ? {} : { parameters: spec.parameters }),
      });
      const run = await acme.run(skillId, spec.input ?? {});
      expect(run.status, JSON.stringify(run.error ?? run.logs)).toBe('succeeded');
      if (spec.output !== undefined) expect(run.output).toEqual(spec.output);
      if (spec.stdout !== undefined) expect(run.logs.stdout).toContain(spec.stdout);
      if (spec.stdout !== undefined) expect(run.logs.stderr ?? '').not.toContain(spec.stdout);
      if (spec.stderr !== undefined) expect(run.logs.stderr).toContain(spec.stderr);
    });
  }
});
