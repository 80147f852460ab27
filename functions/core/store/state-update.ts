/**
 * The one update that moves an item between availability states (`active`, `disabled`, `archived`):
 * the state, and who moved it, when and why, written beside it. Skills, script assets and HTTP
 * resources keep their states so (availability.ts holds the rules).
 */
import type { AvailabilityState } from '../availability.ts';

/** What a state change writes besides the state. */
export interface StateChange {
  readonly at: string;
  readonly by: string;
  readonly reason: string;
}

/**
 * The update of a move to `to`, on an item that exists and, when `from` is given, is in state `from`
 * (an item written before states existed counts as active).
 */
export function stateUpdate(
  to: AvailabilityState,
  change: StateChange,
  from?: AvailabilityState,
): {
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
} {
  const condition =
    from === undefined
      ? 'attribute_exists(PK)'
      : from === 'active'
        ? 'attribute_exists(PK) AND (attribute_not_exists(#state) OR #state = :from)'
        : 'attribute_exists(PK) AND #state = :from';
  return {
    UpdateExpression:
      'SET #state = :state, stateChangedAt = :now, stateChangedBy = :by, stateReason = :reason',
    ConditionExpression: condition,
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: {
      ':state': to,
      ':now': change.at,
      ':by': change.by,
      ':reason': change.reason,
      ...(from === undefined ? {} : { ':from': from }),
    },
  };
}
