/** What every command gets: where to print, the sign-in store, the environment, standard input. */
import type { ConfigStore } from './config.ts';
import type { Output } from './output.ts';
import type { TerminalInput } from './prompt.ts';

export interface CliContext {
  readonly output: Output;
  readonly store: ConfigStore;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: TerminalInput;
}

/** Everything on standard input, as UTF-8 (for `--password-stdin` and `--input @-`). */
export async function readStdin(context: CliContext, limitBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limitBytes) throw new Error(`Standard input exceeds ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
