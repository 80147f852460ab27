/** The approvals inbox, announcements and the granted HTTP resources of a tenant. */
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import type {
  Announcement,
  Execution,
  HttpResourceSummary,
  InboxItem,
} from '../../../functions/contract/index.ts';
import { AnnouncementFields } from '../shared/announcements.tsx';
import { api, type Role, segment } from '../shared/api.ts';
import { refreshNotifications } from '../shared/console.tsx';
import { useAction, useNotice, usePaged, useResource } from '../shared/hooks.ts';
import { Link, useLocation } from '../shared/router.tsx';
import {
  Badge,
  Checks,
  Empty,
  JsonBlock,
  LoadMore,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  UtcDateTime,
  useConfirm,
} from '../shared/ui.tsx';
import { cannotDecideReason } from './wording.ts';

export function ApprovalsPage({ self }: { readonly self: string }) {
  // Oldest first, a page at a time (`Load more` follows the cursor).
  const list = usePaged<InboxItem>('/api/approvals');
  const [message, setMessage] = useNotice();
  // An approval link from an agent's ticket names its run: that card is shown first and marked.
  const focus = useLocation().query.get('run');
  // Once decided here, the linked run is gone from the inbox: the message says what happened to it.
  const [decided, setDecided] = useState<string | null>(null);
  return (
    <>
      <PageHeader title="Approvals">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <Notice>{message}</Notice>
      <Show state={list.state} loading="Loading the inbox…" unavailable="The approvals inbox">
        {(items) => (
          <>
            {focus === null ||
            focus === decided ||
            items.some((item) => item.id === focus) ? null : list.hasMore ? (
              <p className="muted" role="status">
                The run this link names is not among the runs loaded so far: load more below, or{' '}
                <Link to={`/executions/${segment(focus)}`}>see the run</Link>.
              </p>
            ) : (
              <p className="muted" role="status">
                The run this link names no longer waits for your decision: it was decided, cancelled or
                expired, or you have decided on it already.{' '}
                <Link to={`/executions/${segment(focus)}`}>See the run</Link>.
              </p>
            )}
            {items.length === 0 ? (
              <Empty>
                <p>Nothing is waiting for your decision.</p>
              </Empty>
            ) : (
              <ul className="grid-cards" aria-label="Runs waiting for approval">
                {[...items]
                  .sort((a, b) => Number(b.id === focus) - Number(a.id === focus))
                  .map((item) => (
                    <li key={item.id}>
                      <ApprovalCard
                        self={self}
                        item={item}
                        highlighted={item.id === focus}
                        onDecided={(text) => {
                          setMessage(text);
                          setDecided(item.id);
                          list.reload();
                          refreshNotifications();
                        }}
                      />
                    </li>
                  ))}
              </ul>
            )}
            <LoadMore list={list} />
          </>
        )}
      </Show>
    </>
  );
}

function ApprovalCard({
  item: execution,
  self,
  highlighted,
  onDecided,
}: {
  readonly item: InboxItem;
  readonly self: string;
  readonly highlighted: boolean;
  readonly onDecided: (text: string) => void;
}) {
  const card = useRef<HTMLElement>(null);
  useEffect(() => {
    if (highlighted) card.current?.scrollIntoView({ block: 'center' });
  }, [highlighted]);
  const votes = execution.approvals ?? [];
  const approved = votes.filter((vote) => vote.decision === 'approve').length;
  return (
    <article
      ref={card}
      className={highlighted ? 'card highlighted' : 'card'}
      aria-current={highlighted ? 'true' : undefined}
      aria-label={`Run of ${execution.skillName} by ${execution.requestedBy}${execution.client === undefined ? '' : ` through ${execution.client.name}`}`}
    >
      <h2>{execution.skillName}</h2>
      <dl className="facts">
        <dt>Requested by</dt>
        <dd>
          {execution.requestedBy}
          {execution.client === undefined ? null : <AgentNote name={execution.client.name} />}
        </dd>
        <dt>Requested</dt>
        <dd>
          <UtcDateTime value={execution.createdAt} />
        </dd>
        <dt>Approvals</dt>
        <dd>
          {execution.approvalsRequired === undefined
            ? `${approved}`
            : `${approved} of ${execution.approvalsRequired}`}
          {votes.length === 0
            ? null
            : ` (${votes.map((vote) => `${vote.approver}${vote.comment ? `: “${vote.comment}”` : ''}`).join('; ')})`}
          {execution.adminApprovalRequired ? (
            <div className="muted">An admin must be among the approvers.</div>
          ) : null}
        </dd>
        {execution.deadline === undefined ? null : (
          <>
            <dt>Expires</dt>
            <dd>
              <UtcDateTime value={execution.deadline} />
            </dd>
          </>
        )}
      </dl>
      {/* What an agent sent is what runs: approvers see its exact arguments, in full. */}
      <h3>{execution.client === undefined ? 'Input' : 'Arguments the agent sent'}</h3>
      <JsonBlock value={execution.input} label="Input" />
      {execution.declaredEgress === undefined || execution.declaredEgress.length === 0 ? null : (
        <p>
          The script may call these HTTP resources:{' '}
          <strong>
            {(execution.declaredEgressResources ?? execution.declaredEgress.map((id) => ({ id, name: id })))
              .map((resource) => resource.name)
              .join(', ')}
          </strong>
        </p>
      )}
      {(execution.declaredCollections ?? []).length === 0 ? null : (
        <p>
          The script may read and write these collections: {(execution.declaredCollections ?? []).join(', ')}
        </p>
      )}
      {(execution.declaredParameters ?? []).length === 0 ? null : (
        <p>The script may read these parameters: {(execution.declaredParameters ?? []).join(', ')}</p>
      )}
      <Decision execution={execution} self={self} onDecided={onDecided}>
        <Link to={`/executions/${segment(execution.id)}`}>Details</Link>
      </Decision>
    </article>
  );
}

/**
 * Approve or reject a waiting run, with an optional comment (a rejection after a confirmation), as
 * the inbox and the run's page offer it; or why the caller cannot (`canDecide`, the API's word). A
 * refused decision shows the API's problem. `children` go beside the buttons.
 */
export function Decision({
  execution,
  self,
  onDecided,
  children,
}: {
  readonly execution: InboxItem;
  /** The signed-in user, to say why they may not decide. */
  readonly self?: string;
  readonly onDecided: (text: string) => void;
  readonly children?: ReactNode;
}) {
  const [comment, setComment] = useState('');
  const { confirm, dialog } = useConfirm();
  const decide = useAction(async (decision: 'approve' | 'reject') =>
    api.post<Execution>(
      `/api/executions/${segment(execution.id)}/${decision}`,
      comment.trim() === '' ? {} : { comment: comment.trim() },
    ),
  );
  const act = async (decision: 'approve' | 'reject') => {
    if (decision === 'reject') {
      const ok = await confirm({
        title: `Reject the run of ${execution.skillName}?`,
        body: <p>The run of {execution.requestedBy} ends as rejected; it cannot be approved afterwards.</p>,
        confirm: 'Reject the run',
        danger: true,
      });
      if (!ok) return;
    }
    const done = await decide.run(decision);
    if (done !== undefined)
      onDecided(`${decision === 'approve' ? 'Approved' : 'Rejected'} the run of ${execution.skillName}.`);
  };
  const commentId = `comment-${execution.id}`;
  if (execution.canDecide === false) {
    return <p className="muted">{cannotDecideReason(execution, self)}</p>;
  }
  return (
    <form
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void act('approve');
      }}
    >
      {dialog}
      <div className="field">
        <label htmlFor={commentId}>Comment (optional)</label>
        <input
          id={commentId}
          value={comment}
          maxLength={500}
          onChange={(event) => setComment(event.target.value)}
        />
      </div>
      <ProblemView problem={decide.problem} />
      <div className="form-actions">
        <button type="submit" disabled={decide.pending}>
          Approve
        </button>
        <button type="button" className="danger" disabled={decide.pending} onClick={() => void act('reject')}>
          Reject
        </button>
        {children}
      </div>
    </form>
  );
}

/** Says that an AI client asked, on behalf of the user named before it. */
export function AgentNote({ name }: { readonly name: string }) {
  return (
    <div>
      <Badge value="info" label="AI agent" /> through the AI client “{name}”
    </div>
  );
}

export function AnnouncementsPage({ canManage }: { readonly canManage: boolean }) {
  const list = usePaged<Announcement>('/api/announcements');
  return (
    <>
      <PageHeader title="Announcements" />
      {canManage ? <PostAnnouncement onPosted={list.reload} /> : null}
      <ShowList state={list.state} loading="Loading announcements…" empty={<p>No announcements.</p>}>
        {(items) => (
          <ul className="stack plain-list" aria-label="Announcements">
            {items.map((announcement) => (
              <li key={announcement.id}>
                <article className={`card announcement severity-${announcement.severity}`}>
                  <h2>
                    {announcement.title} <Badge value={announcement.severity} />{' '}
                    {announcement.read === false ? <Badge value="info" label="unread" /> : null}
                  </h2>
                  <p className="muted">
                    <UtcDateTime value={announcement.createdAt} /> ·{' '}
                    {announcement.source === 'platform' ? 'from the platform' : announcement.createdBy}
                    {announcement.audience.length > 0 ? ` · for ${announcement.audience.join(', ')}` : ''}
                  </p>
                  <p className="pre-line">{announcement.body}</p>
                </article>
              </li>
            ))}
          </ul>
        )}
      </ShowList>
      <LoadMore list={list} />
    </>
  );
}

function PostAnnouncement({ onPosted }: { readonly onPosted: () => void }) {
  const roles = useResource<{ items: Role[] }>('/api/roles');
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [severity, setSeverity] = useState('info');
  const [audience, setAudience] = useState<string[]>([]);
  const [message, setMessage] = useNotice();
  const post = useAction(async () =>
    api.post<Announcement>('/api/announcements', {
      title,
      body,
      severity,
      ...(audience.length > 0 ? { audience } : {}),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage('');
    if ((await post.run()) !== undefined) {
      setTitle('');
      setBody('');
      setAudience([]);
      setMessage('Posted.');
      onPosted();
    }
  };
  return (
    <Section title="Post an announcement">
      <form onSubmit={submit}>
        <AnnouncementFields
          idPrefix="announcement"
          title={title}
          onTitle={setTitle}
          severity={severity}
          onSeverity={setSeverity}
          body={body}
          onBody={setBody}
        />
        <fieldset>
          <legend>Audience</legend>
          <p className="hint">No role ticked: everyone in the organisation.</p>
          {roles.state.status === 'ready' ? (
            <Checks
              options={roles.state.data.items.map((role) => role.name)}
              selected={audience}
              onChange={setAudience}
            />
          ) : null}
        </fieldset>
        <ProblemView problem={post.problem} />
        <Notice>{message}</Notice>
        <button type="submit" disabled={post.pending}>
          {post.pending ? 'Posting…' : 'Post'}
        </button>
      </form>
    </Section>
  );
}

export function HttpResourcesPage() {
  const { state } = useResource<{ items: HttpResourceSummary[] }>('/api/http-resources');
  return (
    <>
      <PageHeader title="HTTP resources" />
      <p className="muted">
        APIs the platform lets your Skills call. They are configured by the platform; credentials are never
        shown. A path is relative to the resource's address: <code>*</code> stands for anything within one
        segment, a final <code>**</code> for any rest.
      </p>
      <Show state={state} loading="Loading HTTP resources…" unavailable="HTTP resources">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              <p>No HTTP resources are granted to your organisation.</p>
            </Empty>
          ) : (
            <ul className="grid-cards" aria-label="Granted HTTP resources">
              {items.map((resource) => (
                <li key={resource.id}>
                  <article className="card" aria-labelledby={`resource-${resource.id}`}>
                    <h2 id={`resource-${resource.id}`}>
                      {resource.name}{' '}
                      {resource.state === undefined || resource.state === 'active' ? null : (
                        <Badge value={resource.state} />
                      )}
                    </h2>
                    <p className="muted">{resource.description || 'No description.'}</p>
                    <dl className="facts">
                      <dt>Methods</dt>
                      <dd>
                        {(resource.methods ?? []).map((method) => (
                          <Badge key={method} value="info" label={method} />
                        ))}
                      </dd>
                      <dt>Allowed paths</dt>
                      <dd>
                        {(resource.paths ?? []).length === 0 ? (
                          'not shown'
                        ) : (
                          <ul className="plain-list" aria-label={`Paths ${resource.name} allows`}>
                            {(resource.paths ?? []).map((path) => (
                              <li key={path}>
                                <code>{path}</code>
                              </li>
                            ))}
                          </ul>
                        )}
                      </dd>
                      <dt>In a script</dt>
                      <dd>
                        <code>{`ctx.http("${resource.id}", "${resource.methods?.[0] ?? 'GET'}", path)`}</code>
                        <div className="muted">Its id or its name; the Skill must declare it (egress).</div>
                      </dd>
                    </dl>
                  </article>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}
