/**
 * How a run is shown: the API's answer shape (DESIGN §9), with how long it ran and waited.
 */
import type { Execution } from './model.ts';

/** The answer shape of the API (DESIGN §9), plus a few useful fields. */
export function executionView(execution: Execution) {
  return {
    id: execution.id,
    skillId: execution.skillId,
    skillName: execution.skillName,
    skillRevision: execution.skillRevision,
    status: execution.status,
    input: execution.input,
    ...(execution.output === undefined ? {} : { output: execution.output }),
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.logs === undefined ? {} : { logs: execution.logs }),
    asset: execution.asset,
    requestedBy: execution.requestedBy,
    ...(execution.client === undefined ? {} : { client: execution.client }),
    ...(execution.schedule === undefined ? {} : { schedule: execution.schedule }),
    createdAt: execution.createdAt,
    ...(execution.queuedAt === undefined ? {} : { queuedAt: execution.queuedAt }),
    ...(execution.startedAt === undefined ? {} : { startedAt: execution.startedAt }),
    ...(execution.finishedAt === undefined ? {} : { finishedAt: execution.finishedAt }),
    ...(execution.metrics === undefined ? {} : { metrics: execution.metrics }),
    ...(execution.sandbox === undefined ? {} : { sandbox: execution.sandbox }),
    ...(execution.egress === undefined ? {} : { egress: execution.egress }),
    approvalsRequired: execution.approvalsRequired,
    ...(execution.assetName === undefined ? {} : { assetName: execution.assetName }),
    ...(execution.rerunOf === undefined ? {} : { rerunOf: execution.rerunOf }),
    ...(execution.cancelRequested === true
      ? {
          cancelRequested: true,
          cancelRequestedAt: execution.cancelRequestedAt,
          cancelRequestedBy: execution.cancelRequestedBy,
        }
      : {}),
    ...(execution.cancelledBy === undefined ? {} : { cancelledBy: execution.cancelledBy }),
    ...(execution.cancelReason === undefined ? {} : { cancelReason: execution.cancelReason }),
    // How long it ran (start → end), and how long it waited before (request → start).
    ...optional('durationMs', elapsedMs(execution.startedAt, execution.finishedAt)),
    ...optional('waitMs', elapsedMs(execution.createdAt, execution.startedAt)),
  };
}

function optional<K extends string>(name: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, number>);
}

function elapsedMs(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
