/** The plan of a tenant or an order, chosen from the plans the platform has (the API refuses others). */
import { PAID_PLANS, PLANS } from '../../../functions/contract/index.ts';
import { Options } from '../shared/ui.tsx';

export function PlanSelect({
  id,
  value,
  onChange,
  paid = false,
}: {
  readonly id: string;
  readonly value: string;
  readonly onChange: (plan: string) => void;
  /** A tenant's plan set by hand and an order's: a paid plan, never `free` (sign-up's alone). */
  readonly paid?: boolean;
}) {
  const plans: readonly string[] = paid ? PAID_PLANS : PLANS;
  // A tenant stored with a plan from before the list keeps it on screen until someone changes it.
  const values = plans.includes(value) ? plans : [value, ...plans];
  return (
    <div className="field">
      <label htmlFor={id}>Plan</label>
      <select id={id} value={value} required onChange={(e) => onChange(e.target.value)}>
        <Options values={values} />
      </select>
    </div>
  );
}
