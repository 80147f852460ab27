/**
 * The free edition's sign-up on the embedded platform, in one process: the sign-up POST on the free
 * entry (rate windows, host claim, user with its password hash, template grants and installs,
 * handoff, lead, tenant record) against a sign-in of an existing personal space's user (the password
 * check and session alone), and sign-up → first run terminal of a pre-installed template ("the first
 * run works within a minute": sign-up, password sign-in on the new host, `POST` of the Word count
 * Skill, polling every 20 ms until the run is terminal) against a run of the same template Skill in
 * an existing space (`POST` → terminal). The four are measured in interleaved rounds, so load on the
 * machine hits all alike.
 *
 * Each sign-up comes from its own loopback viewer address with its own email, so the default abuse
 * limits (5 per address per hour, 3 per email per day, 300 per hour platform-wide) are the ones
 * measured and none is reached.
 *
 *   npx tsx bench/signup.ts [sign-ups]   (default 25; at most 200, the loopback addresses used)
 */
import { call, type TestResponse } from '../test/support/http.ts';
import { benchUser, machine, percentile, recordSection, startBenchPlatform } from './support.ts';

const SIGNUPS = Math.min(200, Number(process.argv[2] ?? '25'));
const WARMUP = 2;
const DEMO_PASSWORD = 'bench-password-123';
const SPACE_PASSWORD = 'a long personal passphrase for the bench';
const FREE_HOST = 'free.localhost';
/** Run states a run never leaves. */
const FINISHED: readonly string[] = ['succeeded', 'failed', 'timed_out', 'rejected', 'cancelled'];
const HEADING = '## Free edition: sign-up, and sign-up → first run';

const platform = await startBenchPlatform(DEMO_PASSWORD);

/** A distinct viewer address per sign-up: 127.0.1.<n>, clear of the demo traffic's 127.0.0.1. */
const viewer = (n: number) => `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
let signups = 0;

async function send(request: Parameters<typeof call>[1]): Promise<TestResponse> {
  return call(platform.url, request);
}

async function ok(response: Promise<TestResponse>, what: string, status = 200): Promise<TestResponse> {
  const answer = await response;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.text}`);
  return answer;
}

async function signUp(templateId: string): Promise<{ host: string; handle: string; skillId: string }> {
  const n = signups++;
  const handle = `bench-${process.pid}-${n}`;
  const answer = await ok(
    send({
      host: FREE_HOST,
      method: 'POST',
      path: '/api/free/signups',
      body: { handle, email: `${handle}@example.com`, password: SPACE_PASSWORD, templates: [templateId] },
      localAddress: viewer(n),
    }),
    `sign-up ${handle}`,
    201,
  );
  return { host: String(answer.body.host), handle, skillId: String(answer.body.templates[0].skillId) };
}

async function signIn(host: string, username: string): Promise<string> {
  const answer = await ok(
    send({ host, method: 'POST', path: '/api/auth/login', body: { username, password: SPACE_PASSWORD } }),
    `sign-in ${username}@${host}`,
  );
  return String(answer.body.token);
}

/** `POST` the Skill and poll until the run is terminal; throws unless it succeeded. */
async function runToEnd(host: string, token: string, skillId: string): Promise<void> {
  const started = await ok(
    send({
      host,
      token,
      method: 'POST',
      path: `/api/skills/${skillId}/executions`,
      body: { input: { text: 'one two three' } },
    }),
    'start run',
    202,
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const current = await ok(send({ host, token, path: `/api/executions/${started.body.id}` }), 'read run');
    if (FINISHED.includes(current.body.status)) {
      if (current.body.status !== 'succeeded') throw new Error(`run ended ${current.text}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`run did not finish: ${current.text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

try {
  const machineLine = machine();
  const offers = await ok(send({ host: FREE_HOST, path: '/api/free/offers' }), 'offers');
  const wordCount = (offers.body.items as { templateId: string; name: string }[]).find(
    (offer) => offer.name === 'Word count',
  );
  if (wordCount === undefined) throw new Error('the Word count template is not offered');

  // The existing space the baselines use, signed up and warmed like any other.
  const existing = await signUp(wordCount.templateId);
  const owner = await benchUser(platform, existing.host, existing.handle, SPACE_PASSWORD);

  const samples = {
    signup: [] as number[],
    signIn: [] as number[],
    first: [] as number[],
    firstRun: [] as number[],
    run: [] as number[],
  };
  for (let round = 0; round < WARMUP + SIGNUPS; round++) {
    const keep = round >= WARMUP;
    // Sign-up POST alone, then the whole way to a first run for a second new space.
    const signup = await timed(() => signUp(wordCount.templateId));
    const signedIn = await timed(() => signIn(existing.host, existing.handle));
    let firstRun = 0;
    const first = await timed(async () => {
      const space = await signUp(wordCount.templateId);
      const token = await signIn(space.host, space.handle);
      firstRun = await timed(() => runToEnd(space.host, token, space.skillId));
    });
    const run = await timed(() => runToEnd(existing.host, owner.token, existing.skillId));
    if (keep) {
      samples.signup.push(signup);
      samples.signIn.push(signedIn);
      samples.first.push(first);
      samples.firstRun.push(firstRun);
      samples.run.push(run);
    }
  }

  const stat = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
  const s = {
    signup: stat(samples.signup),
    signIn: stat(samples.signIn),
    first: stat(samples.first),
    firstRun: stat(samples.firstRun),
    run: stat(samples.run),
  };
  const ms = (value: number) => value.toFixed(0);
  const ratio = (a: number, b: number) => (a / b).toFixed(1);
  const section = [
    HEADING,
    '',
    `Recorded ${new Date().toISOString()} by \`npx tsx bench/signup.ts ${SIGNUPS}\` on ${machineLine}, ` +
      `Node ${process.version}; embedded platform, in-memory dynalite, ${WARMUP} warm-up rounds, ` +
      `${SIGNUPS} measured rounds (${2 * (WARMUP + SIGNUPS) + 1} sign-ups in all, each from its own viewer address).`,
    '',
    '| measured | samples | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: |',
    `| sign-up POST (one template) | ${SIGNUPS} | ${ms(s.signup.p50)} | ${ms(s.signup.p99)} |`,
    `| baseline: sign-in POST of an existing space's user | ${SIGNUPS} | ${ms(s.signIn.p50)} | ${ms(s.signIn.p99)} |`,
    `| sign-up → sign-in → first template run terminal | ${SIGNUPS} | ${ms(s.first.p50)} | ${ms(s.first.p99)} |`,
    `| … of which the first run, POST → terminal | ${SIGNUPS} | ${ms(s.firstRun.p50)} | ${ms(s.firstRun.p99)} |`,
    `| baseline: the same template run in an existing space, POST → terminal | ${SIGNUPS} | ${ms(s.run.p50)} | ${ms(s.run.p99)} |`,
    '',
    `Sign-up / sign-in: p50 **${ratio(s.signup.p50, s.signIn.p50)}×**, p99 **${ratio(s.signup.p99, s.signIn.p99)}×**. ` +
      `Sign-up → first run / a run in an existing space: p50 **${ratio(s.first.p50, s.run.p50)}×**, ` +
      `p99 **${ratio(s.first.p99, s.run.p99)}×**; a new space's first run / a run in an existing space: ` +
      `p50 **${ratio(s.firstRun.p50, s.run.p50)}×**, p99 **${ratio(s.firstRun.p99, s.run.p99)}×**. "The first run works within a minute": the worst ` +
      `sign-up → first run terminal was ${ms(Math.max(...samples.first))} ms.`,
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  recordSection(HEADING, section);
} finally {
  await platform.stop();
}
