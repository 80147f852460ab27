/**
 * How commands print: results on stdout (a table, or JSON with `--json`), progress and status on
 * stderr, colour only on a terminal and never with NO_COLOR. A progress bar (cli-progress) appears
 * on long work when stderr is a terminal; each step's result line is printed once either way.
 */
import { SingleBar } from 'cli-progress';
import { NOT_DISPLAYABLE } from '../../functions/contract/names.ts';

export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const CODES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;
export type Style = keyof typeof CODES;

/** The contract's rule, every occurrence. */
const NOT_PRINTABLE = new RegExp(NOT_DISPLAYABLE.source, 'gu');

/**
 * Text from the platform (a name, a description), made safe to print: what the API refuses in a
 * name (control characters, invisible and bidirectional formatting characters, line separators:
 * `NOT_DISPLAYABLE`) is written as `\u{…}`, so a name stored before the rule shows what it holds. A
 * tenant's names reach other people's terminals, where an escape sequence would recolour, retitle or
 * link, an override reorder what they read, and an invisible character make one name pass for another.
 * (A run's logs are printed as they are: they are the script's own output, colours included.)
 */
export function printable(text: string): string {
  return text.replace(NOT_PRINTABLE, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`);
}

export class Output {
  readonly #streams: Streams;
  readonly #color: boolean;

  constructor(streams: Streams = { stdout: process.stdout, stderr: process.stderr }, env = process.env) {
    this.#streams = streams;
    this.#color = streams.stderr.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  }

  get interactive(): boolean {
    return this.#streams.stderr.isTTY === true;
  }

  style(style: Style, text: string): string {
    if (!this.#color) return text;
    const [open, close] = CODES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** A result line (stdout). */
  out(line = ''): void {
    this.#streams.stdout.write(`${line}\n`);
  }

  /** A status line (stderr). */
  info(line = ''): void {
    this.#streams.stderr.write(`${line}\n`);
  }

  json(value: unknown): void {
    this.#streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  raw(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.#streams[stream].write(text);
  }

  /** Rows as aligned columns (each cell `printable`); the header is dimmed on a terminal. */
  table(columns: readonly string[], cells: readonly (readonly string[])[]): void {
    if (cells.length === 0) return;
    const rows = cells.map((row) => row.map(printable));
    const widths = columns.map((column, index) =>
      Math.min(60, Math.max(column.length, ...rows.map((row) => (row[index] ?? '').length))),
    );
    const line = (cells: readonly string[]) =>
      cells
        .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
        .join('  ')
        .trimEnd();
    this.out(this.#color ? this.style('dim', line(columns)) : line(columns));
    for (const row of rows) this.out(line(row));
  }

  /**
   * Progress over `total` steps, each step's result line (stdout) printed once: a bar on a terminal
   * (when there is enough work to show one) and the lines when it stops, elsewhere each line as its
   * step ends.
   */
  progress(total: number, title: string): Progress {
    if (this.interactive && total >= 3) {
      const bar = new SingleBar({
        format: `${title} [{bar}] {value}/{total} {step}`,
        stream: this.#streams.stderr as NodeJS.WritableStream as NodeJS.WriteStream,
        hideCursor: true,
        clearOnComplete: false,
      });
      bar.start(total, 0, { step: '' });
      const lines: string[] = [];
      return {
        step: (label, line) => {
          if (line !== undefined) lines.push(line);
          bar.increment(1, { step: label });
        },
        stop: () => {
          bar.stop();
          for (const line of lines.splice(0)) this.out(line);
        },
      };
    }
    return {
      step: (_label, line) => {
        if (line !== undefined) this.out(line);
      },
      stop: () => undefined,
    };
  }
}

export interface Progress {
  /** One step done: `label` is shown on the bar, `line` (if any) is printed once on stdout. */
  step(label: string, line?: string): void;
  /** Ends the bar and prints the lines it held; again is a no-op. */
  stop(): void;
}
