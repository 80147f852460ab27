/**
 * Reading a secret on the terminal: the keys (editing, escape sequences, pastes, UTF-8) make the
 * answer, nothing but the question is written, and the terminal leaves raw mode on every way out.
 */
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../../../../lib/cli/errors.ts';
import {
  type ProcessPort,
  readSecret,
  SecretLine,
  secretPrompts,
  type TerminalInput,
} from '../../../../lib/cli/prompt.ts';

/** The secret `keys` (fed chunk by chunk) amount to. */
function typed(...keys: string[]) {
  const line = new SecretLine();
  for (const key of keys) line.feed(key);
  return line.state;
}

describe('SecretLine', () => {
  it.each([
    ['a paste and Enter', ['pass word\r'], 'pass word'],
    ['keys one by one', ['p', 'w', '\r'], 'pw'],
    ['Enter as LF', ['pw\n'], 'pw'],
    ['Backspace (DEL and BS)', ['abcX\u007f', 'Y\b', 'd\r'], 'abcd'],
    ['Backspace on nothing', ['\u007f\u007fab\r'], 'ab'],
    ['Backspace takes a whole character', ['aé😀\u007f\u007f\r'], 'a'],
    ['Ctrl-U', ['wrong start\u0015', 'right\r'], 'right'],
    ['Ctrl-W takes the last word', ['one two\u0017three\r'], 'one three'],
    ['Ctrl-W takes the spaces after it too', ['one two  \u0017\r'], 'one '],
    ['arrows, Home, End, Delete, F5', ['a\u001b[Db\u001b[C\u001b[H\u001b[F\u001b[3~\u001b[15~c\r'], 'abc'],
    ['SS3 arrows and Alt+key', ['a\u001bOAb\u001bxc\r'], 'abc'],
    ['a sequence split between chunks', ['a\u001b', '[', '1;5', 'Db\r'], 'ab'],
    ['a bracketed paste', ['\u001b[200~pasted\u001b[201~\r'], 'pasted'],
    ['Tab and other control keys', ['a\tb\u001a\u0000c\u0085\r'], 'abc'],
    ['what follows Enter is not kept', ['first\rsecond\r'], 'first'],
    ['Ctrl-D once something is typed', ['ab\u0004c\r'], 'abc'],
    ['Enter on nothing', ['\r'], ''],
  ])('%s', (_name, keys, secret) => {
    expect(typed(...keys)).toEqual({ kind: 'entered', secret });
  });

  it('cancels on Ctrl-C, on Ctrl-D with nothing typed, and right after an escape', () => {
    for (const keys of [
      ['abc\u0003'],
      ['\u0004'],
      ['ab\u0015\u0004'],
      ['a\u001b[\u0003'],
      ['a\u001b\u0003'],
    ]) {
      expect(typed(...keys), JSON.stringify(keys)).toEqual({ kind: 'cancelled' });
    }
    expect(typed('ab')).toEqual({ kind: 'typing' });
  });
});

/** A terminal of a test: its input, the raw mode's changes, what is written to it, and a process. */
function fakeTerminal(isTTY = true) {
  const modes: boolean[] = [];
  const input: PassThrough & TerminalInput & { isRaw: boolean } = Object.assign(new PassThrough(), {
    isTTY,
    isRaw: false,
    setRawMode(mode: boolean) {
      modes.push(mode);
      input.isRaw = mode;
    },
  });
  let written = '';
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString('utf8');
      done();
    },
  });
  const kills: string[] = [];
  const host = Object.assign(new EventEmitter(), {
    pid: 4242,
    kill: (pid: number, signal: string) => kills.push(`${pid} ${signal}`),
  }) as EventEmitter & ProcessPort;
  return { input, output, host, modes, kills, written: () => written };
}

/** No listener of the prompt is left on the input or the process. */
function leftNoListener(terminal: ReturnType<typeof fakeTerminal>): void {
  for (const event of ['data', 'end', 'error']) expect(terminal.input.listenerCount(event), event).toBe(0);
  for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP']) {
    expect(terminal.host.listenerCount(event), event).toBe(0);
  }
}

describe('readSecret', () => {
  it('reads UTF-8 split between chunks, writes only the question, and leaves raw mode', async () => {
    const terminal = fakeTerminal();
    const answer = readSecret(terminal, 'Password: ', terminal.host);
    expect(terminal.input.isRaw).toBe(true);
    const bytes = Buffer.from('sécret😀', 'utf8');
    terminal.input.write(bytes.subarray(0, 2));
    terminal.input.write(bytes.subarray(2, 9));
    terminal.input.write(Buffer.concat([bytes.subarray(9), Buffer.from('X\u007f\r')]));
    await expect(answer).resolves.toBe('sécret😀');
    expect(terminal.modes).toEqual([true, false]);
    expect(terminal.written()).toBe('Password: \n');
    leftNoListener(terminal);
  });

  it('is raw before the question is written (nothing typed after it is echoed by the terminal)', async () => {
    const terminal = fakeTerminal();
    const rawWhenWritten: boolean[] = [];
    const write = terminal.output.write.bind(terminal.output);
    terminal.output.write = ((chunk: string) => {
      rawWhenWritten.push(terminal.input.isRaw);
      return write(chunk);
    }) as typeof terminal.output.write;
    const answer = readSecret(terminal, 'Password: ', terminal.host);
    terminal.input.write('pw\r');
    await expect(answer).resolves.toBe('pw');
    // The question and the line after the answer are written raw; then the mode is put back.
    expect(rawWhenWritten).toEqual([true, true]);
    expect(terminal.modes).toEqual([true, false]);
  });

  it('cancels on Ctrl-C, Ctrl-D and the input ending, and leaves raw mode each time', async () => {
    for (const end of [
      (input: PassThrough) => input.write('abc\u0003'),
      (input: PassThrough) => input.write('\u0004'),
      (input: PassThrough) => input.end(),
    ]) {
      const terminal = fakeTerminal();
      const answer = readSecret(terminal, 'Password: ', terminal.host);
      end(terminal.input);
      await expect(answer).rejects.toThrow(new CliError('Cancelled'));
      expect(terminal.modes).toEqual([true, false]);
      expect(terminal.written()).toBe('Password: \n');
      leftNoListener(terminal);
    }
  });

  it('leaves raw mode when the input fails, and passes the error on', async () => {
    const terminal = fakeTerminal();
    const answer = readSecret(terminal, 'Password: ', terminal.host);
    terminal.input.emit('error', new Error('EIO'));
    await expect(answer).rejects.toThrow('EIO');
    expect(terminal.modes).toEqual([true, false]);
    leftNoListener(terminal);
  });

  it('on a signal leaves raw mode first, then raises the signal again', async () => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const terminal = fakeTerminal();
      const answer = readSecret(terminal, 'Password: ', terminal.host);
      terminal.input.write('half a pass');
      terminal.host.emit(signal, signal);
      expect(terminal.modes).toEqual([true, false]);
      expect(terminal.kills).toEqual([`4242 ${signal}`]);
      await expect(answer).rejects.toThrow(new CliError('Cancelled'));
      leftNoListener(terminal);
    }
  });

  it('leaves raw mode when the process exits while asking', () => {
    const terminal = fakeTerminal();
    void readSecret(terminal, 'Password: ', terminal.host);
    terminal.host.emit('exit');
    expect(terminal.modes).toEqual([true, false]);
  });

  it('refuses an input that is not a terminal, and changes nothing', async () => {
    const terminal = fakeTerminal(false);
    await expect(readSecret(terminal, 'Password: ', terminal.host)).rejects.toThrow(UsageError);
    expect(terminal.modes).toEqual([]);
    expect(terminal.written()).toBe('');
  });
});

describe('secretPrompts', () => {
  it('keeps the terminal raw between questions, and keeps keys typed ahead for the next one unseen', async () => {
    const terminal = fakeTerminal();
    const prompts = secretPrompts(terminal, terminal.host);
    await expect(
      (async () => {
        const first = prompts.ask('Current password: ');
        terminal.input.write('old\r');
        return first;
      })(),
    ).resolves.toBe('old');
    // The CLI signs in between the questions; the user types on, and the terminal echoes nothing.
    terminal.input.write('new pass');
    await new Promise((resolve) => setImmediate(resolve));
    expect(terminal.modes).toEqual([true]);
    const second = prompts.ask('New password: ');
    terminal.input.write('word\r');
    await expect(second).resolves.toBe('new password');
    const third = prompts.ask('New password again: ');
    terminal.input.write('new password\r');
    await expect(third).resolves.toBe('new password');
    expect(terminal.modes).toEqual([true]);
    prompts.close();
    expect(terminal.modes).toEqual([true, false]);
    expect(terminal.written()).toBe('Current password: \nNew password: \nNew password again: \n');
    leftNoListener(terminal);
  });

  it('keeps answers typed ahead apart, each for its own question', async () => {
    const terminal = fakeTerminal();
    const prompts = secretPrompts(terminal, terminal.host);
    const first = prompts.ask('Current password: ');
    terminal.input.write('old\r');
    await first;
    // Both new answers typed while the CLI signs in, key by key: nothing is asked yet.
    for (const key of ['n', 'e', 'w', '\r', 'n', 'e', 'w', '\r']) {
      terminal.input.write(key);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(prompts.ask('New password: ')).resolves.toBe('new');
    await expect(prompts.ask('New password again: ')).resolves.toBe('new');
    prompts.close();
    expect(terminal.modes).toEqual([true, false]);
  });

  it('on Ctrl-C typed between questions puts the terminal back and cancels the next one', async () => {
    const terminal = fakeTerminal();
    const prompts = secretPrompts(terminal, terminal.host);
    const first = prompts.ask('Current password: ');
    terminal.input.write('old\r');
    await first;
    terminal.input.write('new\u0003');
    await new Promise((resolve) => setImmediate(resolve));
    expect(terminal.modes).toEqual([true, false]);
    // No signal of its own: the command's clean-up (signing out) runs as the question fails.
    expect(terminal.kills).toEqual([]);
    await expect(prompts.ask('New password: ')).rejects.toThrow(new CliError('Cancelled'));
    leftNoListener(terminal);
  });

  it('cancels the next question once the input has ended, and an open one on close', async () => {
    const ended = fakeTerminal();
    const prompts = secretPrompts(ended, ended.host);
    ended.input.end();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(prompts.ask('New password: ')).rejects.toThrow(new CliError('Cancelled'));
    prompts.close();
    expect(ended.modes).toEqual([true, false]);

    const open = fakeTerminal();
    const asking = secretPrompts(open, open.host);
    const answer = asking.ask('New password: ');
    open.input.write('half');
    asking.close();
    await expect(answer).rejects.toThrow(new CliError('Cancelled'));
    expect(open.modes).toEqual([true, false]);
    expect(open.written()).toBe('New password: \n');
    leftNoListener(open);
  });
});
