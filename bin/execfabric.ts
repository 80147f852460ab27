/** The `execfabric` CLI entry (package.json `bin` runs it through bin/execfabric.mjs). */
import { main } from '../lib/cli/main.ts';

process.exitCode = await main(process.argv);
