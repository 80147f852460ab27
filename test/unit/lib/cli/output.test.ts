/**
 * `Output.progress`, on streams that are and are not a terminal: each step's line is printed once,
 * at once without a terminal, after the live bar (on stderr) with one.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output, printable } from '../../../../lib/cli/output.ts';

function streams(isTTY: boolean) {
  const text = { stdout: '', stderr: '' };
  const sink = (name: keyof typeof text) =>
    Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          text[name] += chunk.toString('utf8');
          done();
        },
      }),
      isTTY ? { isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true } : {},
    );
  return { text, output: new Output({ stdout: sink('stdout'), stderr: sink('stderr') }, { NO_COLOR: '1' }) };
}

describe('progress', () => {
  it('prints each step’s line once, as it ends, when not on a terminal', () => {
    const { text, output } = streams(false);
    const progress = output.progress(3, 'Pushing');
    progress.step('first', '+ first → done');
    expect(text.stdout).toBe('+ first → done\n');
    progress.step('second', '+ second → done');
    progress.step('third');
    progress.stop();
    progress.stop();
    expect(text.stdout).toBe('+ first → done\n+ second → done\n');
    expect(text.stderr).toBe('');
  });

  it('draws a live bar on a terminal, then prints each step’s line once', () => {
    const { text, output } = streams(true);
    const progress = output.progress(3, 'Pushing');
    progress.step('first', '+ first → done');
    progress.step('second', '+ second → done');
    progress.step('third', '+ third → done');
    expect(text.stdout).toBe('');
    progress.stop();
    progress.stop();
    expect(text.stderr).toContain('Pushing [');
    expect(text.stderr).toContain('3/3 third');
    expect(text.stdout).toBe('+ first → done\n+ second → done\n+ third → done\n');
  });
});

describe('text from the platform', () => {
  it('prints a name’s control characters and bidirectional overrides as escapes, in tables too', () => {
    const hostile = 'a1\u001b[31mRED\u001b]8;;http://evil\u0007link\u009b2J\u202eevil';
    expect(printable(hostile)).toBe('a1\\u{1b}[31mRED\\u{1b}]8;;http://evil\\u{7}link\\u{9b}2J\\u{202e}evil');
    expect(printable('Café ☕ 名前 – plain')).toBe('Café ☕ 名前 – plain');
    const { text, output } = streams(false);
    output.table(['NAME'], [[hostile]]);
    for (const line of text.stdout.trimEnd().split('\n')) expect(line).not.toMatch(/[\p{Cc}\u202e]/u);
    expect(text.stdout).toContain('\\u{1b}[31mRED');
  });

  it('shows what the API now refuses in a name stored before: invisible marks, joiners, tags, separators', () => {
    // A name that looks like "Payroll export" and one that prints in another order, made before the rule.
    expect(printable('Payroll\u200b export')).toBe('Payroll\\u{200b} export');
    expect(printable('inv\u200fo\u2028ice\u061c\ufeff\u{e0041}x\u2060\ud800')).toBe(
      'inv\\u{200f}o\\u{2028}ice\\u{61c}\\u{feff}\\u{e0041}x\\u{2060}\\u{d800}',
    );
    expect(printable('Coffee ☕️ 👍🏽 🇫🇷 e\u0301')).toBe('Coffee ☕️ 👍🏽 🇫🇷 e\u0301');
  });
});
