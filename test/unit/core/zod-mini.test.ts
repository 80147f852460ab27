/**
 * functions/core/zod-mini.ts: zod/mini with zod's English messages. zod/mini sets no locale of its
 * own, so in a function that loads no classic zod (the recorder, whose messages name why a run
 * failed) every issue would read "Invalid input". The messages match classic zod's, issue for issue.
 * Run in a fresh process: this test file's own imports load classic zod, which sets the locale.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as classic from 'zod';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe('zod/mini as the functions use it', () => {
  it('says what is wrong in English, as classic zod does', () => {
    const script = [
      `import * as z from ${JSON.stringify(resolve(ROOT, 'functions/core/zod-mini.ts'))};`,
      'const schema = z.strictObject({ id: z.string().check(z.minLength(2)), n: z.int().check(z.minimum(1)) });',
      "const result = schema.safeParse({ id: 'a', n: 0.5, extra: true });",
      'console.log(JSON.stringify(result.error.issues.map((issue) => issue.message)));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const mini = JSON.parse(out.trim()) as string[];
    const expected = classic
      .strictObject({ id: classic.string().min(2), n: classic.int().min(1) })
      .safeParse({ id: 'a', n: 0.5, extra: true })
      .error?.issues.map((issue) => issue.message);
    expect(mini).toEqual(expected);
    expect(mini).not.toContain('Invalid input');
  });
});
