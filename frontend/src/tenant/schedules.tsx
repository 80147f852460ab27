/**
 * Schedules: run a Skill with a fixed input at a cron, a rate or once, in a time zone. The list shows
 * each schedule's state, owner, next fire time and last fire (its run's status now, or why it was
 * skipped, followed while its run is under way), with pause, resume and fire now; a schedule's page
 * shows its Skill (linked) and input, offers the same actions, edits and deletes it, shows its next
 * fire times and its log. The tenant's scheduling log (every fire: ran, skipped and why, failed) is
 * below the list, paged. The input is typed into the form generated from the chosen Skill's input
 * schema, the run page's (skill-input.tsx, loaded on demand), and checked as a run's input is.
 */
import { type FormEvent, lazy, Suspense, useEffect, useRef, useState } from 'react';
import {
  apiPath,
  EXECUTION_STATUSES,
  type FireLogEntry,
  isTerminal,
  type Schedule,
  type Skill,
  type SkipReason,
  type Timing,
} from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { useAction, usePaged, useResource } from '../shared/hooks.ts';
import { Link, navigate } from '../shared/router.tsx';
import {
  Badge,
  DateTime,
  JsonBlock,
  Loading,
  LoadMore,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  Table,
  TextField,
} from '../shared/ui.tsx';
import type { SkillInputHandle } from './skill-input.tsx';

const SkillInputFields = lazy(() => import('./skill-input.tsx'));

const STATE_TONES: Readonly<Record<string, string>> = {
  enabled: 'active',
  paused: 'disabled',
  completed: 'succeeded',
};
const OUTCOME_TONES: Readonly<Record<string, string>> = {
  ran: 'succeeded',
  skipped: 'cancelled',
  failed: 'failed',
  requesting: 'running',
};

export function timingText(timing: Timing, timezone: string): string {
  switch (timing.kind) {
    case 'cron':
      return `cron ${timing.expression} (${timezone})`;
    case 'rate':
      return `every ${timing.every} ${timing.every === 1 ? timing.unit.slice(0, -1) : timing.unit}`;
    case 'once':
      return `once at ${timing.at.replace('T', ' ')} (${timezone})`;
  }
}

function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

interface FormState {
  name: string;
  skillId: string;
  /** The Skill's input as typed so far (undefined: its schema's defaults). */
  input: unknown;
  kind: Timing['kind'];
  expression: string;
  every: string;
  unit: 'minutes' | 'hours' | 'days';
  at: string;
  timezone: string;
}

function formOf(schedule: Schedule | null): FormState {
  const timing = schedule?.timing;
  return {
    name: schedule?.name ?? '',
    skillId: schedule?.skillId ?? '',
    input: schedule?.input,
    kind: timing?.kind ?? 'cron',
    expression: timing?.kind === 'cron' ? timing.expression : '0 9 * * MON-FRI',
    every: timing?.kind === 'rate' ? String(timing.every) : '15',
    unit: timing?.kind === 'rate' ? timing.unit : 'minutes',
    at: timing?.kind === 'once' ? timing.at.slice(0, 16) : '',
    timezone: schedule?.timezone ?? browserTimeZone(),
  };
}

/**
 * The browser's check of the schedule's own fields, shown on the first that fails. The form itself
 * is `noValidate`, so that the generated input fields are checked by their schema, as on the run page.
 */
function ownFieldsValid(form: HTMLFormElement): boolean {
  for (const element of Array.from(form.elements)) {
    if (element.closest('[data-skill-input]') !== null) continue;
    if (
      (element instanceof HTMLInputElement || element instanceof HTMLSelectElement) &&
      !element.reportValidity()
    )
      return false;
  }
  return true;
}

/** The create / edit form; `schedule` null creates. */
function ScheduleForm({
  schedule,
  onSaved,
}: {
  readonly schedule: Schedule | null;
  readonly onSaved: (saved: Schedule) => void;
}) {
  const skills = useResource<{ items: Skill[] }>('/api/skills');
  const [form, setForm] = useState<FormState>(() => formOf(schedule));
  const inputFields = useRef<SkillInputHandle>(null);
  const set = (field: Exclude<keyof FormState, 'input'>) => (value: string) =>
    setForm((previous) => ({ ...previous, [field]: value }));
  // Another Skill takes other input: its form starts from its own defaults.
  const chooseSkill = (skillId: string) =>
    setForm((previous) => ({
      ...previous,
      skillId,
      input: skillId === schedule?.skillId ? schedule.input : undefined,
    }));
  const chosen =
    skills.state.status === 'ready'
      ? skills.state.data.items.find((skill) => skill.id === form.skillId)
      : undefined;
  const save = useAction(async (body: Record<string, unknown>) =>
    schedule === null
      ? api.post<Schedule>('/api/schedules', body)
      : api.put<Schedule>(`/api/schedules/${segment(schedule.id)}`, { ...body, revision: schedule.revision }),
  );
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // The browser checks the schedule's own fields; the Skill's input is checked against its schema.
    if (!ownFieldsValid(event.currentTarget)) return;
    const checked = inputFields.current?.check() ?? null;
    if (checked === null) return;
    const { input } = checked;
    const timing =
      form.kind === 'cron'
        ? { kind: 'cron', expression: form.expression }
        : form.kind === 'rate'
          ? { kind: 'rate', every: Number(form.every), unit: form.unit }
          : { kind: 'once', at: form.at };
    const saved = await save.run({
      name: form.name,
      skillId: form.skillId,
      input,
      timing,
      timezone: form.timezone,
    });
    if (saved !== undefined) onSaved(saved);
  };
  return (
    <form
      onSubmit={submit}
      className="form"
      aria-label={schedule === null ? 'New schedule' : 'Edit schedule'}
      noValidate
    >
      <TextField
        id="schedule-name"
        label="Name"
        value={form.name}
        onChange={set('name')}
        required
        maxLength={120}
      />
      <div className="field">
        <label htmlFor="schedule-skill">Skill</label>
        <Show state={skills.state} loading="Loading Skills…">
          {({ items }) => (
            <select
              id="schedule-skill"
              value={form.skillId}
              onChange={(e) => chooseSkill(e.target.value)}
              required
            >
              <option value="">Choose a Skill</option>
              {items.map((skill) => (
                <option key={skill.id} value={skill.id}>
                  {skill.name}
                </option>
              ))}
            </select>
          )}
        </Show>
      </div>
      <fieldset data-skill-input>
        <legend>Input</legend>
        {chosen === undefined ? (
          <p className="muted">Choose a Skill to fill in the input it runs with.</p>
        ) : (
          <Suspense fallback={<Loading label="Loading the input form…" />}>
            <SkillInputFields
              key={chosen.id}
              ref={inputFields}
              inputSchema={chosen.inputSchema}
              value={form.input}
              onChange={(input) => setForm((previous) => ({ ...previous, input }))}
              idPrefix="schedule-input"
            />
          </Suspense>
        )}
      </fieldset>
      <fieldset>
        <legend>When</legend>
        {(['cron', 'rate', 'once'] as const).map((kind) => (
          <label key={kind} className="check">
            <input
              type="radio"
              name="schedule-kind"
              checked={form.kind === kind}
              onChange={() => set('kind')(kind)}
            />
            {kind === 'cron' ? 'Cron' : kind === 'rate' ? 'Every…' : 'Once'}
          </label>
        ))}
        {form.kind === 'cron' ? (
          <TextField
            id="schedule-cron"
            label="Cron (minute hour day-of-month month day-of-week)"
            value={form.expression}
            onChange={set('expression')}
          />
        ) : null}
        {form.kind === 'rate' ? (
          <div className="field">
            <label htmlFor="schedule-every">Every</label>
            <input
              id="schedule-every"
              type="number"
              min={1}
              value={form.every}
              onChange={(e) => set('every')(e.target.value)}
            />
            <select aria-label="Unit" value={form.unit} onChange={(e) => set('unit')(e.target.value)}>
              <option value="minutes">minutes</option>
              <option value="hours">hours</option>
              <option value="days">days</option>
            </select>
          </div>
        ) : null}
        {form.kind === 'once' ? (
          <div className="field">
            <label htmlFor="schedule-at">At (local time in the time zone)</label>
            <input
              id="schedule-at"
              type="datetime-local"
              value={form.at}
              onChange={(e) => set('at')(e.target.value)}
            />
          </div>
        ) : null}
        <TextField
          id="schedule-timezone"
          label="Time zone (IANA)"
          value={form.timezone}
          onChange={set('timezone')}
        />
      </fieldset>
      <Submit action={save} busy="Saving…">
        {schedule === null ? 'Create schedule' : 'Save'}
      </Submit>
    </form>
  );
}

/** Why a fire was skipped, in words (the API's `reason`; one it does not list here shows as sent). */
const SKIP_REASONS: Readonly<Record<SkipReason, string>> = {
  missed: 'missed: the platform was down',
  'owner-disabled': 'its owner is disabled',
  'permission-lost': 'its owner may no longer run the Skill',
  'skill-missing': 'the Skill is gone',
  'skill-not-runnable': 'the Skill cannot run (disabled, archived or not published)',
  'invalid-input': 'its input does not fit the Skill',
  'tenant-suspended': 'the organisation is suspended',
  'over-quota': 'over the plan’s limit',
  'approvers-unavailable': 'not enough people may approve the run',
};

function skipReason(reason: string): string {
  return SKIP_REASONS[reason as SkipReason] ?? reason;
}

/**
 * What came of a schedule's last fire: the status its run has now, linked to the run ("ran ·
 * succeeded"), or why it was skipped ("skipped: over the plan’s limit").
 */
function LastFire({ schedule }: { readonly schedule: Schedule }) {
  if (schedule.lastOutcome === 'ran' && schedule.lastExecutionId !== undefined) {
    return (
      <>
        ran ·{' '}
        <Link to={`/executions/${segment(schedule.lastExecutionId)}`}>
          {schedule.lastExecutionStatus?.replace(/_/g, ' ') ?? 'its run'}
        </Link>
      </>
    );
  }
  return (
    <>
      {schedule.lastOutcome}
      {schedule.lastReason === undefined ? null : `: ${skipReason(schedule.lastReason)}`}
    </>
  );
}

/** How often the list looks again while a last fire's run is on its way (queued or running). */
const FOLLOW_MS = 1_500;
/** A run on its way: not ended, and not waiting for approval (that waits on people, and is not followed). */
const UNDER_WAY: ReadonlySet<string> = new Set(
  EXECUTION_STATUSES.filter((status) => !isTerminal(status) && status !== 'pending_approval'),
);

function FireLog({
  path,
  showSchedule,
  generation = 0,
}: {
  readonly path: string;
  readonly showSchedule: boolean;
  /** Bumped when a fire may have added an entry: the log reads its first page again. */
  readonly generation?: number;
}) {
  const log = usePaged<FireLogEntry>(path);
  const { reload } = log;
  useEffect(() => {
    if (generation > 0) reload();
  }, [generation, reload]);
  return (
    <>
      <ShowList state={log.state} loading="Loading the log…" empty={<p>Nothing has fired yet.</p>}>
        {(entries) => (
          <Table
            columns={[...(showSchedule ? ['Schedule'] : []), 'Scheduled for', 'Outcome', 'Run', 'Detail']}
          >
            {entries.map((entry) => (
              <tr key={`${entry.scheduleId}:${entry.scheduledTime}:${entry.trigger}`}>
                {showSchedule ? (
                  <td>
                    <Link to={`/schedules/${entry.scheduleId}`}>{entry.scheduleName}</Link>
                  </td>
                ) : null}
                <td>
                  <DateTime value={entry.scheduledTime} />
                  {entry.trigger === 'manual' ? (
                    <div className="muted">fired now by {entry.owner}</div>
                  ) : null}
                </td>
                <td>
                  <Badge value={OUTCOME_TONES[entry.outcome] ?? entry.outcome} label={entry.outcome} />
                  {entry.reason === undefined ? null : (
                    <div className="muted" title={entry.reason}>
                      {skipReason(entry.reason)}
                    </div>
                  )}
                </td>
                <td>
                  {entry.executionId === undefined ? (
                    '—'
                  ) : (
                    <>
                      <Link to={`/executions/${entry.executionId}`}>{entry.executionId}</Link>
                      {entry.executionStatus === undefined ? null : (
                        <div>
                          <Badge value={entry.executionStatus} />
                        </div>
                      )}
                    </>
                  )}
                </td>
                <td>{entry.detail ?? ''}</td>
              </tr>
            ))}
          </Table>
        )}
      </ShowList>
      <LoadMore list={log} />
    </>
  );
}

type ScheduleAction = 'pause' | 'resume' | 'fire';

/**
 * Pause, resume and fire now, as the list and a schedule's page offer them. After each, `changed`
 * reads the schedule again, and after a fire `fired` (its log): a fire is logged whether its run was
 * requested or refused.
 */
function useScheduleActions(changed: () => void, fired: () => void) {
  const action = useAction(async (id: string, name: ScheduleAction) =>
    api.post<unknown>(`/api/schedules/${segment(id)}/${name}`),
  );
  const run = async (id: string, name: ScheduleAction) => {
    await action.run(id, name);
    changed();
    if (name === 'fire') fired();
  };
  return { run, problem: action.problem };
}

/** What the signed-in user may do to a schedule, as the API decides it (the buttons it shows). */
export interface Acting {
  /** Pause, resume, edit and delete: its owner, or a schedule manager. */
  readonly mayChange: (schedule: Schedule) => boolean;
  /** Fire now: its owner alone (a manager who saves it becomes its owner). */
  readonly mayFire: (schedule: Schedule) => boolean;
}

export function actingOn(username: string, manages: boolean): Acting {
  return {
    mayChange: (schedule) => manages || schedule.owner === username,
    mayFire: (schedule) => schedule.owner === username,
  };
}

/** A schedule's action buttons: pause or resume (by its state), and fire now — those it may use. */
function ScheduleActions({
  schedule,
  act,
  acting,
  size = 'small',
}: {
  readonly schedule: Schedule;
  readonly act: ReturnType<typeof useScheduleActions>;
  readonly acting: Acting;
  readonly size?: 'small' | 'normal';
}) {
  const className = size === 'small' ? 'secondary small' : 'secondary';
  return (
    <>
      {!acting.mayChange(schedule) ? null : schedule.state === 'enabled' ? (
        <button type="button" className={className} onClick={() => act.run(schedule.id, 'pause')}>
          Pause
        </button>
      ) : schedule.state === 'paused' ? (
        <button type="button" className={className} onClick={() => act.run(schedule.id, 'resume')}>
          Resume
        </button>
      ) : null}
      {acting.mayFire(schedule) ? (
        <button type="button" className={className} onClick={() => act.run(schedule.id, 'fire')}>
          Fire now
        </button>
      ) : null}
    </>
  );
}

export function SchedulesPage({
  canCreate,
  acting,
}: {
  readonly canCreate: boolean;
  readonly acting: Acting;
}) {
  const schedules = useResource<{ items: Schedule[] }>('/api/schedules');
  const skills = useResource<{ items: Skill[] }>('/api/skills');
  const [creating, setCreating] = useState(false);
  const names = new Map(
    skills.state.status === 'ready'
      ? skills.state.data.items.map((skill) => [skill.id, skill.name] as const)
      : [],
  );
  const [fires, setFires] = useState(0);
  const reload = schedules.reload;
  const act = useScheduleActions(reload, () => setFires((count) => count + 1));
  // The run a fire started goes on after the answer: the list follows it until it has left the queue
  // and ended (a run waiting for approval waits on people, and is not followed).
  const listed = schedules.state.status === 'ready' ? schedules.state.data.items : null;
  useEffect(() => {
    // Each answer arms the next look, while one of its runs is under way.
    const underWay = listed?.some(
      (schedule) => schedule.lastExecutionStatus !== undefined && UNDER_WAY.has(schedule.lastExecutionStatus),
    );
    if (underWay !== true) return undefined;
    const timer = setTimeout(() => {
      reload();
      setFires((count) => count + 1);
    }, FOLLOW_MS);
    return () => clearTimeout(timer);
  }, [listed, reload]);
  return (
    <>
      <PageHeader title="Schedules">
        {canCreate && !creating ? (
          <button type="button" onClick={() => setCreating(true)}>
            New schedule
          </button>
        ) : null}
      </PageHeader>
      <p className="muted">
        A schedule runs a Skill with a fixed input as its owner (whoever saved it last), through the same
        checks as any run. A fire the checks refuse is skipped and logged; fires more than five minutes late
        (the platform was down) are logged as missed, not run.
      </p>
      {creating ? (
        <Section title="New schedule">
          <ScheduleForm
            schedule={null}
            onSaved={(saved) => {
              setCreating(false);
              navigate(`/schedules/${saved.id}`);
            }}
          />
        </Section>
      ) : null}
      <Section title="All schedules">
        <ProblemView problem={act.problem} />
        <Show state={schedules.state} loading="Loading schedules…">
          {({ items }) =>
            items.length === 0 ? (
              <p className="muted">No schedules yet.</p>
            ) : (
              <Table columns={['Name', 'Skill', 'When', 'State', 'Next fire', 'Last', 'Actions']}>
                {items.map((schedule) => (
                  <tr key={schedule.id}>
                    <td>
                      <Link to={`/schedules/${schedule.id}`}>{schedule.name}</Link>
                      <div className="muted">owner {schedule.owner}</div>
                    </td>
                    <td>{names.get(schedule.skillId) ?? schedule.skillId}</td>
                    <td>{timingText(schedule.timing, schedule.timezone)}</td>
                    <td>
                      <Badge value={STATE_TONES[schedule.state] ?? schedule.state} label={schedule.state} />
                    </td>
                    <td>
                      {schedule.nextFireAt === undefined ? '—' : <DateTime value={schedule.nextFireAt} />}
                    </td>
                    <td>
                      {schedule.lastFireAt === undefined ? (
                        '—'
                      ) : (
                        <>
                          <DateTime value={schedule.lastFireAt} /> · <LastFire schedule={schedule} />
                        </>
                      )}
                    </td>
                    <td className="actions">
                      <ScheduleActions schedule={schedule} act={act} acting={acting} />
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Show>
      </Section>
      <Section title="Scheduling log">
        <FireLog path="/api/schedule-logs" showSchedule generation={fires} />
      </Section>
    </>
  );
}

/** A Skill's name, linked to its page (its id while the name loads, or when it cannot be read). */
function SkillLink({ id }: { readonly id: string }) {
  const { state } = useResource<Skill>(apiPath('/api/skills/{id}', { id }));
  return <Link to={`/skills/${segment(id)}`}>{state.status === 'ready' ? state.data.name : id}</Link>;
}

export function SchedulePage({ id, acting }: { readonly id: string; readonly acting: Acting }) {
  const schedule = useResource<Schedule>(`/api/schedules/${segment(id)}`);
  const [editing, setEditing] = useState(false);
  const [fires, setFires] = useState(0);
  const act = useScheduleActions(schedule.reload, () => setFires((count) => count + 1));
  const remove = useAction(async () => {
    await api.delete<void>(`/api/schedules/${segment(id)}`);
    return true;
  });
  return (
    <Show state={schedule.state} loading="Loading the schedule…">
      {(current) => (
        <>
          <PageHeader title={current.name}>
            <Link className="button secondary" to="/schedules">
              All schedules
            </Link>
            <ScheduleActions schedule={current} act={act} acting={acting} size="normal" />
            {acting.mayChange(current) ? (
              <>
                <button type="button" className="secondary" onClick={() => setEditing(!editing)}>
                  {editing ? 'Cancel' : 'Edit'}
                </button>
                <button
                  type="button"
                  className="danger"
                  onClick={async () => {
                    if (!window.confirm(`Delete the schedule ${current.name}?`)) return;
                    if ((await remove.run()) === true) navigate('/schedules');
                  }}
                >
                  Delete
                </button>
              </>
            ) : null}
          </PageHeader>
          <ProblemView problem={remove.problem ?? act.problem} />
          <p>
            {timingText(current.timing, current.timezone)} ·{' '}
            <Badge value={STATE_TONES[current.state] ?? current.state} label={current.state} /> · runs as{' '}
            <strong>{current.owner}</strong>
          </p>
          <dl className="facts">
            <dt>Skill</dt>
            <dd>
              <SkillLink id={current.skillId} />
            </dd>
            <dt>Last fire</dt>
            <dd>
              {current.lastFireAt === undefined ? (
                'never'
              ) : (
                <>
                  <DateTime value={current.lastFireAt} /> · <LastFire schedule={current} />
                </>
              )}
            </dd>
          </dl>
          <Section title="Input">
            <JsonBlock value={current.input} label="Input" />
          </Section>
          {editing ? (
            <Section title="Edit">
              <ScheduleForm
                schedule={current}
                onSaved={() => {
                  setEditing(false);
                  schedule.reload();
                }}
              />
            </Section>
          ) : null}
          <Section title="Next fire times">
            {current.upcoming.length === 0 ? (
              <p className="muted">None: the schedule is {current.state}.</p>
            ) : (
              <ol className="upcoming">
                {current.upcoming.map((time) => (
                  <li key={time}>
                    <DateTime value={time} />
                  </li>
                ))}
              </ol>
            )}
          </Section>
          <Section title="Log">
            <FireLog path={`/api/schedules/${segment(id)}/logs`} showSchedule={false} generation={fires} />
          </Section>
        </>
      )}
    </Show>
  );
}
