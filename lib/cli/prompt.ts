/**
 * Questions asked on the terminal (`login`, `password`). A plain answer (a username) is read with
 * readline, its editing and echo included. A secret is never given to readline: the terminal is put
 * in raw mode (so it echoes nothing) and the keys are read here, the question written once and
 * nothing else while typing, whatever the keys. The terminal's mode is put back on every way out: the
 * answer, Ctrl-C, Ctrl-D, the input ending or failing, a signal, the process exiting.
 * docs/decisions/cli.md, "Reading a password on the terminal".
 */
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { CliError, UsageError } from './errors.ts';

/** Standard input, with what a terminal adds (`tty.ReadStream`). */
export type TerminalInput = NodeJS.ReadableStream & {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
};

export interface Terminal {
  readonly input: TerminalInput;
  /** Where the question goes (stderr, so stdout stays the command's result). */
  readonly output: NodeJS.WritableStream;
}

/** The signals whose default end would leave the terminal raw; each is raised again once it is restored. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Signal = (typeof SIGNALS)[number];

/** The process, as far as reading a secret uses it (tests give their own). */
export interface ProcessPort {
  readonly pid: number;
  on(event: 'exit', listener: () => void): unknown;
  on(event: Signal, listener: (signal: Signal) => void): unknown;
  removeListener(event: 'exit', listener: () => void): unknown;
  removeListener(event: Signal, listener: (signal: Signal) => void): unknown;
  kill(pid: number, signal: Signal): unknown;
}

function cancelled(): CliError {
  return new CliError('Cancelled');
}

/**
 * A plain answer, echoed and editable as readline does it. Ctrl-C or Ctrl-D instead of an answer
 * stops the command (it would otherwise end quietly, as if it had succeeded).
 */
export function askLine(terminal: Terminal, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (answered) return;
      terminal.output.write('\n');
      reject(cancelled());
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

/** What the keys typed so far amount to. */
export type SecretState =
  | { readonly kind: 'typing' }
  | { readonly kind: 'entered'; readonly secret: string }
  | { readonly kind: 'cancelled' };

const TYPING: SecretState = { kind: 'typing' };
const CANCELLED: SecretState = { kind: 'cancelled' };

const ESC = '\u001b';

/**
 * The secret being typed, from the terminal's raw keys: printable characters are added (a paste is
 * many at once), Backspace (DEL or BS) takes the last character back, Ctrl-U all of them, Ctrl-W the
 * last word (and the spaces after it); Enter ends it, Ctrl-C cancels, Ctrl-D cancels when nothing
 * is typed. There is no cursor: escape sequences (arrows, Home, Delete, function keys, Alt+key, a
 * bracketed paste's markers) and other control characters are dropped, also when a chunk splits one.
 * What follows Enter in the same chunk is dropped too: it is not this answer, and no other question
 * should get it unseen.
 */
export class SecretLine {
  #chars: string[] = [];
  /** Where in an escape sequence the input is: after ESC, in a CSI (`ESC [`), or an SS3 (`ESC O`). */
  #escape: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
  #state: SecretState = TYPING;

  get state(): SecretState {
    return this.#state;
  }

  feed(text: string): SecretState {
    for (const char of text) {
      if (this.#state.kind !== 'typing') break;
      this.#key(char);
    }
    return this.#state;
  }

  #key(char: string): void {
    const code = char.codePointAt(0) ?? 0;
    switch (this.#escape) {
      case 'esc':
        this.#escape = char === '[' ? 'csi' : char === 'O' ? 'ss3' : char === ESC ? 'esc' : 'none';
        // Alt+key (ESC and the key) adds nothing; a control character after ESC still counts.
        if (this.#escape === 'none' && code < 0x20) this.#key(char);
        return;
      case 'csi':
        // Parameter and intermediate bytes go on; a final byte ends it; anything else breaks it off.
        if (code >= 0x20 && code <= 0x3f) return;
        this.#escape = 'none';
        if (code < 0x40 || code > 0x7e) this.#key(char);
        return;
      case 'ss3':
        this.#escape = 'none';
        if (code < 0x20) this.#key(char);
        return;
      case 'none':
        break;
    }
    switch (char) {
      case '\r':
      case '\n':
        this.#state = { kind: 'entered', secret: this.#chars.join('') };
        this.#chars = [];
        return;
      case '\u0003': // Ctrl-C
        this.#cancel();
        return;
      case '\u0004': // Ctrl-D: the end of input on an empty line, as a terminal has it; else nothing
        if (this.#chars.length === 0) this.#cancel();
        return;
      case '\u007f': // Backspace (DEL)
      case '\b': // Backspace (BS, Ctrl-H)
        this.#chars.pop();
        return;
      case '\u0015': // Ctrl-U
        this.#chars = [];
        return;
      case '\u0017': // Ctrl-W: the spaces before the cursor, then the word before them
        while (isSpace(this.#chars.at(-1))) this.#chars.pop();
        while (this.#chars.length > 0 && !isSpace(this.#chars.at(-1))) this.#chars.pop();
        return;
      case ESC:
        this.#escape = 'esc';
        return;
    }
    // Other C0 and C1 control characters (Tab, Ctrl-Z, ...) are keys, not characters of a password.
    if (code < 0x20 || (code >= 0x80 && code <= 0x9f)) return;
    this.#chars.push(char);
  }

  #cancel(): void {
    this.#chars = [];
    this.#state = CANCELLED;
  }
}

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /\s/u.test(char);
}

/** Secrets asked one after another on a terminal that stays raw between them (`secretPrompts`). */
export interface SecretPrompts {
  /** Asks one secret; one question at a time. Rejects with "Cancelled" once the prompts are closed. */
  ask(question: string): Promise<string>;
  /** Puts the terminal's mode back and lets go of the input; a question still open is cancelled. */
  close(): void;
}

/**
 * Secrets typed on the terminal, never echoed, through several questions and the work between them
 * (`password` signs in between "Current password" and "New password"): the terminal is raw from
 * before the first question is written until `close`, so keys typed ahead while the CLI works are not
 * echoed either — they are kept, unseen, for the next question, as a terminal would keep them for
 * the next read. Ctrl-C typed between questions (the raw terminal sends it as a key, not a signal)
 * puts the terminal back and cancels the next question, so the command stops through its clean-up. In a question, Ctrl-C, Ctrl-D on an
 * empty answer and the input ending reject with "Cancelled". A signal (SIGINT, SIGTERM, SIGHUP)
 * restores the terminal, then is raised again so it ends the process as it would have.
 */
export function secretPrompts(terminal: Terminal, host: ProcessPort = process): SecretPrompts {
  const { input, output } = terminal;
  if (input.isTTY !== true || input.setRawMode === undefined) {
    throw new UsageError('Standard input is not a terminal: a password cannot be asked');
  }
  const setRawMode = input.setRawMode.bind(input);
  const wasRaw = input.isRaw === true;
  const decoder = new StringDecoder('utf8');
  let asking: { line: SecretLine; resolve: (secret: string) => void; reject: (error: Error) => void } | null =
    null;
  /**
   * What was typed while no question was open, for the next one, as it came (a read apart from the
   * Enter before it is the next answer's, as for keys typed while a question is open).
   */
  let ahead: string[] = [];
  /** Why no more questions can be answered (the input ended or failed, or the prompts closed). */
  let over: Error | null = null;
  let closed = false;

  const restore = () => {
    try {
      setRawMode(wasRaw);
    } catch {
      // The terminal is gone (hung up): there is nothing left to restore.
    }
  };
  /** Ends the open question; Enter is not echoed either, so the next line starts here. */
  const settle = (answer: (question: NonNullable<typeof asking>) => void) => {
    const question = asking;
    if (question === null) return;
    asking = null;
    output.write('\n');
    answer(question);
  };
  const feed = (text: string) => {
    if (asking === null) return;
    const state = asking.line.feed(text);
    if (state.kind === 'entered') settle((question) => question.resolve(state.secret));
    else if (state.kind === 'cancelled') settle((question) => question.reject(cancelled()));
  };
  const onData = (chunk: Buffer | string) => {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (asking !== null) {
      feed(text);
      return;
    }
    if (text.includes('\u0003')) {
      // Ctrl-C while the CLI works between questions (the raw terminal sent it as a key): the next
      // question is cancelled, so the command ends through its own clean-up (`password` signs out the
      // session it made). The terminal is itself again, so a second Ctrl-C is the signal.
      close();
      return;
    }
    ahead.push(text);
  };
  const end = (why: Error) => {
    over ??= why;
    settle((question) => question.reject(why));
  };
  const onEnd = () => end(cancelled());
  const onError = (error: Error) => end(error);
  const onSignal = (signal: Signal) => {
    close();
    // With this listener gone, the signal does what it would have done (unless someone else listens).
    host.kill(host.pid, signal);
  };
  const close = () => {
    if (closed) return;
    closed = true;
    input.removeListener('data', onData);
    input.removeListener('end', onEnd);
    input.removeListener('error', onError);
    for (const signal of SIGNALS) host.removeListener(signal, onSignal);
    host.removeListener('exit', restore);
    restore();
    input.pause();
    ahead = [];
    end(cancelled());
  };

  setRawMode(true);
  host.on('exit', restore);
  for (const signal of SIGNALS) host.on(signal, onSignal);
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onError);
  input.resume();

  return {
    ask(question: string): Promise<string> {
      if (over !== null) return Promise.reject(over);
      if (asking !== null) return Promise.reject(new Error('One question at a time'));
      return new Promise((resolve, reject) => {
        asking = { line: new SecretLine(), resolve, reject };
        output.write(question);
        // Typed ahead: up to this answer's Enter; what comes after it waits for the next question.
        while (asking !== null && ahead.length > 0) feed(ahead.shift() ?? '');
      });
    },
    close,
  };
}

/** One secret typed on the terminal, never echoed (`secretPrompts` for a single question). */
export async function readSecret(
  terminal: Terminal,
  question: string,
  host: ProcessPort = process,
): Promise<string> {
  const prompts = secretPrompts(terminal, host);
  try {
    return await prompts.ask(question);
  } finally {
    prompts.close();
  }
}
