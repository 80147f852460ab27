/** The fields every announcement form has: title, severity and message. */
import { SEVERITIES } from '../../../functions/contract/index.ts';
import { Options } from './ui.tsx';

export function AnnouncementFields({
  idPrefix,
  bodyRequired = false,
  title,
  onTitle,
  severity,
  onSeverity,
  body,
  onBody,
}: {
  /** Prefix of the fields' ids (unique on the page). */
  readonly idPrefix: string;
  readonly bodyRequired?: boolean;
  readonly title: string;
  readonly onTitle: (value: string) => void;
  readonly severity: string;
  readonly onSeverity: (value: string) => void;
  readonly body: string;
  readonly onBody: (value: string) => void;
}) {
  return (
    <>
      <div className="form-row">
        <div className="field">
          <label htmlFor={`${idPrefix}-title`}>Title</label>
          <input
            id={`${idPrefix}-title`}
            required
            maxLength={200}
            value={title}
            onChange={(e) => onTitle(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-severity`}>Severity</label>
          <select id={`${idPrefix}-severity`} value={severity} onChange={(e) => onSeverity(e.target.value)}>
            <Options values={SEVERITIES} />
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-body`}>Message</label>
        <textarea
          id={`${idPrefix}-body`}
          required={bodyRequired}
          rows={4}
          maxLength={10000}
          value={body}
          onChange={(e) => onBody(e.target.value)}
        />
      </div>
    </>
  );
}
