/**
 * `npm start`: the whole platform on this machine, no cloud account. Reads PORT (8080) and
 * EXECFABRIC_DATA_DIR (.execfabric/), builds the sites (under npm start, or EXECFABRIC_BUILD_SITES=1),
 * prints where everything is — and says so when a site is not built — and stops cleanly on Ctrl-C. It takes no arguments: `--help` prints the settings, anything else is refused
 * before anything starts — or is built (the build was an npm `prestart`, which ran before either).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_API_RATE } from '../edge/rate-limit.ts';
import { sites } from '../topology.ts';
import { dataDirHolder, dataDirInUse, startLocalPlatform } from './platform.ts';
import { DEFAULT_LOCAL_PORT, localPort } from './port.ts';
import { stopOnSignals } from './stop-signals.ts';

const USAGE = `Usage: npm start      (or: npx execfabric dev [--port N] [--data-dir DIR] [--no-build])

Runs the whole ExecFabric platform on this machine and prints its URLs and demo users. Under
npm start it first builds the sites (the fronts and the docs); started any other way (npx tsx
lib/local/main.ts) it serves the sites already built, unless EXECFABRIC_BUILD_SITES=1. It takes no
arguments; its settings are environment variables:

  PORT                         port of every host (default ${DEFAULT_LOCAL_PORT}), e.g. PORT=8081 npm start
  EXECFABRIC_DATA_DIR          data folder (default .execfabric/; one process per folder)
  EXECFABRIC_DEMO_PASSWORD     the demo users' password (default: generated on first start, kept)
  EXECFABRIC_SANDBOX_NETWORK   auto (default) | netns | userns | seccomp
  EXECFABRIC_VIEWER_SCHEME     https when a TLS-terminating proxy sits in front
  EXECFABRIC_API_RATE          API requests a minute per host and client before 429 (default 3000,
                               as in AWS); 0 counts nothing (a local load test)
  EXECFABRIC_BUILD_SITES       1 (the default under npm start) builds the sites first; 0 starts on
                               the sites already built (what npx execfabric dev --no-build sets)

Ctrl-C (or SIGTERM) lets runs in flight finish, then stops; a second Ctrl-C exits at once.
More: the README's "Trying it".
`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(
    `npm start takes no arguments, got: ${args.join(' ')}\n` +
      'Settings are environment variables (PORT=8081 npm start), or use npx execfabric dev --port 8081.\n' +
      'npm start -- --help lists them.\n',
  );
  process.exit(2);
}

const port = localPort(process.env);
if (port === null) {
  process.stderr.write(`PORT must be a port number, got ${process.env.PORT}\n`);
  process.exit(2);
}
const dataDir = resolve(process.env.EXECFABRIC_DATA_DIR ?? '.execfabric');
// Digits only: \`Number()\` reads '' (a blank line in an env file) as 0, which would turn the count off.
const apiRateText = process.env.EXECFABRIC_API_RATE ?? String(HOST_API_RATE.requests);
const apiRate = /^\d{1,9}$/.test(apiRateText) ? Number(apiRateText) : Number.NaN;
if (Number.isNaN(apiRate)) {
  process.stderr.write(
    `EXECFABRIC_API_RATE must be a whole number of requests a minute (0: not counted), got '${apiRateText}'\n`,
  );
  process.exit(2);
}
const hostRateLimit = apiRate === 0 ? false : { ...HOST_API_RATE, requests: apiRate };

// A second start in the same folder, or on a port taken, fails here in a line, before the sites are
// built (a build rewrites the sites a running platform serves) and without a stack trace.
const holder = dataDirHolder(dataDir);
if (holder !== null) {
  process.stderr.write(`${dataDirInUse(dataDir, holder)}\n`);
  process.exit(1);
}
if (port !== 0) {
  const taken = await new Promise<string | null>((done) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(null)));
  });
  if (taken !== null) {
    process.stderr.write(
      `Port ${port} cannot be used (${taken}): another program is listening on it. ` +
        `Pick another: PORT=${port + 1} npm start\n`,
    );
    process.exit(1);
  }
}

// The sites, once the arguments and settings are known to be good. Only under `npm start` by
// default: a test or bench that runs this file itself starts on the sites already built.
const build = process.env.EXECFABRIC_BUILD_SITES ?? (process.env.npm_lifecycle_event === 'start' ? '1' : '0');
if (build !== '0' && build !== '1') {
  process.stderr.write(`EXECFABRIC_BUILD_SITES must be 0 or 1, got ${build}\n`);
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (build === '1') {
  const built = spawnSync(process.execPath, ['--import', 'tsx', resolve(root, 'frontend', 'build.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0) {
    process.stderr.write(
      `Building the sites failed (${built.signal ?? `exit ${built.status}`}); nothing was started\n`,
    );
    process.exit(1);
  }
}

const started = Date.now();
const platform = await startLocalPlatform({ port, dataDir, hostRateLimit }).catch((error: unknown) => {
  // What a user can act on is said in a line (a port taken meanwhile, the folder taken meanwhile).
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    process.stderr.write(`Port ${port} was taken while starting: PORT=${port + 1} npm start\n`);
    process.exit(1);
  }
  throw error;
});
const base = (host: string) => `http://${host}:${platform.port}`;
// A site never built answers its placeholder page ("This site has not been built yet"): say so here.
const unbuilt = Object.values(sites).filter((site) => !existsSync(resolve(root, site.dir, 'index.html')));
const unbuiltWarning =
  unbuilt.length === 0
    ? []
    : [
        `  Not built yet: ${unbuilt.map((site) => site.dir).join(', ')}; ${unbuilt.length === 1 ? 'its' : 'their'} pages answer`,
        '  "This site has not been built yet" (the API works). npm run build:sites builds the sites;',
        '  npm start (or EXECFABRIC_BUILD_SITES=1) builds them before starting.',
        '',
      ];

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
    ...unbuiltWarning,
    `  demo users (password: ${platform.demoPassword})`,
    '    admin  super-admin on the governance console',
    '    alice, claire  acme admins · bob  acme operator · gina  globex admin',
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
