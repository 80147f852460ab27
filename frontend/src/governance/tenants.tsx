/** Tenants and their hosts: the list, a new tenant, and one tenant's plan, status, expiry and hosts. */
import { type FormEvent, type ReactNode, useState } from 'react';
import {
  type Customer,
  type HostOnboarding,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  PERSONAL_SPACE_EXPIRY,
  TENANT_STATUSES,
  type Tenant,
} from '../../../functions/contract/index.ts';
import { AgentTable, type AgentView } from '../shared/agents.tsx';
import { api, type Page, segment } from '../shared/api.ts';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link, navigate } from '../shared/router.tsx';
import {
  Badge,
  DateTime,
  DisabledReason,
  Empty,
  formatDate,
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
import { BrandingSection } from './branding.tsx';
import { DomainStatus } from './hosts.tsx';
import { PlanSelect } from './plans.tsx';

/** How the console shows the expiry of a free personal space (PERSONAL_SPACE_EXPIRY), not as a date. */
const NEVER = 'never';

/** `2026-05-01` from an ISO instant, for a date input. */
export function dateInput(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().slice(0, 10);
}

/** The end of a chosen day, UTC, as the API's ISO instant. */
export function endOfDay(day: string): string {
  return new Date(`${day}T23:59:59.000Z`).toISOString();
}

/** Where a host's site is, on the port this console is served from (local development uses one port). */
export function hostUrl(host: string): string {
  const { protocol, port } = window.location;
  return `${protocol}//${host}${port === '' ? '' : `:${port}`}/`;
}

export function TenantsPage() {
  const list = usePaged<Tenant>('/api/tenants', 50);
  return (
    <>
      <PageHeader title="Tenants">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <Section title="All tenants">
        <ShowList
          state={list.state}
          loading="Loading tenants…"
          empty={<p>No tenants yet. Create the first one below.</p>}
        >
          {(items) => <TenantTable tenants={items} />}
        </ShowList>
        <LoadMore list={list} />
      </Section>
      <NewTenant />
    </>
  );
}

export function TenantTable({
  tenants,
  linked = true,
  actions,
}: {
  readonly tenants: readonly Tenant[];
  /** Link each tenant to its page (not for console users, who have no tenant pages). */
  readonly linked?: boolean;
  /** Buttons for each tenant, in a last column. @default none (no such column) */
  readonly actions?: (tenant: Tenant) => ReactNode;
}) {
  return (
    <Table
      columns={[
        'Tenant',
        'Status',
        'Plan',
        'Expires',
        'Hosts',
        ...(actions === undefined ? [] : ['Actions']),
      ]}
    >
      {tenants.map((tenant) => (
        <tr key={tenant.id} data-tenant={tenant.id}>
          <td>
            {linked ? <Link to={`/tenants/${segment(tenant.id)}`}>{tenant.name}</Link> : tenant.name}
            <div className="muted">
              <code>{tenant.id}</code>
            </div>
          </td>
          <td>
            <Badge value={tenant.status} />
          </td>
          <td>{tenant.plan}</td>
          <td>{tenant.expiresAt === PERSONAL_SPACE_EXPIRY ? NEVER : formatDate(tenant.expiresAt)}</td>
          <td>
            {tenant.hosts.map((host) => (
              <div key={host}>
                <code>{host}</code>
              </div>
            ))}
          </td>
          {actions === undefined ? null : <td className="actions">{actions(tenant)}</td>}
        </tr>
      ))}
    </Table>
  );
}

function NewTenant() {
  const customers = useResource<Page<Customer>>('/api/customers?limit=100');
  // A month, not a year: an order's months are added to this day, so a year given here and a
  // 12-month order paid on top ran the tenant two years (docs/decisions/tenant-expiry.md).
  const inAMonth = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [plan, setPlan] = useState('standard');
  const [hosts, setHosts] = useState('');
  const [expires, setExpires] = useState(inAMonth);
  const [status, setStatus] = useState('active');
  const [customerId, setCustomerId] = useState('');
  const create = useAction(async () =>
    api.post<Tenant>('/api/tenants', {
      id,
      name,
      plan,
      hosts: splitList(hosts),
      expiresAt: endOfDay(expires),
      status,
      ...(customerId === '' ? {} : { customerId }),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run();
    if (created !== undefined) navigate(`/tenants/${segment(created.id)}?created=1`);
  };
  return (
    <Section title="New tenant">
      <form onSubmit={submit}>
        <div className="form-row">
          <div className="field">
            <label htmlFor="tenant-id">Tenant id</label>
            <input
              id="tenant-id"
              required
              pattern="[a-z][a-z0-9\-]{1,38}[a-z0-9]"
              title="3–40 lowercase letters, digits and hyphens, starting with a letter"
              autoCapitalize="none"
              spellCheck={false}
              value={id}
              onChange={(e) => setId(e.target.value)}
              aria-describedby="tenant-id-hint"
            />
            <p id="tenant-id-hint" className="hint">
              A lowercase slug, fixed for good: 3–40 of a–z, 0–9 and hyphens.
            </p>
          </div>
          <TextField id="tenant-name" label="Name" required maxLength={200} value={name} onChange={setName} />
        </div>
        <div className="field">
          <label htmlFor="tenant-hosts">Hosts</label>
          <input
            id="tenant-hosts"
            required
            autoCapitalize="none"
            spellCheck={false}
            value={hosts}
            onChange={(e) => setHosts(e.target.value)}
            placeholder="initech.localhost"
            aria-describedby="tenant-hosts-hint"
          />
          <p id="tenant-hosts-hint" className="hint">
            The addresses the customer reaches; separate several with commas. Each host serves only this
            tenant.
          </p>
        </div>
        <div className="form-row">
          <PlanSelect id="tenant-plan" paid value={plan} onChange={setPlan} />
          <TextField
            id="tenant-expires"
            label="Expires on"
            type="date"
            required
            value={expires}
            onChange={setExpires}
            hint="The tenant runs until this day. A paid order adds its months to it: for a tenant made for its first order, choose the day the order is due to be paid."
          />
          <div className="field">
            <label htmlFor="tenant-status">Starts as</label>
            <select id="tenant-status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="active">active</option>
              <option value="trial">trial</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="tenant-customer">Customer</label>
            <select id="tenant-customer" value={customerId} onChange={(e) => setCustomerId(e.target.value)}>
              <option value="">— none —</option>
              {customers.state.status === 'ready'
                ? customers.state.data.items.map((customer) => (
                    <option key={customer.id} value={customer.id}>
                      {customer.name}
                    </option>
                  ))
                : null}
            </select>
          </div>
        </div>
        <ProblemView problem={create.problem} focus />
        <button type="submit" disabled={create.pending}>
          {create.pending ? 'Creating…' : 'Create tenant'}
        </button>
      </form>
    </Section>
  );
}

/** What the console says of linking a tenant to a customer: what the ledger then holds, and what not. */
export const LEDGER_FROM_LINK =
  'The customer’s ledger records the link, and the tenant’s orders created from then on; orders created before it stay out of that ledger.';

export function TenantPage({
  id,
  created,
  canCustomers,
}: {
  readonly id: string;
  readonly created: boolean;
  /** Whether the caller may read customers (`customer:manage`), so link the tenant to one. */
  readonly canCustomers: boolean;
}) {
  const tenant = useResource<Tenant>(`/api/tenants/${segment(id)}`);
  const [message, setMessage] = useNotice('');
  // Said once the tenant is read: the day it runs until, which a paid order extends.
  const createdNotice =
    created && tenant.state.status === 'ready'
      ? `Tenant created; it runs until ${formatDate(tenant.state.data.expiresAt)}. A paid order adds its months to that day.`
      : '';
  return (
    <>
      <PageHeader title={tenant.state.status === 'ready' ? tenant.state.data.name : 'Tenant'}>
        <Link className="button secondary" to="/tenants">
          All tenants
        </Link>
      </PageHeader>
      <Notice>{message || createdNotice}</Notice>
      <Show state={tenant.state} loading="Loading the tenant…">
        {(data) => (
          <>
            <EditTenant
              key={`${data.id}:${data.updatedAt ?? ''}`}
              tenant={data}
              canCustomers={canCustomers}
              onSaved={(text) => {
                setMessage(text);
                tenant.reload();
              }}
            />
            <Hosts
              tenant={data}
              onChanged={(text) => {
                setMessage(text);
                tenant.reload();
              }}
            />
            <BrandingSection
              key={`branding:${data.updatedAt ?? ''}`}
              tenant={data}
              onSaved={(text) => {
                setMessage(text);
                tenant.reload();
              }}
            />
            <TenantAdmin tenant={data} />
            <TenantAgents id={data.id} />
          </>
        )}
      </Show>
    </>
  );
}

function EditTenant({
  tenant,
  canCustomers,
  onSaved,
}: {
  readonly tenant: Tenant;
  readonly canCustomers: boolean;
  readonly onSaved: (text: string) => void;
}) {
  const [name, setName] = useState(tenant.name);
  const [plan, setPlan] = useState(tenant.plan);
  const [status, setStatus] = useState(tenant.status);
  // A free personal space never expires: its field is empty and ticked "never", not 9999-12-31.
  // Unticked, it takes a real date (the API lets a super-admin give the space an end).
  const neverExpires = tenant.expiresAt === PERSONAL_SPACE_EXPIRY;
  const [never, setNever] = useState(neverExpires);
  const [expires, setExpires] = useState(neverExpires ? '' : dateInput(tenant.expiresAt));
  const [deliveryMode, setDeliveryMode] = useState(tenant.deliveryMode ?? 'shared');
  const customer = useResource<Customer>(
    tenant.customerId === undefined || !canCustomers ? null : `/api/customers/${segment(tenant.customerId)}`,
  );
  const customers = useResource<Page<Customer>>(canCustomers ? '/api/customers?limit=100' : null);
  const [customerId, setCustomerId] = useState(tenant.customerId ?? '');
  const customerChanges = customerId !== (tenant.customerId ?? '');
  // The customers to choose from: the first page, and the tenant's own if it is not on it.
  const customerOptions = customers.state.status === 'ready' ? [...customers.state.data.items] : [];
  if (
    customer.state.status === 'ready' &&
    !customerOptions.some((option) => option.id === tenant.customerId)
  ) {
    customerOptions.push(customer.state.data);
  }
  const customerName = (id: string) => customerOptions.find((option) => option.id === id)?.name ?? id;
  const { confirm, dialog } = useConfirm();
  const save = useAction(async () => {
    const patch: Record<string, unknown> = {};
    if (name !== tenant.name) patch.name = name;
    if (plan !== tenant.plan) patch.plan = plan;
    if (status !== tenant.status) patch.status = status;
    if (deliveryMode !== (tenant.deliveryMode ?? 'shared')) patch.deliveryMode = deliveryMode;
    if (customerChanges) patch.customerId = customerId === '' ? null : customerId;
    if (!never && (neverExpires || expires !== dateInput(tenant.expiresAt))) {
      patch.expiresAt = endOfDay(expires);
    }
    return api.patch<Tenant>(`/api/tenants/${segment(tenant.id)}`, patch);
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (status !== tenant.status && (status === 'suspended' || status === 'archived')) {
      const ok = await confirm({
        title: `${status === 'suspended' ? 'Suspend' : 'Archive'} ${tenant.name}?`,
        body:
          status === 'suspended' ? (
            <p>Its users can still sign in and read, but nothing runs until it is reactivated.</p>
          ) : (
            <p>Its hosts stop serving it: nobody can sign in or run anything until it is restored.</p>
          ),
        confirm: status === 'suspended' ? `Suspend ${tenant.name}` : `Archive ${tenant.name}`,
        danger: true,
      });
      if (!ok) {
        // Cancelled: the form shows the status the tenant still has (other edits stay).
        setStatus(tenant.status);
        return;
      }
    }
    if (customerChanges && tenant.customerId !== undefined) {
      const from = customerName(tenant.customerId);
      const ok = await confirm({
        title:
          customerId === ''
            ? `Unlink ${tenant.name} from ${from}?`
            : `Move ${tenant.name} to ${customerName(customerId)}?`,
        body: (
          <p>
            {from}’s ledger records that the tenant left it and gets none of its later orders
            {customerId === '' ? '' : `; ${customerName(customerId)}’s ledger gets those created from now on`}
            .
          </p>
        ),
        confirm: customerId === '' ? 'Unlink' : 'Move',
      });
      if (!ok) {
        setCustomerId(tenant.customerId);
        return;
      }
    }
    if ((await save.run()) === undefined) return;
    onSaved(
      !customerChanges
        ? 'Saved.'
        : customerId === ''
          ? `Saved: ${tenant.name} belongs to no customer now.`
          : `Saved: ${tenant.name} now belongs to ${customerName(customerId)}. ${LEDGER_FROM_LINK}`,
    );
  };
  return (
    <Section title="Subscription">
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{tenant.id}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <Badge value={tenant.status} />
        </dd>
        <dt>Expires</dt>
        <dd>{tenant.expiresAt === PERSONAL_SPACE_EXPIRY ? NEVER : <DateTime value={tenant.expiresAt} />}</dd>
        {tenant.customerId === undefined ? null : (
          <>
            <dt>Customer</dt>
            <dd>
              <Link to={`/customers/${segment(tenant.customerId)}`}>
                {customer.state.status === 'ready' ? customer.state.data.name : 'Customer'}
              </Link>
            </dd>
          </>
        )}
      </dl>
      {dialog}
      <form onSubmit={submit}>
        <div className="form-row">
          <TextField id="edit-tenant-name" label="Name" required value={name} onChange={setName} />
          <PlanSelect id="edit-tenant-plan" paid value={plan} onChange={setPlan} />
          <div className="field">
            <label htmlFor="edit-tenant-status">Status</label>
            <select id="edit-tenant-status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <Options values={TENANT_STATUSES} />
            </select>
          </div>
          <div className="field">
            <label htmlFor="edit-tenant-expires">Expires on</label>
            <input
              id="edit-tenant-expires"
              type="date"
              required={!never}
              disabled={never}
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
            />
            {neverExpires ? (
              <label className="check">
                <input
                  type="checkbox"
                  checked={never}
                  onChange={(e) => {
                    setNever(e.target.checked);
                    if (e.target.checked) setExpires('');
                  }}
                />
                Never expires (a free personal space)
              </label>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="edit-tenant-delivery">Delivery</label>
            <select
              id="edit-tenant-delivery"
              value={deliveryMode}
              onChange={(e) => setDeliveryMode(e.target.value)}
            >
              <option value="shared">shared (standard look)</option>
              <option value="dedicated">dedicated (its own branding)</option>
            </select>
          </div>
          {canCustomers ? (
            <div className="field">
              <label htmlFor="edit-tenant-customer">Customer</label>
              <select
                id="edit-tenant-customer"
                value={customerId}
                onChange={(e) => setCustomerId(e.target.value)}
                aria-describedby="edit-tenant-customer-hint"
              >
                <option value="">— none —</option>
                {customerOptions.map((option) => (
                  <option key={option.id} value={option.id}>
                    {option.name}
                  </option>
                ))}
              </select>
              <p id="edit-tenant-customer-hint" className="hint">
                Linking records it in the customer’s ledger, with the orders created from then on; earlier
                orders stay out of it.
              </p>
            </div>
          ) : null}
        </div>
        <Submit action={save}>Save changes</Submit>
      </form>
    </Section>
  );
}

/**
 * Gives the tenant an admin, so someone can sign in on its own host (a new tenant has nobody). The
 * confirmation stays by the form and gives the address to sign in at, on this console's port.
 */
function TenantAdmin({ tenant }: { readonly tenant: Tenant }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const create = useAction(async () =>
    api.post<{ username: string }>(`/api/tenants/${segment(tenant.id)}/admins`, { username, password }),
  );
  const signInAt = tenant.hosts[0] === undefined ? undefined : hostUrl(tenant.hosts[0]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    const admin = await create.run();
    if (admin !== undefined) {
      setCreated(admin.username);
      setUsername('');
      setPassword('');
    }
  };
  return (
    <Section title="Tenant admin">
      <p>Creates a user with the admin role in this tenant, who signs in on the tenant’s own host.</p>
      <form onSubmit={submit}>
        <TextField
          id="tenant-admin-username"
          label="Admin username"
          required
          autoCapitalize="none"
          spellCheck={false}
          autoComplete="off"
          value={username}
          onChange={setUsername}
        />
        <TextField
          id="tenant-admin-password"
          label={`Admin password (${MIN_PASSWORD_LENGTH} characters or more)`}
          type="password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          maxLength={MAX_PASSWORD_LENGTH}
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
        />
        <Submit action={create}>Create admin</Submit>
        {created === null ? null : (
          <Notice>
            Admin {created} created:{' '}
            {signInAt === undefined ? (
              'they sign in on the tenant’s host once it has one.'
            ) : (
              <>
                they sign in at{' '}
                <a href={signInAt} target="_blank" rel="noreferrer">
                  {signInAt}
                </a>
                .
              </>
            )}
          </Notice>
        )}
      </form>
    </Section>
  );
}

function Hosts({
  tenant,
  onChanged,
}: {
  readonly tenant: Tenant;
  readonly onChanged: (text: string) => void;
}) {
  const [host, setHost] = useState('');
  const add = useAction(async () =>
    api.post<Tenant & { host: HostOnboarding }>(`/api/tenants/${segment(tenant.id)}/hosts`, { host }),
  );
  const domains = new Map((tenant.domains ?? []).map((domain) => [domain.host, domain]));
  const remove = useAction(async (name: string) =>
    api.delete<Tenant>(`/api/tenants/${segment(tenant.id)}/hosts/${segment(name)}`),
  );
  const hostConfirm = useConfirm();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const added = await add.run();
    if (added !== undefined) {
      const needed = added.host.dns.find((record) => record.required);
      onChanged(
        added.host.state === 'active' || needed === undefined
          ? `Host ${added.host.host} added.`
          : `Host ${added.host.host} added: create ${needed.type} ${needed.name} → ${needed.value}.`,
      );
      setHost('');
    }
  };
  return (
    <Section title="Hosts">
      {hostConfirm.dialog}
      <ProblemView problem={remove.problem} />
      {tenant.hosts.length === 0 ? (
        <Empty>
          <p>No hosts: nobody can reach this tenant.</p>
        </Empty>
      ) : (
        <ul className="host-list">
          {tenant.hosts.map((name) => {
            const domain = domains.get(name);
            const lastHost = tenant.hosts.length < 2;
            const reasonId = `host-reason-${name}`;
            return (
              <li key={name}>
                <a href={hostUrl(name)} target="_blank" rel="noreferrer">
                  {name}
                </a>{' '}
                <button
                  type="button"
                  className="danger small"
                  disabled={remove.pending || lastHost}
                  {...(lastHost ? { 'aria-describedby': reasonId } : {})}
                  onClick={async () => {
                    const ok = await hostConfirm.confirm({
                      title: `Remove the host ${name}?`,
                      body: (
                        <p>
                          {name} stops serving {tenant.name} at once; people using that address lose it.
                        </p>
                      ),
                      confirm: `Remove ${name}`,
                      danger: true,
                    });
                    if (!ok) return;
                    if ((await remove.run(name)) !== undefined) onChanged(`Host ${name} removed.`);
                  }}
                >
                  Remove {name}
                </button>{' '}
                {lastHost ? (
                  <DisabledReason id={reasonId}>
                    A tenant keeps at least one host: add another first.
                  </DisabledReason>
                ) : null}
                {domain === undefined ? null : (
                  <DomainStatus
                    domain={domain}
                    retryPath={`/api/tenants/${segment(tenant.id)}/hosts/${segment(name)}/retry`}
                    onChanged={onChanged}
                  />
                )}
              </li>
            );
          })}
        </ul>
      )}
      <form onSubmit={submit}>
        <TextField
          id="add-host"
          label="Add a host"
          required
          autoCapitalize="none"
          spellCheck={false}
          value={host}
          onChange={setHost}
        />
        <Submit action={add}>Add host</Submit>
      </form>
    </Section>
  );
}

/** The tenant's local agents, read-only: status, last seen, version (the tenant's admins manage them). */
function TenantAgents({ id }: { readonly id: string }) {
  const agents = useResource<{ items: AgentView[] }>(`/api/tenants/${segment(id)}/agents`);
  return (
    <Section title="Local agents">
      <Show state={agents.state} loading="Loading agents…">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              <p>This tenant has no local agents.</p>
            </Empty>
          ) : (
            <AgentTable agents={items} />
          )
        }
      </Show>
    </Section>
  );
}
