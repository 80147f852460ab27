/** The `execfabric` CLI entry (package.json `bin` runs it through bin/execfabric.mjs). */
import { main } from '../lib/cli/main.ts';

// A reader that stops early (`execfabric --help | head`) closes the pipe: that ends the command
// quietly, as it does any Unix tool, instead of an unhandled EPIPE with its stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

process.exitCode = await main(process.argv);
