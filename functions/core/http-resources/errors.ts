/**
 * Errors of HTTP resources and their outbound requests. Messages are safe for a tenant to read:
 * they never name the resource's host, address or credential (a trial's problem body may add the
 * address in `extra`, for the super-admin who runs it). An execution records the class name
 * without its `Error` suffix as its error type (`OutboundAddressRefused`, …).
 */
import { ForbiddenError, ServiceUnavailableError, ValidationError } from '../errors.ts';

/** The method, path or body is outside what the resource allows; nothing was sent. */
export class HttpRequestRefusedError extends ValidationError {
  constructor(message: string, field = '') {
    super(message, [{ path: field, message }]);
  }
}

/** A placeholder names input the run does not have, or of a type it cannot take. */
export class InputPlaceholderError extends ValidationError {
  constructor(message: string, field: string) {
    super(message, [{ path: field, message }]);
  }
}

/** The host is, or resolves to, an address the resource may not reach; nothing was sent. */
export class OutboundAddressRefusedError extends ForbiddenError {
  override readonly code = 'outbound-address-refused';
}

/** The upstream redirected off the resource's origin (or too often); the redirect was not followed. */
export class RedirectRefusedError extends ForbiddenError {
  override readonly code = 'redirect-refused';
}

/** `localDevelopment` resources are not honoured on this deployment. */
export class LocalDevelopmentDisabledError extends ForbiddenError {
  override readonly code = 'local-development-disabled';
}

/** The upstream could not be reached or broke off the exchange. */
export class UpstreamError extends ServiceUnavailableError {
  override readonly code: string = 'upstream-failed';
}

export class UpstreamTimeoutError extends UpstreamError {
  override readonly code = 'upstream-timeout';
}

/** The response exceeded the resource's size cap. */
export class ResponseTooLargeError extends UpstreamError {
  override readonly code = 'response-too-large';
}

/** An execution's error type for an error: its class name without `Error`. */
export function runErrorType(error: Error): string {
  return error.name.replace(/Error$/, '') || 'Error';
}
