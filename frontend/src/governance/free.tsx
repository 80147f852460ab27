/**
 * The free edition in the console: its leads (filter by status, source, dates and text, kept in the
 * address so a reload or the back button keeps them; export as CSV), one lead with its personal space (disable for abuse, enable, order its conversion into a
 * standard tenant and confirm the order's payment), and the templates offered to new spaces.
 */
import { type FormEvent, useState } from 'react';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, type Order } from '../../../functions/contract/index.ts';
import { api, requestText, segment, withQuery } from '../shared/api.ts';
import { ClearFilters, useAddressFilters } from '../shared/filters.tsx';
import { useAction, usePaged, useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import {
  Badge,
  DateTime,
  LoadMore,
  Notice,
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
import { money } from './customers.tsx';
import { PlanSelect } from './plans.tsx';

export interface Lead {
  readonly id: string;
  readonly handle: string;
  readonly tenantId: string;
  readonly host: string;
  readonly email: string;
  readonly name?: string;
  readonly source: string;
  readonly campaign?: string;
  readonly referrer?: string;
  readonly templates: readonly string[];
  readonly status: 'active' | 'disabled' | 'converted';
  readonly createdAt: string;
  readonly sourceIp: string;
  readonly disabledAt?: string;
  readonly disabledBy?: string;
  readonly disabledReason?: string;
  readonly convertedAt?: string;
  readonly orderId?: string;
  readonly plan?: string;
  /** The order that converts (or converted) the space, once one was ordered. */
  readonly conversionOrderId?: string;
}

interface LeadWithSpace extends Lead {
  /** That order as it is now (null: none ordered), so a reloaded page still offers its payment. */
  readonly conversionOrder: Order | null;
  readonly space: {
    readonly plan: string;
    readonly status: string;
    readonly hosts: readonly string[];
  } | null;
}

interface Offer {
  readonly templateId: string;
  readonly name: string;
  readonly offeredAt: string;
  readonly offeredBy: string;
}

/** The leads routes' filters (`leadFilter`), kept in the page's address. */
const FILTERS = ['status', 'source', 'from', 'to', 'q'] as const;

function download(text: string, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

export function FreeEditionPage({
  canManage,
  canOffer,
}: {
  readonly canManage: boolean;
  readonly canOffer: boolean;
}) {
  return (
    <>
      <PageHeader title="Leads and free spaces" />
      <Leads />
      {canOffer ? <Offers /> : null}
      {canManage ? null : (
        <p className="muted">You can see and export leads; managing spaces needs lead:manage.</p>
      )}
    </>
  );
}

function Leads() {
  const filters = useAddressFilters(FILTERS);
  const { current: filter, draft, set } = filters;
  const query = {
    status: filter.status,
    source: filter.source,
    // Written, not parsed: a day the address mistypes goes to the API, whose refusal the list shows
    // (`new Date(…).toISOString()` threw on it and took the page down).
    from: filter.from === '' ? '' : `${filter.from}T00:00:00.000Z`,
    to: filter.to === '' ? '' : `${filter.to}T23:59:59.999Z`,
    q: filter.q,
  };
  const list = usePaged<Lead>(withQuery('/api/free/leads', query), 50);
  const exporting = useAction(async () => {
    download(await requestText(withQuery('/api/free/leads/export', query)), 'leads.csv');
    return true;
  });
  return (
    <Section title="Leads">
      <form aria-label="Filter leads" onSubmit={filters.apply}>
        <div className="form-row">
          <div className="field">
            <label htmlFor="lead-status">Status</label>
            <select
              id="lead-status"
              value={draft.status}
              onChange={(event) => set('status')(event.target.value)}
            >
              <option value="">any</option>
              <option value="active">active</option>
              <option value="disabled">disabled</option>
              <option value="converted">converted</option>
            </select>
          </div>
          <TextField
            id="lead-source"
            label="Source"
            maxLength={40}
            value={draft.source}
            onChange={set('source')}
          />
          <TextField id="lead-from" label="From" type="date" value={draft.from} onChange={set('from')} />
          <TextField id="lead-to" label="To" type="date" value={draft.to} onChange={set('to')} />
          <TextField
            id="lead-q"
            label="Handle, email or name"
            maxLength={100}
            value={draft.q}
            onChange={set('q')}
          />
        </div>
        <div className="form-actions">
          <button type="submit">Filter</button>
          <ClearFilters filters={filters} />
          <button
            type="button"
            className="secondary"
            disabled={exporting.pending}
            onClick={() => void exporting.run()}
          >
            Export CSV
          </button>
        </div>
        <ProblemView problem={exporting.problem} />
      </form>
      <ShowList state={list.state} loading="Loading leads…" empty={<p>No lead matches.</p>}>
        {(items) => (
          <Table columns={['Signed up', 'Handle', 'Email', 'Source', 'Status']}>
            {items.map((lead) => (
              <tr key={lead.id} data-lead={lead.handle}>
                <td>
                  <DateTime value={lead.createdAt} />
                </td>
                <td>
                  <Link to={`/free/${segment(lead.id)}`}>{lead.handle}</Link>
                </td>
                <td>{lead.email}</td>
                <td>
                  {lead.source}
                  {lead.campaign ? ` · ${lead.campaign}` : ''}
                </td>
                <td>
                  <Badge value={lead.status} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </ShowList>
      <LoadMore list={list} />
    </Section>
  );
}

function Offers() {
  const offers = useResource<{ items: Offer[] }>('/api/free/templates');
  const templates = useResource<{ items: { id: string; name: string }[] }>('/api/templates');
  const [choice, setChoice] = useState('');
  const offer = useAction(async () => api.put<Offer>(`/api/free/templates/${segment(choice)}`, {}));
  const withdraw = useAction(async (id: string) => api.delete<void>(`/api/free/templates/${segment(id)}`));
  return (
    <Section title="Templates offered to new spaces">
      <Show state={offers.state}>
        {(data) =>
          data.items.length === 0 ? (
            <p>No template is offered: new spaces start empty.</p>
          ) : (
            <ul>
              {data.items.map((item) => (
                <li key={item.templateId}>
                  {item.name}{' '}
                  <button
                    type="button"
                    className="secondary small"
                    onClick={async () => {
                      await withdraw.run(item.templateId);
                      offers.reload();
                    }}
                  >
                    Withdraw
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <ProblemView problem={withdraw.problem} />
      <form
        onSubmit={async (event: FormEvent) => {
          event.preventDefault();
          if ((await offer.run()) !== undefined) offers.reload();
        }}
      >
        <div className="field">
          <label htmlFor="offer-template">Offer a template</label>
          <select
            id="offer-template"
            required
            value={choice}
            onChange={(event) => setChoice(event.target.value)}
          >
            <option value="">choose…</option>
            {templates.state.status === 'ready'
              ? templates.state.data.items.map((template) => (
                  <option key={template.id} value={template.id}>
                    {template.name}
                  </option>
                ))
              : null}
          </select>
        </div>
        <Submit action={offer}>Offer</Submit>
      </form>
    </Section>
  );
}

export function LeadPage({ id, canManage }: { readonly id: string; readonly canManage: boolean }) {
  const lead = useResource<LeadWithSpace>(`/api/free/leads/${segment(id)}`);
  return (
    <Show state={lead.state} loading="Loading the lead…">
      {(data) => (
        <>
          <PageHeader title={`Lead ${data.handle}`} />
          <Section title="Sign-up">
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <Badge value={data.status} />
              </dd>
              <dt>Space</dt>
              <dd>
                {data.host} ({data.tenantId}
                {data.space === null ? ', gone' : `, plan ${data.space.plan}, ${data.space.status}`})
              </dd>
              <dt>Email</dt>
              <dd>{data.email}</dd>
              <dt>Name</dt>
              <dd>{data.name ?? '—'}</dd>
              <dt>Source</dt>
              <dd>
                {data.source}
                {data.campaign ? ` · campaign ${data.campaign}` : ''}
                {data.referrer ? ` · from ${data.referrer}` : ''}
              </dd>
              <dt>Signed up</dt>
              <dd>
                <DateTime value={data.createdAt} /> from {data.sourceIp}
              </dd>
              {data.disabledReason === undefined ? null : (
                <>
                  <dt>Disabled</dt>
                  <dd>
                    by {data.disabledBy}: {data.disabledReason}
                  </dd>
                </>
              )}
              {data.orderId === undefined ? null : (
                <>
                  <dt>Converted</dt>
                  <dd>
                    by order {data.orderId} to plan {data.plan}
                  </dd>
                </>
              )}
            </dl>
          </Section>
          {canManage && data.status !== 'converted' ? (
            <>
              <DisableSpace lead={data} onChanged={lead.reload} />
              <Conversion lead={data} onChanged={lead.reload} />
            </>
          ) : null}
        </>
      )}
    </Show>
  );
}

function DisableSpace({ lead, onChanged }: { readonly lead: Lead; readonly onChanged: () => void }) {
  const [reason, setReason] = useState('');
  const disable = useAction(() => api.post<Lead>(`/api/free/leads/${segment(lead.id)}/disable`, { reason }));
  const enable = useAction(() => api.post<Lead>(`/api/free/leads/${segment(lead.id)}/enable`));
  if (lead.status === 'disabled') {
    return (
      <Section title="Disabled space">
        <p>Nothing runs in this space; its person can still sign in and read.</p>
        <ProblemView problem={enable.problem} />
        <button
          type="button"
          disabled={enable.pending}
          onClick={async () => {
            if ((await enable.run()) !== undefined) onChanged();
          }}
        >
          Enable the space
        </button>
      </Section>
    );
  }
  return (
    <Section title="Disable the space (abuse)">
      <form
        onSubmit={async (event: FormEvent) => {
          event.preventDefault();
          if ((await disable.run()) !== undefined) onChanged();
        }}
      >
        <TextField
          id="disable-reason"
          label="Reason"
          required
          maxLength={500}
          value={reason}
          onChange={setReason}
        />
        <Submit action={disable}>Disable</Submit>
      </form>
    </Section>
  );
}

/** Orders the conversion, or, while one is pending, offers to confirm its payment. */
function Conversion({ lead, onChanged }: { readonly lead: LeadWithSpace; readonly onChanged: () => void }) {
  const [plan, setPlan] = useState('standard');
  const [months, setMonths] = useState('12');
  const [amount, setAmount] = useState('0');
  const [hosts, setHosts] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState(lead.name ?? '');
  const pending =
    lead.conversionOrder !== null && ['pending', 'paying'].includes(lead.conversionOrder.status)
      ? lead.conversionOrder
      : null;
  const [created, setCreated] = useState<Order | null>(null);
  const order = created ?? pending;
  const create = useAction(() =>
    api.post<Order>(`/api/free/leads/${segment(lead.id)}/conversion`, {
      plan,
      months: Number(months),
      amount: Number(amount),
      hosts: splitList(hosts),
      admin: { username, password },
      ...(name.trim() === '' ? {} : { name: name.trim() }),
    }),
  );
  const confirm = useAction((orderId: string) =>
    api.post<Order>(`/api/orders/${segment(orderId)}/confirm-payment`),
  );
  const cancel = useAction((orderId: string) => api.post<Order>(`/api/orders/${segment(orderId)}/cancel`));
  const { confirm: ask, dialog } = useConfirm();
  if (order !== null) {
    const paying = order.status === 'paying';
    const what = `${order.plan}, ${order.months} months, ${order.amount} ${order.currency}`;
    return (
      <Section title="Conversion ordered">
        {dialog}
        <Notice>
          {paying
            ? `Order ${order.id} (${what}): its payment's confirmation started and did not finish. Finishing it goes on from where it stopped; the space converts once.`
            : `Order ${order.id} (${what}) waits for its payment. The space converts when the payment is confirmed; to change the conversion, cancel this order and order it again.`}
        </Notice>
        <ProblemView problem={confirm.problem} />
        <button
          type="button"
          disabled={confirm.pending}
          onClick={async () => {
            const ok = await ask({
              // Named by its amount, as the order center names a payment (its id says nothing here).
              title: paying
                ? `Finish confirming the payment of ${money(order.amount, order.currency)}?`
                : `Confirm the payment of ${money(order.amount, order.currency)}?`,
              body: (
                <p>
                  The personal space becomes a {order.plan} tenant on its new hosts, with its first admin, for{' '}
                  {order.months} months. A confirmed payment cannot be undone here.
                </p>
              ),
              confirm: paying ? 'Finish confirmation' : 'Confirm payment',
            });
            if (ok && (await confirm.run(order.id)) !== undefined) {
              setCreated(null);
              onChanged();
            }
          }}
        >
          {paying ? 'Finish confirmation' : 'Confirm payment'}
        </button>
        {paying ? null : (
          <>
            <ProblemView problem={cancel.problem} />
            <button
              type="button"
              disabled={cancel.pending}
              onClick={async () => {
                const ok = await ask({
                  title: `Cancel the order of ${money(order.amount, order.currency)}?`,
                  body: <p>The order is closed unpaid; the personal space stays as it is.</p>,
                  confirm: 'Cancel the order',
                  dismiss: 'Keep the order',
                  danger: true,
                });
                if (ok && (await cancel.run(order.id)) !== undefined) {
                  setCreated(null);
                  onChanged();
                }
              }}
            >
              Cancel the order
            </button>
          </>
        )}
      </Section>
    );
  }
  return (
    <Section title="Convert into a standard tenant">
      <p>
        The tenant keeps its id, Skills, scripts and history; its personal host keeps working beside the new
        ones.
      </p>
      <form
        aria-label="Convert"
        onSubmit={async (event: FormEvent) => {
          event.preventDefault();
          setPassword('');
          const ordered = await create.run();
          if (ordered !== undefined) setCreated(ordered);
        }}
      >
        <div className="form-row">
          <PlanSelect id="convert-plan" paid value={plan} onChange={setPlan} />
          <TextField
            id="convert-months"
            label="Months"
            type="number"
            min={1}
            max={120}
            required
            value={months}
            onChange={setMonths}
          />
          <TextField
            id="convert-amount"
            label="Amount"
            type="number"
            min={0}
            step="0.01"
            required
            value={amount}
            onChange={setAmount}
          />
        </div>
        <TextField
          id="convert-hosts"
          label="New hosts (comma-separated)"
          required
          value={hosts}
          onChange={setHosts}
        />
        <div className="form-row">
          <TextField
            id="convert-admin"
            label="First admin's username"
            required
            value={username}
            onChange={setUsername}
          />
          <TextField
            id="convert-password"
            label="First admin's password"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD_LENGTH}
            maxLength={MAX_PASSWORD_LENGTH}
            value={password}
            onChange={setPassword}
          />
        </div>
        <TextField id="convert-name" label="Tenant name" maxLength={200} value={name} onChange={setName} />
        <Submit action={create}>Order the conversion</Submit>
      </form>
    </Section>
  );
}
