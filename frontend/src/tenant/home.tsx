/**
 * The tenant's home page: a welcome (a dedicated delivery's own home text), the announcements and
 * notifications the user has not read yet as banners (platform announcements, renewal reminders,
 * decisions on their runs) until they mark them read, what waits for their approval (one card,
 * holding the "Approval needed" notices), and their latest runs. Dates are in the API's own words
 * (`UtcDateTime`), as the notices' bodies are.
 */

import { type Announcement, type Execution, FREE_PLAN } from '../../../functions/contract/index.ts';
import { api, type Me, segment, withQuery } from '../shared/api.ts';
import { refreshNotifications } from '../shared/console.tsx';
import { useAction, usePaged, useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import { countLabel } from '../shared/shell.tsx';
import {
  Badge,
  formatDuration,
  PageHeader,
  ProblemView,
  Section,
  ShowList,
  Table,
  UtcDateTime,
} from '../shared/ui.tsx';

const SOURCE_TEXT: Readonly<Record<string, string>> = {
  platform: 'From the platform',
  system: 'Notification',
  tenant: 'Announcement',
};

/** Open (when the notice links somewhere) and Mark as read, with the API's refusal of the mark. */
function NoticeActions({ item, onRead }: { readonly item: Announcement; readonly onRead: () => void }) {
  const read = useAction(async () => {
    await api.post<void>(`/api/announcements/${segment(item.id)}/read`);
    return true;
  });
  return (
    <>
      <div className="form-actions">
        {item.link === undefined ? null : (
          <Link className="button secondary small" to={item.link}>
            Open
          </Link>
        )}
        <button
          type="button"
          className="secondary small"
          disabled={read.pending}
          onClick={async () => {
            if ((await read.run()) === true) onRead();
          }}
        >
          Mark as read
        </button>
      </div>
      <ProblemView problem={read.problem} />
    </>
  );
}

/** A notice's title, body and actions: as a banner, or inside the card of approvals waiting. */
function Notice({ item, onRead }: { readonly item: Announcement; readonly onRead: () => void }) {
  return (
    <>
      <p>
        <strong>{item.title}</strong>
      </p>
      {item.body === '' ? null : <p className="pre-line">{item.body}</p>}
      <NoticeActions item={item} onRead={onRead} />
    </>
  );
}

function Banner({ item, onRead }: { readonly item: Announcement; readonly onRead: () => void }) {
  const tone = item.severity === 'critical' ? 'bad' : item.severity === 'warning' ? 'warn' : 'info';
  return (
    <section className={`banner tone-${tone}`} aria-label={item.title} data-announcement={item.id}>
      <p className="banner-source">{SOURCE_TEXT[item.source ?? 'tenant'] ?? 'Announcement'}</p>
      <Notice item={item} onRead={onRead} />
    </section>
  );
}

interface Quota {
  readonly used: number;
  readonly limit: number | null;
  readonly remaining: number | null;
}

interface PlanUsage {
  readonly plan: string;
  readonly resetsAt: string;
  readonly runsToday: Quota;
  readonly skills: Quota;
  readonly schedules: Quota;
  readonly users: Quota;
  readonly allows: { readonly httpAssets: boolean; readonly scriptBytes: number };
}

function quotaText(quota: Quota, what: string): string {
  if (quota.limit === null) return `${quota.used} ${what} (no limit)`;
  return `${quota.used} of ${quota.limit} ${what} used — ${quota.remaining ?? 0} left`;
}

/** The plan's quotas with what is left (shown where the plan limits them: the free plan). */
function PlanUsagePanel() {
  const usage = useResource<PlanUsage>('/api/usage');
  if (usage.state.status !== 'ready') return null;
  const data = usage.state.data;
  if (data.runsToday.limit === null && data.skills.limit === null) return null;
  return (
    <Section title={`Your ${data.plan} plan`}>
      <ul aria-label="Plan usage">
        <li data-quota="runsToday">
          {quotaText(data.runsToday, 'runs today')}; they start again <UtcDateTime value={data.resetsAt} />
        </li>
        <li data-quota="skills">{quotaText(data.skills, 'Skills')}</li>
        <li data-quota="schedules">{quotaText(data.schedules, 'schedules')}</li>
        <li data-quota="users">{quotaText(data.users, 'users')}</li>
        <li>
          Scripts up to {Math.round(data.allows.scriptBytes / 1024)} KiB
          {data.allows.httpAssets ? '' : '; no HTTP resources on this plan'}
        </li>
      </ul>
    </Section>
  );
}

export function HomePage({ me }: { readonly me: Me }) {
  const unread = useResource<{ items: Announcement[] }>('/api/announcements?unread=true&limit=50');
  const branding = me.appearance?.branding;
  const tenantName = me.domain.kind === 'tenant' ? me.domain.tenant.name : '';
  const personal = me.domain.kind === 'tenant' && me.domain.tenant.plan === FREE_PLAN;
  const canRead = me.permissions.includes('execution:read') || me.permissions.includes('skill:run');
  const mine = usePaged<Execution>(
    canRead ? withQuery('/api/executions', { requestedBy: me.username }) : null,
    5,
  );
  // How many runs wait for this user's decision, counted by the API (the inbox itself is paged).
  const decides =
    me.permissions.includes('approval:decide') && me.menus.some((menu) => menu.id === 'approvals');
  const approvals = useResource<{ approvalsWaiting: number; approvalsWaitingMore: boolean }>(
    decides ? '/api/notifications' : null,
  );
  const waiting = approvals.state.status === 'ready' ? approvals.state.data.approvalsWaiting : 0;
  const more = approvals.state.status === 'ready' && approvals.state.data.approvalsWaitingMore;
  const notices = unread.state.status === 'ready' ? unread.state.data.items : [];
  // An "Approval needed" notice is about a run the "Waiting for you" card already counts: shown as a
  // banner too, one waiting run made two cards. Where that card is shown, it holds those notices.
  const asksDecision = (item: Announcement) => decides && item.decisionOn !== undefined;
  const onRead = () => {
    unread.reload();
    refreshNotifications();
  };
  return (
    <>
      <PageHeader
        title={
          // A personal space is named after its person: greet them, not "welcome to" them.
          personal ? `Welcome, ${tenantName}` : `Welcome to ${branding?.displayName ?? tenantName}`
        }
      />
      {branding?.homeText ? (
        <div className="card home-text">
          <p className="pre-line">{branding.homeText}</p>
        </div>
      ) : null}
      <section aria-label="Unread announcements">
        {notices
          .filter((item) => !asksDecision(item))
          .map((item) => (
            <Banner key={item.id} item={item} onRead={onRead} />
          ))}
      </section>
      <PlanUsagePanel />
      {decides ? (
        <Section title="Waiting for you">
          <p>
            {waiting === 0 ? (
              'No run waits for your approval.'
            ) : (
              <>
                <strong>{countLabel({ count: waiting, more })}</strong> run
                {waiting === 1 && !more ? ' waits' : 's wait'} for your approval.{' '}
                <Link to="/approvals">Open the approvals</Link>
              </>
            )}
          </p>
          {notices.some(asksDecision) ? (
            <ul className="plain-list stack" aria-label="Approval notices">
              {notices.filter(asksDecision).map((item) => (
                <li key={item.id}>
                  <article aria-label={item.title} data-announcement={item.id}>
                    <Notice item={item} onRead={onRead} />
                  </article>
                </li>
              ))}
            </ul>
          ) : null}
        </Section>
      ) : null}
      {canRead ? (
        <Section title="Your latest runs">
          <ShowList
            state={mine.state}
            loading="Loading your runs…"
            empty={
              <p>
                You have not run anything yet. <Link to="/skills">Open the catalogue</Link>
              </p>
            }
          >
            {(items) => (
              <Table columns={['Requested', 'Skill', 'Status', 'Duration']}>
                {items.map((execution) => (
                  <tr key={execution.id}>
                    <td>
                      <Link to={`/executions/${segment(execution.id)}`}>
                        <UtcDateTime value={execution.createdAt} />
                      </Link>
                    </td>
                    <td>{execution.skillName}</td>
                    <td>
                      <Badge value={execution.status} />
                    </td>
                    <td>{formatDuration(execution.durationMs)}</td>
                  </tr>
                ))}
              </Table>
            )}
          </ShowList>
        </Section>
      ) : null}
    </>
  );
}
