/**
 * The free entry: what the personal edition is, self-serve sign-up, and finding one's space again.
 *
 * Sign-up posts to `/api/free/signups` (JSON, same origin) with where the person came from
 * (`?utm_source=`/`?source=`, `?utm_campaign=`, the referring page's host), then carries them into
 * their new space with its one-time handoff in the URL fragment (`#handoff=…`: never sent to a
 * server, never logged), which the space's page trades for a session. Sign-in asks for the handle
 * and sends the person to their space's own sign-in page: sessions belong to each space's host.
 */
import { type FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../functions/contract/index.ts';
import { api, type Health, segment } from '../shared/api.ts';
import { useAction, useResource } from '../shared/hooks.ts';
import { Checks, Notice, Show, Submit, TextField } from '../shared/ui.tsx';

interface Offers {
  readonly items: readonly {
    readonly templateId: string;
    readonly name: string;
    readonly description: string;
  }[];
  readonly plan: {
    readonly name: string;
    readonly runsPerDay: number | null;
    readonly skills: number | null;
    readonly schedules: number;
    readonly users: number | null;
    readonly scriptBytes: number;
    readonly httpAssets: boolean;
  };
}

interface SignupAnswer {
  readonly host: string;
  readonly handle: string;
  readonly handoff: { readonly token: string; readonly expiresAt: string };
}

/** The address of a space's page on the same scheme and port as this one. */
function spaceUrl(host: string, fragment = ''): string {
  const port = window.location.port === '' ? '' : `:${window.location.port}`;
  return `${window.location.protocol}//${host}${port}/${fragment}`;
}

/** Where the person came from: the campaign query parameters and the referring page's host. */
function attribution(): { source?: string; campaign?: string; referrer?: string } {
  const query = new URLSearchParams(window.location.search);
  const source = query.get('utm_source') ?? query.get('source') ?? undefined;
  const campaign = query.get('utm_campaign') ?? undefined;
  let referrer: string | undefined;
  try {
    const host = document.referrer === '' ? '' : new URL(document.referrer).hostname;
    if (host !== '' && host !== window.location.hostname) referrer = host;
  } catch {
    referrer = undefined;
  }
  return {
    ...(source ? { source: source.slice(0, 200) } : {}),
    ...(campaign ? { campaign: campaign.slice(0, 200) } : {}),
    ...(referrer ? { referrer } : {}),
  };
}

function ServiceStatus() {
  const { state } = useResource<Health>('/api/health');
  if (state.status === 'loading') return null;
  const up = state.status === 'ready' && state.data.status === 'ok';
  return (
    <p className="muted" role="status">
      Service status: {up ? 'available' : 'unavailable right now'}
    </p>
  );
}

function SignUp({ offers }: { readonly offers: Offers }) {
  const [handle, setHandle] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [templates, setTemplates] = useState<string[]>(() => offers.items.map((item) => item.templateId));
  const [done, setDone] = useState<SignupAnswer | null>(null);
  const signUp = useAction(() =>
    api.post<SignupAnswer>(
      '/api/free/signups',
      {
        handle,
        email,
        password,
        ...(name.trim() === '' ? {} : { name: name.trim() }),
        templates,
        ...attribution(),
      },
      { auth: false },
    ),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const answer = await signUp.run();
    if (answer === undefined) return;
    setDone(answer);
    window.location.assign(spaceUrl(answer.host, `#handoff=${encodeURIComponent(answer.handoff.token)}`));
  };
  // The free entry's address with its port, if any: the space is on the same port (see spaceUrl).
  const suffix = window.location.host;
  if (done !== null) {
    return (
      <Notice>
        Your space is ready at <a href={spaceUrl(done.host)}>{done.host}</a>. Taking you there…
      </Notice>
    );
  }
  const names = new Map(offers.items.map((item) => [item.templateId, item]));
  return (
    <form onSubmit={submit} aria-label="Sign up">
      <TextField
        id="signup-handle"
        label={`Your handle (your space will be at <handle>.${suffix})`}
        required
        minLength={3}
        maxLength={30}
        autoCapitalize="none"
        spellCheck={false}
        autoComplete="username"
        pattern="[A-Za-z][A-Za-z0-9\-]*"
        title="3 to 30 letters, digits and single hyphens, starting with a letter"
        hint="3 to 30 letters, digits and single hyphens, starting with a letter."
        value={handle}
        onChange={setHandle}
      />
      <TextField
        id="signup-email"
        label="Email"
        type="email"
        required
        maxLength={254}
        autoComplete="email"
        value={email}
        onChange={setEmail}
      />
      <TextField
        id="signup-password"
        label={`Password (at least ${MIN_PASSWORD_LENGTH} characters)`}
        type="password"
        required
        minLength={MIN_PASSWORD_LENGTH}
        maxLength={MAX_PASSWORD_LENGTH}
        autoComplete="new-password"
        aria-describedby="signup-password-hint"
        value={password}
        onChange={setPassword}
      />
      {/* The rule of functions/core/free/signups.ts, compared without regard to case. */}
      <p id="signup-password-hint" className="hint">
        It must not contain your handle (in any letter case) or be your email address.
      </p>
      <TextField
        id="signup-name"
        label="Your name (optional)"
        maxLength={80}
        value={name}
        onChange={setName}
      />
      {offers.items.length === 0 ? null : (
        <fieldset>
          <legend>Starter Skills to install</legend>
          <Checks
            options={offers.items.map((item) => item.templateId)}
            selected={templates}
            onChange={(update) => setTemplates((previous) => update(previous))}
            label={(id) => (
              <span>
                <strong>{names.get(id)?.name}</strong> — {names.get(id)?.description}
              </span>
            )}
          />
        </fieldset>
      )}
      <Submit action={signUp} busy="Creating your space…">
        Create my space
      </Submit>
    </form>
  );
}

function SignIn() {
  const [handle, setHandle] = useState('');
  const find = useAction(() =>
    api.get<{ host: string }>(`/api/free/spaces/${segment(handle.trim())}`, { auth: false }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = await find.run();
    if (found !== undefined) window.location.assign(spaceUrl(found.host));
  };
  return (
    <form onSubmit={submit} aria-label="Sign in">
      <TextField
        id="signin-handle"
        label="Your handle"
        required
        autoCapitalize="none"
        spellCheck={false}
        value={handle}
        onChange={setHandle}
      />
      <Submit action={find} busy="Finding your space…">
        Go to my space
      </Submit>
    </form>
  );
}

function Limits({ plan }: { readonly plan: Offers['plan'] }) {
  return (
    <ul>
      <li>{plan.runsPerDay === null ? 'Unlimited runs' : `${plan.runsPerDay} runs a day`}</li>
      <li>{plan.skills === null ? 'Unlimited Skills' : `Up to ${plan.skills} Skills`}</li>
      <li>Up to {plan.schedules} schedules</li>
      <li>
        {plan.users === null
          ? 'Unlimited users'
          : `Up to ${plan.users} users: you and ${plan.users - 1} more`}
      </li>
      <li>Scripts of up to {Math.round(plan.scriptBytes / 1024)} KiB</li>
      {plan.httpAssets ? null : <li>No HTTP resources (those come with a standard plan)</li>}
    </ul>
  );
}

function FreeEntry() {
  const offers = useResource<Offers>('/api/free/offers');
  return (
    <main className="free-page" id="main">
      <p className="product">ExecFabric</p>
      <h1>The personal edition</h1>
      <p className="hero">
        Run your own automation Skills — small Python scripts behind a form — in a workspace of your own, free
        of charge.
      </p>
      <section className="card" aria-labelledby="sign-up">
        <h2 id="sign-up">Create your free space</h2>
        <Show state={offers.state} loading="Loading…">
          {(data) => <SignUp offers={data} />}
        </Show>
      </section>
      <section className="card" aria-labelledby="sign-in">
        <h2 id="sign-in">Already have a space?</h2>
        <SignIn />
        <p className="muted">
          Part of an organisation on ExecFabric? Sign in at your organisation's own address instead.
        </p>
      </section>
      <section className="card" aria-labelledby="what-you-get">
        <h2 id="what-you-get">What you get</h2>
        <ul>
          <li>A personal workspace at its own address, isolated from everyone else's.</li>
          <li>
            Skills with input forms generated from their schema, and a history of every run with its logs.
          </li>
          <li>Versioned scripts: upload a new version, switch to it, roll back when you need to.</li>
        </ul>
        <Show state={offers.state}>{(data) => <Limits plan={data.plan} />}</Show>
      </section>
      <ServiceStatus />
    </main>
  );
}

const root = document.getElementById('root');
if (root === null) throw new Error('The page has no #root element');
createRoot(root).render(
  <StrictMode>
    <FreeEntry />
  </StrictMode>,
);
