/**
 * Lifecycle scans, HTTP resources (write-only credentials, trial runs, grants), templates and their
 * distribution, platform announcements, and the read-only tenant console of whitelisted admins.
 * Routes that are not on this platform yet show as unavailable rather than as errors.
 */

import { type FormEvent, useState } from 'react';
import {
  counted,
  type HttpResource,
  type PlatformAnnouncement,
  SCAN_MAX_PAST_DAYS,
  type ScanResult,
  type Tenant,
  type TrialResult,
} from '../../../functions/contract/index.ts';
import { AnnouncementFields } from '../shared/announcements.tsx';
import { api, idempotencyHeaders, type Page, segment } from '../shared/api.ts';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import { StateActions } from '../shared/state-actions.tsx';
import {
  Badge,
  CheckList,
  DateTime,
  Empty,
  JsonBlock,
  LoadMore,
  Notice,
  Options,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  splitList,
  Table,
  TextField,
  useConfirm,
} from '../shared/ui.tsx';
import { PlatformHosts } from './hosts.tsx';
import { TenantTable } from './tenants.tsx';

const DAY_MS = 24 * 3600 * 1000;

/** An instant as a datetime-local input's value, in the browser's time zone (`2026-12-05T09:30`). */
function localInput(time: number): string {
  return new Date(time - new Date(time).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

// ── lifecycle ────────────────────────────────────────────────────────────────────────────────

const SCANS = {
  'renewal-reminder': 'Renewal reminders (30, 7 and 1 day before expiry)',
  'expiry-shutdown': 'Expiry shutdown (expired → grace → suspended)',
  'host-onboarding': 'Host onboarding (hosts due a DNS or edge check)',
} as const;
type ScanName = keyof typeof SCANS;

export function LifecyclePage() {
  const tenants = usePaged<Tenant>('/api/tenants', 100);
  const [scan, setScan] = useState<ScanName>('renewal-reminder');
  const [at, setAt] = useState('');
  const [results, setResults] = useState<(ScanResult & { readonly key: string })[]>([]);
  const run = useAction(async () =>
    api.post<ScanResult>('/api/lifecycle/run', {
      scan,
      ...(at === '' ? {} : { now: new Date(at).toISOString() }),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await run.run();
    if (result !== undefined) {
      const key = `${result.scan}:${result.now}:${Date.now()}`;
      setResults((previous) => [{ ...result, key }, ...previous]);
      tenants.reload();
    }
  };
  const now = Date.now();
  return (
    <>
      <PageHeader title="Lifecycle" />
      <Section title="Run a scan now">
        <p className="muted">
          The schedules run these every night; running one here does the same work, once.
        </p>
        <form onSubmit={submit}>
          <div className="form-row">
            <div className="field">
              <label htmlFor="scan-name">Scan</label>
              <select id="scan-name" value={scan} onChange={(e) => setScan(e.target.value as ScanName)}>
                {Object.entries(SCANS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="scan-now">As of (optional)</label>
              <input
                id="scan-now"
                type="datetime-local"
                min={localInput(now - SCAN_MAX_PAST_DAYS * DAY_MS)}
                max={localInput(now)}
                value={at}
                onChange={(e) => setAt(e.target.value)}
              />
              <p className="hint">
                Leave empty for now; set a past date to catch up on a missed day (not later than now, at most{' '}
                {SCAN_MAX_PAST_DAYS} days back).
              </p>
            </div>
          </div>
          <Submit action={run} busy="Running…">
            Run scan
          </Submit>
        </form>
      </Section>
      {results.map((result) => (
        <Section key={result.key} title={`Result: ${result.scan}`}>
          <p role="status">
            Scanned {counted(result.scanned, 'item')} as of <DateTime value={result.now} />;{' '}
            {result.changed.length === 0
              ? 'nothing needed doing.'
              : `${counted(result.changed.length, 'change')}:`}
          </p>
          {result.changed.length > 0 ? (
            <ul>
              {result.changed.map((change) => (
                <li
                  key={`${change.tenantId ?? ''}:${change.host ?? ''}:${change.action}:${change.executionId ?? ''}`}
                >
                  {change.host === undefined ? (
                    ((tenants.state.status === 'ready'
                      ? tenants.state.data.find((tenant) => tenant.id === change.tenantId)?.name
                      : undefined) ?? change.tenantId)
                  ) : (
                    <code>{change.host}</code>
                  )}
                  :{' '}
                  <Badge
                    value={change.action === 'suspended' ? 'suspended' : 'warning'}
                    label={change.action}
                  />
                </li>
              ))}
            </ul>
          ) : null}
        </Section>
      ))}
      <PlatformHosts />
      <Section title="Tenants needing attention">
        <p className="muted">Expiring within 30 days, in their grace period, or suspended.</p>
        <Show state={tenants.state} loading="Loading tenants…">
          {(items) => {
            const attention = items.filter(
              (tenant) =>
                tenant.status === 'grace' ||
                tenant.status === 'suspended' ||
                ((tenant.status === 'active' || tenant.status === 'trial') &&
                  Date.parse(tenant.expiresAt) - now <= 30 * DAY_MS),
            );
            return attention.length === 0 ? (
              <Empty>
                <p>All tenants are in good standing.</p>
              </Empty>
            ) : (
              <TenantTable tenants={attention} />
            );
          }}
        </Show>
        <LoadMore list={tenants} />
      </Section>
    </>
  );
}

// ── HTTP resources ───────────────────────────────────────────────────────────────────────────

export function HttpResourcesPage() {
  const list = useResource<Page<HttpResource>>('/api/http-resources');
  const tenants = useResource<Page<Tenant>>('/api/tenants?limit=100');
  const tenantName = (id: string) =>
    tenants.state.status === 'ready'
      ? (tenants.state.data.items.find((tenant) => tenant.id === id)?.name ?? id)
      : id;
  const [message, setMessage] = useNotice();
  return (
    <>
      <PageHeader title="HTTP resources" />
      <Notice>{message}</Notice>
      <Show state={list.state} loading="Loading HTTP resources…" unavailable="HTTP resource governance">
        {({ items }) => (
          <>
            <Section title="Resources">
              {items.length === 0 ? (
                <Empty>
                  <p>No HTTP resources yet.</p>
                </Empty>
              ) : (
                <ul className="stack plain-list">
                  {items.map((resource) => (
                    <li key={resource.id}>
                      <HttpResourceCard
                        resource={resource}
                        tenantName={tenantName}
                        onChanged={(text) => {
                          setMessage(text);
                          list.reload();
                        }}
                        onTried={list.reload}
                      />
                    </li>
                  ))}
                </ul>
              )}
            </Section>
            <NewHttpResource
              onCreated={() => {
                setMessage('Resource created. Set its credential before granting it.');
                list.reload();
              }}
            />
          </>
        )}
      </Show>
    </>
  );
}

/**
 * Where a resource's trial starts: its first allowed path without a wildcard, else its first pattern
 * up to its first wildcard segment (`/invoices/*` → `/invoices/`), for the user to complete. `/`
 * fits only a resource that allows it, so it is never the default of one that does not.
 */
export function trialPathFor(patterns: readonly string[]): string {
  const literal = patterns.find((pattern) => !pattern.includes('*'));
  if (literal !== undefined) return literal;
  const first = patterns[0];
  if (first === undefined) return '/';
  const segments = first.split('/');
  return `${segments
    .slice(
      0,
      segments.findIndex((segment) => segment.includes('*')),
    )
    .join('/')}/`;
}

function HttpResourceCard({
  resource,
  tenantName,
  onChanged,
  onTried,
}: {
  readonly resource: HttpResource;
  readonly tenantName: (id: string) => string;
  readonly onChanged: (text: string) => void;
  /** After a trial: the resource is read again (a successful one confirmed its credential). */
  readonly onTried: () => void;
}) {
  const { confirm, dialog } = useConfirm();
  const base = `/api/http-resources/${segment(resource.id)}`;
  const [credential, setCredential] = useState('');
  // Nothing to replace until a first credential is set.
  const configured = resource.credential?.configured === true;
  const [trialMethod, setTrialMethod] = useState(resource.methods[0] ?? 'GET');
  const [trialPath, setTrialPath] = useState(() => trialPathFor(resource.paths));
  const [trialResult, setTrialResult] = useState<TrialResult | undefined>(undefined);
  const [grantTo, setGrantTo] = useState('');
  const setSecret = useAction(async () => {
    await api.put<void>(`${base}/credential`, { value: credential });
    return true;
  });
  const trial = useAction(async () =>
    api.post<TrialResult>(`${base}/trial`, { method: trialMethod, path: trialPath }),
  );
  // Why the API refused the path (422: outside the allowed paths), shown by the field itself.
  const pathProblem = trial.problem?.errors.find((error) => error.path === 'path');
  const grant = useAction(async () => api.post<unknown>(`${base}/grants`, { tenantIds: splitList(grantTo) }));
  const revoke = useAction(async (tenantId: string) => {
    await api.delete<void>(`${base}/grants/${segment(tenantId)}`);
    return true;
  });
  const dropPrevious = useAction(async () => {
    await api.delete<void>(`${base}/credential/previous`);
    return true;
  });
  return (
    <article className="card" aria-label={resource.name}>
      {dialog}
      <h3>
        {resource.name}{' '}
        {resource.state === undefined || resource.state === 'active' ? null : (
          <Badge value={resource.state} />
        )}
      </h3>
      <dl className="facts">
        {resource.localDevelopment ? (
          <>
            <dt>Scope</dt>
            <dd>
              <Badge value="warning" label="local development" />
            </dd>
          </>
        ) : null}
        <dt>Base URL</dt>
        <dd>
          <code>{resource.baseUrl}</code>
        </dd>
        <dt>Methods</dt>
        <dd>{resource.methods.join(', ')}</dd>
        <dt>Paths</dt>
        <dd>{resource.paths.join(', ')}</dd>
        <dt>Writes</dt>
        <dd>{resource.writeAllowed ? 'allowed' : 'read only'}</dd>
        <dt>Auth</dt>
        <dd>
          {resource.auth?.scheme ?? '—'}
          {resource.auth?.header ? ` (${resource.auth.header})` : ''} · credential{' '}
          {resource.credential?.configured ? (
            <>
              set
              {resource.credential.rotatedAt ? (
                <>
                  {' '}
                  on <DateTime value={resource.credential.rotatedAt} />
                </>
              ) : null}
              {resource.credential.confirmed === false ? ' (not yet confirmed by a successful call)' : ''}
              {resource.credential.previousKept ? (
                <>
                  {' '}
                  · the previous one is kept for rollback{' '}
                  <button
                    type="button"
                    className="secondary small"
                    disabled={dropPrevious.pending}
                    onClick={async () => {
                      const ok = await confirm({
                        title: 'Drop the previous credential?',
                        body: <p>Runs can no longer fall back to it if the new one fails.</p>,
                        confirm: 'Drop it',
                        danger: true,
                      });
                      if (!ok) return;
                      if ((await dropPrevious.run()) === true)
                        onChanged(`The previous credential of ${resource.name} is dropped.`);
                    }}
                  >
                    Drop the previous credential
                  </button>
                  <ProblemView problem={dropPrevious.problem} />
                </>
              ) : null}
            </>
          ) : (
            'not set'
          )}
        </dd>
        {resource.grants === undefined ? null : (
          <>
            <dt>Granted to</dt>
            <dd>
              {resource.grants.length === 0 ? (
                'nobody'
              ) : (
                <ul className="plain-list grants">
                  {resource.grants.map((tenantId) => (
                    <li key={tenantId}>
                      {tenantName(tenantId)}{' '}
                      <button
                        type="button"
                        className="secondary small"
                        disabled={revoke.pending}
                        onClick={async () => {
                          const ok = await confirm({
                            title: `Revoke ${resource.name} from ${tenantName(tenantId)}?`,
                            body: (
                              <p>
                                Their Skills bound to it stop running at once; runs waiting for approval must
                                be requested again.
                              </p>
                            ),
                            confirm: 'Revoke',
                            danger: true,
                          });
                          if (!ok) return;
                          if ((await revoke.run(tenantId)) === true)
                            onChanged(`${tenantName(tenantId)} no longer holds ${resource.name}.`);
                        }}
                      >
                        Revoke {tenantName(tenantId)}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              <ProblemView problem={revoke.problem} />
            </dd>
          </>
        )}
      </dl>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if ((await setSecret.run()) === true) {
            setCredential('');
            onChanged(`Credential of ${resource.name} ${configured ? 'replaced' : 'set'}.`);
          }
        }}
      >
        <div className="field">
          <label htmlFor={`credential-${resource.id}`}>New credential</label>
          <input
            id={`credential-${resource.id}`}
            type="password"
            autoComplete="off"
            required
            value={credential}
            onChange={(e) => setCredential(e.target.value)}
            aria-describedby={`credential-hint-${resource.id}`}
          />
          <p id={`credential-hint-${resource.id}`} className="hint">
            Write-only: it is stored for the executor and never shown again, here or anywhere.
          </p>
        </div>
        <Submit action={setSecret} className="secondary">
          {configured ? 'Replace credential' : 'Set credential'}
        </Submit>
      </form>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const answer = await trial.run();
          if (answer === undefined) return;
          setTrialResult(answer);
          // A 2xx answer confirms the credential on the resource: show the resource as it is now.
          onTried();
        }}
      >
        <div className="form-row">
          <div className="field">
            <label htmlFor={`trial-method-${resource.id}`}>Trial method</label>
            <select
              id={`trial-method-${resource.id}`}
              value={trialMethod}
              onChange={(e) => setTrialMethod(e.target.value)}
            >
              <Options values={resource.methods} />
            </select>
          </div>
          <div className="field">
            <label htmlFor={`trial-path-${resource.id}`}>Trial path</label>
            <input
              id={`trial-path-${resource.id}`}
              required
              autoCapitalize="none"
              spellCheck={false}
              value={trialPath}
              onChange={(e) => {
                setTrialPath(e.target.value);
                if (pathProblem !== undefined) trial.reset();
              }}
              aria-invalid={pathProblem === undefined ? undefined : true}
              aria-describedby={`trial-path-hint-${resource.id}${pathProblem === undefined ? '' : ` trial-path-problem-${resource.id}`}`}
            />
            <p id={`trial-path-hint-${resource.id}`} className="hint">
              Within {resource.paths.join(', ')}: fill in each <code>*</code> (one segment) or <code>**</code>{' '}
              (the rest of the path).
            </p>
            {pathProblem === undefined ? null : (
              <p id={`trial-path-problem-${resource.id}`} className="hint warn" role="alert">
                {pathProblem.message}.
              </p>
            )}
          </div>
        </div>
        <ProblemView problem={pathProblem === undefined ? trial.problem : null} />
        <button type="submit" className="secondary" disabled={trial.pending}>
          {trial.pending ? 'Calling…' : 'Trial run'}
        </button>
        {trialResult === undefined ? null : (
          <div role="status">
            <p>
              <Badge
                value={trialResult.status < 400 ? 'succeeded' : 'failed'}
                label={`${trialResult.status} ${trialResult.statusText}`}
              />{' '}
              {trialResult.bytes} bytes in {trialResult.durationMs} ms
              {trialResult.truncated ? ' (truncated)' : ''}
            </p>
            <JsonBlock value={trialResult.body} label="Trial response body" />
          </div>
        )}
      </form>
      <StateActions
        subject="HTTP resource"
        name={resource.name}
        state={resource.state ?? 'active'}
        path={`${base}/state`}
        onChanged={onChanged}
      />
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if ((await grant.run()) !== undefined) {
            setGrantTo('');
            onChanged(`${resource.name} granted.`);
          }
        }}
      >
        <div className="field">
          <label htmlFor={`grant-${resource.id}`}>Grant to tenants (ids, comma-separated)</label>
          <input
            id={`grant-${resource.id}`}
            required
            value={grantTo}
            onChange={(e) => setGrantTo(e.target.value)}
          />
        </div>
        <Submit action={grant} className="secondary">
          Grant
        </Submit>
      </form>
    </article>
  );
}

function NewHttpResource({ onCreated }: { readonly onCreated: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [baseUrl, setBaseUrl] = useState('https://');
  const [methods, setMethods] = useState<string[]>(['GET']);
  const [paths, setPaths] = useState('/*');
  const [writeAllowed, setWriteAllowed] = useState(false);
  const [scheme, setScheme] = useState('bearer');
  const [header, setHeader] = useState('');
  const [localDevelopment, setLocalDevelopment] = useState(false);
  const create = useAction(async () =>
    api.post<HttpResource>('/api/http-resources', {
      ...(localDevelopment ? { localDevelopment: true } : {}),
      name,
      ...(description === '' ? {} : { description }),
      baseUrl,
      methods,
      paths: splitList(paths),
      writeAllowed,
      auth: { scheme, ...(scheme === 'header' && header !== '' ? { header } : {}) },
    }),
  );
  return (
    <Section title="New HTTP resource">
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if ((await create.run()) !== undefined) {
            setName('');
            setDescription('');
            setBaseUrl('https://');
            setPaths('/*');
            setHeader('');
            setLocalDevelopment(false);
            onCreated();
          }
        }}
      >
        <div className="form-row">
          <TextField id="resource-name" label="Name" required value={name} onChange={setName} />
          <TextField
            id="resource-url"
            label="Base URL"
            type="url"
            required
            value={baseUrl}
            onChange={setBaseUrl}
          />
        </div>
        <TextField
          id="resource-description"
          label="Description (tenants see it)"
          maxLength={2000}
          value={description}
          onChange={setDescription}
        />
        <CheckList
          legend="Methods"
          options={['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']}
          selected={methods}
          onChange={setMethods}
        />
        <TextField
          id="resource-paths"
          label="Allowed paths (patterns, comma-separated)"
          required
          value={paths}
          onChange={setPaths}
        />
        <div className="form-row">
          <div className="field">
            <label htmlFor="resource-scheme">Auth scheme</label>
            <select id="resource-scheme" value={scheme} onChange={(e) => setScheme(e.target.value)}>
              <option value="bearer">bearer</option>
              <option value="header">header</option>
              <option value="basic">basic</option>
            </select>
          </div>
          {scheme === 'header' ? (
            <TextField id="resource-header" label="Header name" value={header} onChange={setHeader} />
          ) : null}
        </div>
        <div className="field">
          <label className="check">
            <input
              type="checkbox"
              checked={writeAllowed}
              onChange={(e) => setWriteAllowed(e.target.checked)}
            />
            Allow writes (non-GET methods)
          </label>
        </div>
        <div className="field">
          <label className="check">
            <input
              type="checkbox"
              checked={localDevelopment}
              onChange={(e) => setLocalDevelopment(e.target.checked)}
              aria-describedby="resource-local-hint"
            />
            For local development
          </label>
          <p id="resource-local-hint" className="hint">
            May reach loopback and private addresses (a service on this machine). Only a local platform
            honours it; a cloud deployment refuses such a resource.
          </p>
        </div>
        <Submit action={create}>Create resource</Submit>
      </form>
    </Section>
  );
}

// ── platform announcements ───────────────────────────────────────────────────────────────────

export function PlatformAnnouncementsPage() {
  const list = usePaged<PlatformAnnouncement>('/api/announcements');
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [severity, setSeverity] = useState('info');
  const [everyone, setEveryone] = useState(true);
  const [tenants, setTenants] = useState('');
  const [audience, setAudience] = useState('');
  const [message, setMessage] = useNotice();
  const post = useAction(async () =>
    api.post<PlatformAnnouncement & { newlyDelivered: number }>(
      '/api/announcements',
      {
        title,
        body,
        severity,
        tenants: everyone ? 'all' : splitList(tenants),
        ...(audience.trim() === '' ? {} : { audience: splitList(audience) }),
      },
      { headers: idempotencyHeaders() },
    ),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const posted = await post.run();
    if (posted !== undefined) {
      setMessage(`Posted to ${counted(posted.newlyDelivered, 'tenant')}.`);
      setTitle('');
      setBody('');
      list.reload();
    }
  };
  return (
    <>
      <PageHeader title="Announcements" />
      <Section title="Post to tenants">
        <form onSubmit={submit}>
          <AnnouncementFields
            idPrefix="platform-announcement"
            bodyRequired
            title={title}
            onTitle={setTitle}
            severity={severity}
            onSeverity={setSeverity}
            body={body}
            onBody={setBody}
          />
          <fieldset>
            <legend>Tenants</legend>
            <label className="check">
              <input
                type="radio"
                name="announcement-tenants"
                checked={everyone}
                onChange={() => setEveryone(true)}
              />
              All tenants
            </label>{' '}
            <label className="check">
              <input
                type="radio"
                name="announcement-tenants"
                checked={!everyone}
                onChange={() => setEveryone(false)}
              />
              Only these
            </label>
            {everyone ? null : (
              <TextField
                id="platform-announcement-tenants"
                label="Tenant ids (comma-separated)"
                required
                value={tenants}
                onChange={setTenants}
              />
            )}
          </fieldset>
          <div className="field">
            <label htmlFor="platform-announcement-audience">
              Roles in each tenant (optional, comma-separated)
            </label>
            <input
              id="platform-announcement-audience"
              value={audience}
              onChange={(e) => setAudience(e.target.value)}
              placeholder="everyone"
            />
          </div>
          <ProblemView problem={post.problem} />
          <Notice>{message}</Notice>
          <button type="submit" disabled={post.pending}>
            {post.pending ? 'Posting…' : 'Post announcement'}
          </button>
        </form>
      </Section>
      <Section title="Posted">
        <ShowList state={list.state} loading="Loading announcements…" empty={<p>Nothing posted yet.</p>}>
          {(items) => (
            <Table columns={['Posted', 'Title', 'Tenants', 'Delivered']}>
              {items.map((announcement) => (
                <tr key={announcement.id}>
                  <td>
                    <DateTime value={announcement.createdAt} />
                    <div className="muted">{announcement.createdBy}</div>
                  </td>
                  <td>
                    {announcement.title} <Badge value={announcement.severity} />
                  </td>
                  <td>{announcement.tenants === 'all' ? 'all' : announcement.tenants.join(', ')}</td>
                  <td>{announcement.delivered}</td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
    </>
  );
}

// ── the tenant console of whitelisted tenant admins ──────────────────────────────────────────

export function ConsoleTenantsPage({ superAdmin }: { readonly superAdmin: boolean }) {
  const { state } = useResource<{ items: Tenant[] }>('/api/console/tenants');
  return (
    <>
      <PageHeader title="My tenants" />
      <Section title="Tenants on your whitelist">
        <Show state={state} loading="Loading your tenants…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>No tenants are on your whitelist.</p>
                {superAdmin ? (
                  <p>
                    As a super-admin you govern every tenant under <Link to="/tenants">Tenants</Link>; this
                    list is for operators given tenants to look after.
                  </p>
                ) : null}
              </Empty>
            ) : (
              <TenantTable tenants={items} linked={false} />
            )
          }
        </Show>
      </Section>
    </>
  );
}
