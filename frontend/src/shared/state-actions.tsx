/**
 * Disable, archive or restore a Skill, a script or an HTTP resource (`PUT …/state`), each after a
 * confirmation saying what happens to its runs. Both moves are reversible; the API audits them.
 */
import { useState } from 'react';
import { api } from './api.ts';
import { useAction } from './hooks.ts';
import { ProblemView, useConfirm } from './ui.tsx';

export type AvailabilityState = 'active' | 'disabled' | 'archived';

const VERB: Readonly<Record<AvailabilityState, string>> = {
  active: 'Restore',
  disabled: 'Disable',
  archived: 'Archive',
};

export function StateActions({
  subject,
  name,
  state,
  path,
  onChanged,
}: {
  /** `Skill`, `script`, `HTTP resource`. */
  readonly subject: string;
  readonly name: string;
  readonly state: AvailabilityState;
  /** The item's `…/state` route. */
  readonly path: string;
  readonly onChanged: (message: string) => void;
}) {
  const { confirm, dialog } = useConfirm();
  const [reason, setReason] = useState('');
  const change = useAction(async (to: AvailabilityState) =>
    api.put<unknown>(path, { state: to, ...(reason === '' ? {} : { reason }) }),
  );
  const targets: AvailabilityState[] =
    state === 'active'
      ? ['disabled', 'archived']
      : state === 'disabled'
        ? ['active', 'archived']
        : ['active'];
  const consequence = (to: AvailabilityState) =>
    to === 'active'
      ? `Runs of ${name} are accepted again.`
      : to === 'disabled'
        ? `${name} stays listed, but every new run of it is refused (and pending approvals cannot be approved) until it is restored.`
        : `${name} leaves the lists and every new run of it is refused until it is restored. Its runs and history stay.`;
  return (
    <div className="state-actions">
      {dialog}
      <div className="field">
        <label htmlFor={`state-reason-${path}`}>Reason (optional, kept in the audit trail)</label>
        <input
          id={`state-reason-${path}`}
          value={reason}
          maxLength={500}
          onChange={(event) => setReason(event.target.value)}
        />
      </div>
      <div className="form-actions">
        {targets.map((to) => (
          <button
            key={to}
            type="button"
            className={to === 'active' ? 'secondary' : 'danger'}
            disabled={change.pending}
            onClick={async () => {
              const ok = await confirm({
                title: `${VERB[to]} the ${subject} ${name}?`,
                body: <p>{consequence(to)}</p>,
                confirm: `${VERB[to]} ${name}`,
                danger: to !== 'active',
              });
              if (!ok) return;
              if ((await change.run(to)) !== undefined) {
                setReason('');
                onChanged(to === 'active' ? `${name} is restored.` : `${name} is ${to}.`);
              }
            }}
          >
            {VERB[to]}
          </button>
        ))}
      </div>
      <ProblemView problem={change.problem} />
    </div>
  );
}
