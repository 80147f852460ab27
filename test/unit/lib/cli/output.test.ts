/**
 * `Output.progress`, on streams that are and are not a terminal: each step's line is printed once,
 * at once without a terminal, after the live bar (on stderr) with one.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../../../../lib/cli/output.ts';

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
