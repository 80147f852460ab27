/**
 * Errors of the governance domain. Each extends a class of the core taxonomy, so the HTTP edge maps
 * it without knowing this module; `code` is the stable problem type.
 */
import { ConflictError, ExecFabricError, UpstreamError } from '../errors.ts';

/** An operator asked for a tenant status change the lifecycle does not allow. */
export class InvalidTransitionError extends ConflictError {
  override readonly code = 'invalid-transition';
}

/** An order is not in a state that allows the action (e.g. confirming a cancelled order). */
export class OrderStateError extends ConflictError {
  override readonly code = 'order-state';
}

/** A change lost a race with a concurrent change too many times; retrying the request is safe. */
export class ConcurrentChangeError extends ConflictError {
  override readonly code = 'concurrent-change';
}

/** The edge (CloudFront in AWS) refused or failed to attach or detach a host. */
export class HostEdgeError extends UpstreamError {
  override readonly code = 'host-edge-failed';
}

/** A lifecycle scan was asked for that this deployment does not provide. */
export class ScanUnavailableError extends ExecFabricError {
  readonly code = 'scan-unavailable';
  constructor(scan: string, available: readonly string[]) {
    super(`The scan "${scan}" is not available here; available: ${available.join(', ')}`, {
      extra: { scan, available },
    });
  }
}
