/**
 * Every code block of the docs site (`docs/**.md`) says how it is kept true: the comment on the line
 * before it is `<!-- example {…} -->` (a Python example run by test/integration/ctx-docs.test.ts),
 * `<!-- tested-by: <test file> -->` (that test exists and reads this page), or
 * `<!-- illustrative… -->` (a picture, not a claim a test checks). A block with none fails here, so
 * the docs cannot grow an unchecked sample.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../lib/local/platform.ts';

const DOCS = resolve(REPOSITORY_ROOT, 'docs');

function pages(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const path = join(folder, entry.name);
    return entry.isDirectory() ? pages(path) : entry.name.endsWith('.md') ? [path] : [];
  });
}

interface Block {
  readonly page: string;
  readonly line: number;
  readonly marker: string | undefined;
}

/** Fenced blocks (``` or ~~~, indented or not) with the comment on the line before, if any. */
function blocks(path: string): Block[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const found: Block[] = [];
  let open: string | undefined;
  for (let index = 0; index < lines.length; index++) {
    const fence = /^\s*(`{3,}|~{3,})/.exec(lines[index] ?? '');
    if (fence === null) continue;
    if (open === undefined) {
      open = fence[1];
      const before = (lines[index - 1] ?? '').trim();
      found.push({
        page: relative(REPOSITORY_ROOT, path),
        line: index + 1,
        marker: /^<!--.*-->$/.test(before) ? before : undefined,
      });
    } else if (fence[1]?.startsWith(open)) {
      open = undefined;
    }
  }
  return found;
}

const ALL = pages(DOCS).flatMap(blocks);

describe('the docs code samples', () => {
  it('finds the pages and their blocks', () => {
    expect(pages(DOCS).length).toBeGreaterThan(15);
    expect(ALL.length).toBeGreaterThan(20);
  });

  it.each(ALL.map((block) => [`${block.page}:${block.line}`, block] as const))(
    '%s is checked or illustrative',
    (_, block) => {
      const marker = block.marker ?? '';
      const kind = /^<!-- (example|tested-by|illustrative)\b/.exec(marker)?.[1];
      expect(
        kind,
        `${block.page}:${block.line} needs <!-- example|tested-by|illustrative --> on the line before`,
      ).toBeDefined();
      if (kind === 'tested-by') {
        const test = /^<!-- tested-by: (\S+)/.exec(marker)?.[1] ?? '';
        const file = resolve(REPOSITORY_ROOT, test);
        expect(existsSync(file), `${block.page}:${block.line}: ${test} does not exist`).toBe(true);
        const text = readFileSync(file, 'utf8');
        const page = relative(REPOSITORY_ROOT, resolve(REPOSITORY_ROOT, block.page));
        expect(text.includes(page), `${test} does not read ${page}`).toBe(true);
      }
      if (kind === 'example') {
        const reader = readFileSync(resolve(REPOSITORY_ROOT, 'test/integration/ctx-docs.test.ts'), 'utf8');
        expect(reader.includes(`'${block.page}'`), `ctx-docs.test.ts does not run ${block.page}`).toBe(true);
      }
    },
  );
});
