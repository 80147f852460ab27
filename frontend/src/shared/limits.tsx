/**
 * A Skill's limits in a form: the tenant's Skill editor and the console's template editor. Every
 * limit of the contract's `LIMIT_BOUNDS`, with its bounds and default from there, and a save that
 * keeps whatever limit the form does not show (a description-only save reset a Skill's memory).
 */
import { LIMIT_BOUNDS } from '../../../functions/contract/index.ts';
import { TextField } from './ui.tsx';

export type LimitName = keyof typeof LIMIT_BOUNDS;

/**
 * Every limit, in the order the form shows them, with its label. A Record over the contract's
 * bounds: a limit added there does not type-check here until the form shows it.
 */
const LIMIT_LABELS: Readonly<Record<LimitName, string>> = {
  timeoutSeconds: 'Time limit (seconds)',
  memoryMb: 'Memory limit (MB)',
};
const LIMIT_NAMES = Object.keys(LIMIT_LABELS) as LimitName[];

/** What the form holds for each limit: its text as typed. */
export type LimitTexts = Readonly<Record<LimitName, string>>;

/** The form's text for each limit: the value given, or the platform's default. */
export function limitTexts(limits: Partial<Record<LimitName, number>> | undefined): LimitTexts {
  const texts = {} as Record<LimitName, string>;
  for (const key of LIMIT_NAMES) texts[key] = String(limits?.[key] ?? LIMIT_BOUNDS[key].default);
  return texts;
}

/** The limits to send: every one the form shows, over whatever else `limits` holds. */
export function withLimits<T extends object>(limits: T | undefined, texts: LimitTexts) {
  return { ...limits, ...Object.fromEntries(LIMIT_NAMES.map((key) => [key, Number(texts[key])])) };
}

/** One number field a limit, in a row, and a hint naming their bounds (`<idPrefix>-limit-<name>`). */
export function LimitFields({
  idPrefix,
  value,
  onChange,
}: {
  readonly idPrefix: string;
  readonly value: LimitTexts;
  readonly onChange: (value: LimitTexts) => void;
}) {
  const hint = `${idPrefix}-limits-hint`;
  return (
    <>
      <div className="form-row">
        {LIMIT_NAMES.map((key) => (
          <TextField
            key={key}
            id={`${idPrefix}-limit-${key}`}
            label={LIMIT_LABELS[key]}
            type="number"
            step={1}
            min={LIMIT_BOUNDS[key].min}
            max={LIMIT_BOUNDS[key].max}
            required
            value={value[key]}
            onChange={(text) => onChange({ ...value, [key]: text })}
            aria-describedby={hint}
          />
        ))}
      </div>
      <p className="hint" id={hint}>
        {LIMIT_NAMES.map(
          (key) => `${LIMIT_LABELS[key]}: ${LIMIT_BOUNDS[key].min} to ${LIMIT_BOUNDS[key].max}`,
        ).join('; ')}
        .
      </p>
    </>
  );
}
