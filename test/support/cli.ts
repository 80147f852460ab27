/**
 * Runs the real `execfabric` command as a child process (the package's bin shim, which runs the
 * TypeScript entry through tsx as `npx execfabric` does in a clone), with its own configuration
 * folder and only the environment a test gives it.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REPOSITORY_ROOT } from '../../lib/local/platform.ts';
import { scratchDir } from './scratch.ts';

export const CLI_BIN = resolve(REPOSITORY_ROOT, 'bin', 'execfabric.mjs');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Extra environment (added to PATH, HOME, the config folder and NO_COLOR). */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Written to standard input, which is then closed. */
  readonly input?: string;
  /** The command to run instead of the clone's bin (an installed one). */
  readonly bin?: string;
  readonly timeoutMs?: number;
}

export interface CliSession {
  /** The configuration folder (XDG_CONFIG_HOME) of this session's sign-ins. */
  readonly configHome: string;
  run(args: readonly string[], options?: CliRunOptions): Promise<CliResult>;
}

/**
 * A session with its own configuration folder: by default a new one removed when the running test
 * ends (so only inside a test); a session made in `beforeAll` is given a folder its `afterAll` removes.
 */
export function cliSession(configHome = scratchDir('execfabric-cli-')): CliSession {
  return {
    configHome,
    run: (args, options = {}) =>
      runCli(args, { ...options, env: { XDG_CONFIG_HOME: configHome, ...options.env } }),
  };
}

export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: '1',
    ...options.env,
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [options.bin ?? CLI_BIN, ...args], {
      cwd: options.cwd ?? REPOSITORY_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** One prompt of an interactive command and what the test types when it appears. */
export interface TerminalAnswer {
  readonly prompt: string;
  /**
   * What is typed, then Enter: a string at once (as a paste), or keys one after another (a key can
   * be an escape sequence, or part of one), a moment apart as a person types them.
   */
  readonly answer: string | readonly string[];
  /**
   * Typed a moment after this answer's Enter, without waiting for the next prompt: a user typing
   * ahead while the command works. @default nothing
   */
  readonly typeAhead?: string;
}

/** The pause between two keys of an answer typed key by key. */
const KEY_PAUSE_MS = 25;

/** What a command run on a terminal printed there (stdout and stderr together, as a terminal shows them). */
export interface TerminalResult {
  readonly code: number;
  readonly transcript: string;
}

/** A word for `sh -c`, quoted whole. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs the real command on a pseudo-terminal (util-linux `script`), so its standard input is a
 * terminal: each answer is typed once its prompt has appeared (not before, when the terminal would
 * still echo it), and the transcript is what the user saw. Prompts not shown are never answered.
 */
export function runCliOnTerminal(
  args: readonly string[],
  answers: readonly TerminalAnswer[],
  options: Pick<CliRunOptions, 'env' | 'timeoutMs'> = {},
): Promise<TerminalResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    SHELL: '/bin/sh',
    NO_COLOR: '1',
    ...options.env,
  };
  const command = [process.execPath, CLI_BIN, ...args].map(shellWord).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
      cwd: REPOSITORY_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let transcript = '';
    let next = 0;
    // Where the output after the last answer begins: the next prompt is looked for from there.
    let from = 0;
    let typing = false;
    let ended = false;
    const type = async ({ answer, typeAhead }: TerminalAnswer) => {
      typing = true;
      for (const key of typeof answer === 'string' ? [answer] : answer) {
        if (ended) return;
        child.stdin.write(key);
        if (typeof answer !== 'string') await delay(KEY_PAUSE_MS);
      }
      if (!ended) child.stdin.write('\r');
      if (typeAhead !== undefined) {
        // Apart from the Enter (keys in the same read after Enter are not the next answer's).
        await delay(KEY_PAUSE_MS);
        if (!ended) child.stdin.write(typeAhead);
      }
      typing = false;
      from = transcript.length;
      answerNext();
    };
    const answerNext = () => {
      const pending = answers[next];
      if (typing || pending === undefined || transcript.indexOf(pending.prompt, from) === -1) return;
      next += 1;
      void type(pending);
    };
    const onOutput = (chunk: Buffer) => {
      transcript += chunk.toString('utf8');
      answerNext();
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    // A command that ends before every key is typed (Ctrl-C) closes the pipe under the last ones.
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      clearTimeout(timer);
      child.stdin.destroy();
      resolvePromise({ code: code ?? (signal === null ? -1 : 128), transcript });
    });
  });
}
