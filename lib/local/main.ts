/**
 * `npm start`: the whole platform on this machine, no cloud account. Reads PORT (8080) and
 * EXECFABRIC_DATA_DIR (.execfabric/), prints where everything is, and stops cleanly on Ctrl-C.
 */
import { resolve } from 'node:path';
import { startLocalPlatform } from './platform.ts';
import { stopOnSignals } from './stop-signals.ts';

const port = Number(process.env.PORT ?? '8080');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PORT must be a port number, got ${process.env.PORT}\n`);
  process.exit(2);
}
const dataDir = resolve(process.env.EXECFABRIC_DATA_DIR ?? '.execfabric');
const started = Date.now();
const platform = await startLocalPlatform({ port, dataDir });
const base = (host: string) => `http://${host}:${platform.port}`;

process.stdout.write(
  [
    '',
    `ExecFabric is running (embedded, data in ${dataDir}) — started in ${Date.now() - started} ms`,
    platform.seeded ? 'Seeded the demo data on this first start.' : 'Using the data from earlier starts.',
    '',
    `  governance console   ${base(platform.adminHosts[0] ?? 'admin.localhost')}`,
    `  tenant acme          ${base('acme.localhost')}`,
    `  tenant globex        ${base('globex.localhost')}`,
    `  free edition         ${base(platform.freeHosts[0] ?? 'free.localhost')}`,
    `  documentation        ${base(platform.docsHosts[0] ?? 'docs.localhost')}`,
    '',
    `  demo users (password: ${platform.demoPassword})`,
    '    admin  super-admin on the governance console',
    '    alice  acme admin · bob  acme operator · gina  globex admin',
    '',
    `  try: curl ${base('acme.localhost')}/api/health`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);

const onSignal = stopOnSignals({
  stop: () => platform.stop(),
  write: (text) => process.stdout.write(text),
  exit: (code) => process.exit(code),
});
process.on('SIGINT', () => void onSignal('SIGINT'));
process.on('SIGTERM', () => void onSignal('SIGTERM'));
