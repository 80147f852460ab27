/** Customers and their ledgers, and the order center (new order, confirm payment, cancel). */
import { type FormEvent, useState } from 'react';
import {
  type Customer,
  FREE_PLAN,
  type LedgerEntry,
  type Order,
  type Tenant,
} from '../../../functions/contract/index.ts';
import { api, idempotencyHeaders, type Page, segment } from '../shared/api.ts';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import {
  Badge,
  DateTime,
  formatDate,
  LoadMore,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  Table,
  TextField,
  useConfirm,
} from '../shared/ui.tsx';
import { PlanSelect } from './plans.tsx';
import { LEDGER_FROM_LINK, TenantTable } from './tenants.tsx';

/** An amount in its currency, as people read it (`$240.00`); the bare figures when the code is unknown. */
export function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount} ${currency}`;
  }
}

export function CustomersPage({
  canCustomers,
  canOrders,
}: {
  readonly canCustomers: boolean;
  readonly canOrders: boolean;
}) {
  return (
    <>
      <PageHeader title="Customers & orders" />
      {canOrders ? <Orders /> : null}
      {canCustomers ? <Customers /> : null}
    </>
  );
}

function Customers() {
  const list = usePaged<Customer>('/api/customers', 50);
  const [name, setName] = useState('');
  const [contact, setContact] = useState('');
  const [email, setEmail] = useState('');
  const [notes, setNotes] = useState('');
  const create = useAction(async () =>
    api.post<Customer>('/api/customers', {
      name,
      contacts: contact.trim() === '' ? [] : [{ name: contact, ...(email === '' ? {} : { email }) }],
      ...(notes === '' ? {} : { notes }),
    }),
  );
  const [message, setMessage] = useNotice();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if ((await create.run()) !== undefined) {
      setMessage(`Customer ${name} created.`);
      setName('');
      setContact('');
      setEmail('');
      setNotes('');
      list.reload();
    }
  };
  return (
    <>
      <Section title="Customers">
        <ShowList state={list.state} loading="Loading customers…" empty={<p>No customers yet.</p>}>
          {(items) => (
            <Table columns={['Customer', 'Contacts', 'Since']}>
              {items.map((customer) => (
                <tr key={customer.id}>
                  <td>
                    <Link to={`/customers/${segment(customer.id)}`}>{customer.name}</Link>
                  </td>
                  <td>
                    {customer.contacts
                      .map((person) => `${person.name}${person.email ? ` <${person.email}>` : ''}`)
                      .join(', ') || '—'}
                  </td>
                  <td>{formatDate(customer.createdAt)}</td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
      <Section title="New customer">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField
              id="customer-name"
              label="Name"
              required
              maxLength={200}
              value={name}
              onChange={setName}
            />
            <TextField
              id="customer-contact"
              label="Contact person"
              maxLength={200}
              value={contact}
              onChange={setContact}
            />
            <TextField
              id="customer-email"
              label="Contact email"
              type="email"
              value={email}
              onChange={setEmail}
            />
          </div>
          <div className="field">
            <label htmlFor="customer-notes">Notes</label>
            <textarea
              id="customer-notes"
              rows={2}
              maxLength={2000}
              value={notes}
              onChange={(e) => setNotes(e.target.value)}
            />
          </div>
          <ProblemView problem={create.problem} />
          <Notice>{message}</Notice>
          <button type="submit" disabled={create.pending}>
            Create customer
          </button>
        </form>
      </Section>
    </>
  );
}

function Orders() {
  const list = usePaged<Order>('/api/orders', 50);
  const tenants = useResource<Page<Tenant>>('/api/tenants?limit=100');
  const [message, setMessage] = useNotice();
  const { confirm, dialog } = useConfirm();
  const tenantName = (id: string) =>
    tenants.state.status === 'ready'
      ? (tenants.state.data.items.find((tenant) => tenant.id === id)?.name ?? id)
      : id;
  const act = useAction(async (order: Order, action: 'confirm-payment' | 'cancel') =>
    api.post<Order>(`/api/orders/${segment(order.id)}/${action}`),
  );
  const onAct = async (order: Order, action: 'confirm-payment' | 'cancel') => {
    const name = tenantName(order.tenantId);
    const renewal = `${name} is renewed for ${order.months} month${order.months === 1 ? '' : 's'} on the ${order.plan} plan`;
    const ok = await confirm(
      action === 'cancel'
        ? {
            title: `Cancel the order for ${name}?`,
            body: <p>The order is closed unpaid; nothing changes for the tenant.</p>,
            confirm: 'Cancel the order',
            // Beside "Cancel the order", a plain "Cancel" would read as the same action.
            dismiss: 'Keep the order',
            danger: true,
          }
        : order.status === 'paying'
          ? {
              // A confirmation that stopped part-way (the process died, the connection dropped) left
              // the order `paying`: confirming again goes on from the step it reached, and the
              // tenant's renewal is applied once however often it is repeated.
              title: `Finish confirming the payment of ${money(order.amount, order.currency)}?`,
              body: (
                <p>
                  Its confirmation started
                  {order.confirmedAt === undefined ? '' : ` on ${formatDate(order.confirmedAt)}`}
                  {order.confirmedBy === undefined ? '' : ` (by ${order.confirmedBy})`} and did not finish.
                  Finishing it goes on from where it stopped: {renewal} once, never twice.
                </p>
              ),
              confirm: 'Finish confirmation',
            }
          : {
              title: `Confirm the payment of ${money(order.amount, order.currency)}?`,
              body: (
                <p>
                  {renewal}
                  {order.renewal === undefined
                    ? ' and its expiry moves forward'
                    : `: its expiry moves from ${formatDate(order.renewal.previousExpiry)} to ${formatDate(order.renewal.newExpiry)}`}
                  . A confirmed payment cannot be undone here.
                </p>
              ),
              confirm: 'Confirm payment',
            },
    );
    if (!ok) return;
    const done = await act.run(order, action);
    if (done !== undefined) {
      setMessage(
        action === 'cancel'
          ? `Order for ${name} cancelled.`
          : `Payment confirmed; ${name} now runs until ${formatDate(done.newExpiry)}.`,
      );
      list.reload();
    }
  };
  return (
    <>
      <Section title="Orders">
        {dialog}
        <Notice>{message}</Notice>
        <ProblemView problem={act.problem} />
        <ShowList state={list.state} loading="Loading orders…" empty={<p>No orders yet.</p>}>
          {(items) => (
            <Table columns={['Created', 'Tenant', 'Plan', 'Amount', 'Status', 'Actions']}>
              {items.map((order) => (
                <tr key={order.id}>
                  <td>
                    <DateTime value={order.createdAt} />
                  </td>
                  <td>
                    <Link to={`/tenants/${segment(order.tenantId)}`}>{tenantName(order.tenantId)}</Link>
                  </td>
                  <td>
                    {order.plan} · {order.months} month{order.months === 1 ? '' : 's'}
                  </td>
                  <td>{money(order.amount, order.currency)}</td>
                  <td>
                    <Badge value={order.status} />
                    {order.confirmedBy ? <div className="muted">by {order.confirmedBy}</div> : null}
                    {order.status === 'paying' ? (
                      <div className="muted">confirmation not finished</div>
                    ) : null}
                    {order.renewal === undefined ? null : (
                      <div className="muted" data-renewal>
                        paying moves its expiry from {formatDate(order.renewal.previousExpiry)} to{' '}
                        {formatDate(order.renewal.newExpiry)}
                      </div>
                    )}
                  </td>
                  <td className="actions">
                    {order.status === 'pending' || order.status === 'paying' ? (
                      <button
                        type="button"
                        className="small"
                        disabled={act.pending}
                        onClick={() => onAct(order, 'confirm-payment')}
                      >
                        {order.status === 'paying' ? 'Finish confirmation' : 'Confirm payment'}
                      </button>
                    ) : null}
                    {order.status === 'pending' ? (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={act.pending}
                        onClick={() => onAct(order, 'cancel')}
                      >
                        Cancel
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={list} />
      </Section>
      <NewOrder
        tenants={tenants.state.status === 'ready' ? tenants.state.data.items : []}
        onCreated={() => {
          setMessage('Order created; confirm the payment when it arrives.');
          list.reload();
        }}
      />
    </>
  );
}

function NewOrder({
  tenants,
  onCreated,
}: {
  readonly tenants: readonly Tenant[];
  readonly onCreated: () => void;
}) {
  // An order renews a tenant: not an archived one, nor a personal space of the free edition (the
  // only tenants on the free plan), whose conversion is ordered from its lead; the API refuses both.
  const orderable = tenants.filter((tenant) => tenant.plan !== FREE_PLAN && tenant.status !== 'archived');
  const [tenantId, setTenantId] = useState('');
  const [plan, setPlan] = useState('standard');
  const [months, setMonths] = useState('12');
  const [amount, setAmount] = useState('');
  const [currency, setCurrency] = useState('USD');
  const create = useAction(async () =>
    api.post<Order>(
      '/api/orders',
      { tenantId, plan, months: Number(months), amount: Number(amount), currency: currency.toUpperCase() },
      { headers: idempotencyHeaders() },
    ),
  );
  const [created, setCreated] = useState('');
  const chosen = orderable.find((tenant) => tenant.id === tenantId);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const order = await create.run();
    if (order !== undefined) {
      setAmount('');
      // What paying it will do, before anyone confirms the payment.
      setCreated(
        order.renewal === undefined
          ? 'Order created.'
          : `Order created. Paying it moves ${chosen?.name ?? order.tenantId}’s expiry from ${formatDate(order.renewal.previousExpiry)} to ${formatDate(order.renewal.newExpiry)}.`,
      );
      onCreated();
    }
  };
  return (
    <Section title="New order">
      <form onSubmit={submit}>
        <div className="form-row">
          <div className="field">
            <label htmlFor="order-tenant">Tenant</label>
            <select
              id="order-tenant"
              required
              value={tenantId}
              aria-describedby="order-tenant-hint"
              onChange={(e) => setTenantId(e.target.value)}
            >
              <option value="">Choose a tenant</option>
              {orderable.map((tenant) => (
                <option key={tenant.id} value={tenant.id}>
                  {tenant.name}
                </option>
              ))}
            </select>
            <p id="order-tenant-hint" className="hint">
              {chosen === undefined ? null : (
                <span data-current-expiry>
                  {chosen.name} runs until {formatDate(chosen.expiresAt)}: the order’s months are added to
                  that day (to the day of payment, if it has passed).{' '}
                </span>
              )}
              Free personal spaces are not listed: order their conversion from their lead, under{' '}
              <Link to="/free">Leads and free spaces</Link>.
            </p>
          </div>
          <PlanSelect id="order-plan" paid value={plan} onChange={setPlan} />
          <TextField
            id="order-months"
            label="Months"
            type="number"
            min={1}
            max={120}
            required
            value={months}
            onChange={setMonths}
          />
          <TextField
            id="order-amount"
            label="Amount"
            type="number"
            min={0}
            step="0.01"
            required
            value={amount}
            onChange={setAmount}
          />
          <TextField
            id="order-currency"
            label="Currency"
            required
            pattern="[A-Za-z]{3}"
            maxLength={3}
            value={currency}
            onChange={setCurrency}
          />
        </div>
        <Submit action={create}>Create order</Submit>
        <Notice>{created}</Notice>
      </form>
    </Section>
  );
}

export function CustomerPage({
  id,
  canLink,
}: {
  readonly id: string;
  /** Whether the caller may change tenants (`tenant:manage`), so link them to this customer or unlink them. */
  readonly canLink: boolean;
}) {
  const customer = useResource<Customer>(`/api/customers/${segment(id)}`);
  const ledger = usePaged<LedgerEntry>(`/api/customers/${segment(id)}/ledger`, 50);
  const changed = () => {
    customer.reload();
    ledger.reload();
  };
  return (
    <>
      <PageHeader title={customer.state.status === 'ready' ? customer.state.data.name : 'Customer'}>
        <Link className="button secondary" to="/customers">
          All customers
        </Link>
      </PageHeader>
      <Show state={customer.state} loading="Loading the customer…">
        {(data) => (
          <>
            <Section title="Contacts">
              {data.contacts.length === 0 ? (
                <p className="muted">No contacts recorded.</p>
              ) : (
                <ul>
                  {data.contacts.map((person) => (
                    <li key={`${person.name}:${person.email ?? ''}`}>
                      {person.name}
                      {person.role ? ` (${person.role})` : ''}
                      {person.email ? (
                        <>
                          {' '}
                          · <a href={`mailto:${person.email}`}>{person.email}</a>
                        </>
                      ) : null}
                      {person.phone ? ` · ${person.phone}` : ''}
                    </li>
                  ))}
                </ul>
              )}
              {data.notes ? <p className="pre-line">{data.notes}</p> : null}
            </Section>
            <CustomerTenants customer={data} canLink={canLink} onChanged={changed} />
          </>
        )}
      </Show>
      <Section title="Ledger">
        <p className="hint">
          Orders are recorded here when they were created while their tenant belonged to this customer: those
          from before a tenant was linked are not.
        </p>
        <ShowList state={ledger.state} loading="Loading the ledger…" empty={<p>Nothing recorded yet.</p>}>
          {(items) => (
            <Table columns={['When', 'Event', 'Summary', 'Amount']}>
              {items.map((entry) => (
                <tr key={entry.id}>
                  <td>
                    <DateTime value={entry.at} />
                  </td>
                  <td>
                    <Badge value="info" label={entry.kind} />
                  </td>
                  <td>{entry.summary}</td>
                  <td>{entry.amount === undefined ? '—' : money(entry.amount, entry.currency ?? 'USD')}</td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={ledger} />
      </Section>
    </>
  );
}

/**
 * The customer's tenants; with `tenant:manage`, unlink one or link another (a tenant belongs to one
 * customer at most: linking one of another customer's moves it here). Both are the tenant's
 * `PATCH` with its `customerId`, which records the change in the ledgers concerned.
 */
function CustomerTenants({
  customer,
  canLink,
  onChanged,
}: {
  readonly customer: Customer;
  readonly canLink: boolean;
  readonly onChanged: () => void;
}) {
  const tenants = useResource<Page<Tenant>>(canLink ? '/api/tenants?limit=100' : null);
  const [tenantId, setTenantId] = useState('');
  const [message, setMessage] = useNotice();
  const { confirm, dialog } = useConfirm();
  const link = useAction(async (tenant: string, customerId: string | null) =>
    api.patch<Tenant>(`/api/tenants/${segment(tenant)}`, { customerId }),
  );
  const linked = customer.tenants ?? [];
  const choices =
    tenants.state.status === 'ready'
      ? tenants.state.data.items.filter((tenant) => tenant.customerId !== customer.id)
      : [];
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const tenant = choices.find((choice) => choice.id === tenantId);
    if (tenant === undefined) return;
    if (tenant.customerId !== undefined) {
      const ok = await confirm({
        title: `Move ${tenant.name} to ${customer.name}?`,
        body: (
          <p>
            It belongs to another customer now, whose ledger records that it left and gets none of its later
            orders.
          </p>
        ),
        confirm: 'Move',
      });
      if (!ok) return;
    }
    setMessage('');
    if ((await link.run(tenant.id, customer.id)) === undefined) return;
    setTenantId('');
    setMessage(`${tenant.name} linked. ${LEDGER_FROM_LINK}`);
    tenants.reload();
    onChanged();
  };
  const unlink = async (tenant: Tenant) => {
    const ok = await confirm({
      title: `Unlink ${tenant.name} from ${customer.name}?`,
      body: <p>The ledger records that it left, and gets none of its later orders.</p>,
      confirm: 'Unlink',
      danger: true,
    });
    if (!ok) return;
    setMessage('');
    if ((await link.run(tenant.id, null)) === undefined) return;
    setMessage(`${tenant.name} unlinked.`);
    tenants.reload();
    onChanged();
  };
  return (
    <Section title="Tenants">
      {dialog}
      {linked.length === 0 ? (
        <p className="muted">No tenants linked to this customer.</p>
      ) : (
        <TenantTable
          tenants={linked}
          {...(canLink
            ? {
                actions: (tenant: Tenant) => (
                  <button
                    type="button"
                    className="secondary small"
                    disabled={link.pending}
                    onClick={() => unlink(tenant)}
                  >
                    Unlink {tenant.name}
                  </button>
                ),
              }
            : {})}
        />
      )}
      {canLink ? (
        <form onSubmit={submit}>
          <div className="field">
            <label htmlFor="customer-link-tenant">Link a tenant</label>
            <select
              id="customer-link-tenant"
              required
              value={tenantId}
              onChange={(e) => setTenantId(e.target.value)}
              aria-describedby="customer-link-tenant-hint"
            >
              <option value="">Choose a tenant</option>
              {choices.map((tenant) => (
                <option key={tenant.id} value={tenant.id}>
                  {`${tenant.name}${tenant.customerId === undefined ? '' : ' (of another customer)'}`}
                </option>
              ))}
            </select>
            <p id="customer-link-tenant-hint" className="hint">
              {LEDGER_FROM_LINK}
            </p>
          </div>
          <Submit action={link}>Link tenant</Submit>
          <Notice>{message}</Notice>
        </form>
      ) : null}
    </Section>
  );
}
