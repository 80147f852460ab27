import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  ExecFabricError,
  ForbiddenError,
  MalformedRequestError,
  MethodNotAllowedError,
  NotFoundError,
  OriginRejectedError,
  PayloadTooLargeError,
  QuotaExceededError,
  RateLimitedError,
  RouteNotFoundError,
  TenantSuspendedError,
  UnknownHostError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../../../functions/core/errors.ts';
import {
  jsonRpcError,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  problem,
  problemFromError,
  statusOf,
} from '../../../../functions/http/problem.ts';

function body(error: unknown, instance?: string) {
  const { response } = problemFromError(error, instance);
  return { response, json: JSON.parse(response.body) as Record<string, unknown> };
}

describe('problem+json', () => {
  it.each([
    [new ValidationError('bad'), 422, 'validation-failed'],
    [new MalformedRequestError('bad json'), 400, 'malformed-request'],
    [new PayloadTooLargeError('Request body', 10), 413, 'payload-too-large'],
    [new UnsupportedMediaTypeError('no'), 415, 'unsupported-media-type'],
    [new MethodNotAllowedError(['GET']), 405, 'method-not-allowed'],
    [new NotFoundError('gone'), 404, 'not-found'],
    [new UnknownHostError(), 404, 'unknown-host'],
    [new RouteNotFoundError('no route'), 404, 'route-not-found'],
    [new ConflictError('twice'), 409, 'conflict'],
    [new AuthenticationError('who'), 401, 'unauthenticated'],
    [new ForbiddenError('no'), 403, 'forbidden'],
    [new OriginRejectedError(), 403, 'origin-rejected'],
    [new TenantSuspendedError('suspended'), 403, 'tenant-suspended'],
    [new RateLimitedError('slow down', 30), 429, 'rate-limited'],
    [new QuotaExceededError('full'), 429, 'quota-exceeded'],
  ] as const)('maps %s to %i with a stable type', (error, status, code) => {
    expect(statusOf(error)).toBe(status);
    const { response, json } = body(error, 'req-1');
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(json).toMatchObject({ type: `${PROBLEM_TYPE_PREFIX}${code}`, status, instance: 'req-1' });
    expect(typeof json.title).toBe('string');
    expect(json.detail).toBe(error.message);
  });

  it('adds the headers a client needs to react', () => {
    expect(body(new AuthenticationError('who')).response.headers['www-authenticate']).toBe('Bearer');
    expect(body(new RateLimitedError('slow', 42)).response.headers['retry-after']).toBe('42');
    expect(body(new RateLimitedError('slow', 42)).json.retryAfterSeconds).toBe(42);
    expect(body(new MethodNotAllowedError(['GET', 'PUT'])).response.headers.allow).toBe('GET, PUT');
  });

  it('lists field issues of a validation failure', () => {
    const issues = [{ path: 'name', message: 'required' }];
    expect(body(new ValidationError('bad', issues)).json.errors).toEqual(issues);
    expect(body(new ValidationError('bad')).json).not.toHaveProperty('errors');
  });

  it('says nothing about an error outside the taxonomy, and flags it', () => {
    const error = new Error('connect ECONNREFUSED 10.0.0.7:8000 with key AKIA…');
    const { response, unexpected } = problemFromError(error, 'req-2');
    expect(unexpected).toBe(true);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(JSON.parse(response.body)).toEqual({
      type: `${PROBLEM_TYPE_PREFIX}internal`,
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred',
      instance: 'req-2',
    });
    for (const thrown of [null, undefined, 'text', 42, { message: 'x' }]) {
      expect(problemFromError(thrown).response.statusCode).toBe(500);
    }
  });

  it('treats a taxonomy error with an unmapped class as unexpected', () => {
    class OddError extends ExecFabricError {
      readonly code = 'odd';
    }
    const { response, unexpected } = problemFromError(new OddError('odd'));
    expect(response.statusCode).toBe(500);
    expect(unexpected).toBe(true);
  });

  it('never lets extension members replace type, title, status, detail or instance', () => {
    const error = new ConflictError('Order already paid', {
      extra: {
        status: 'paid',
        type: 'https://evil.example/',
        title: 'x',
        detail: 'y',
        instance: 'z',
        orderId: 'o1',
      },
    });
    const { response, json } = body(error, 'req-3');
    expect(response.statusCode).toBe(409);
    expect(json).toMatchObject({
      type: `${PROBLEM_TYPE_PREFIX}conflict`,
      title: 'Conflict',
      status: 409,
      detail: 'Order already paid',
      instance: 'req-3',
      orderId: 'o1',
    });
    const direct = JSON.parse(problem(404, 'not-found', 'gone', { status: 200, type: 'x' }).body);
    expect(direct).toMatchObject({ status: 404, type: `${PROBLEM_TYPE_PREFIX}not-found` });
  });

  it('answers a timeout as an outcome unknown, never as "nothing was decided"', () => {
    // middy's early timeout: the run it was creating may have been created.
    const early = Object.assign(new Error('[AbortError]: The operation was aborted.'), {
      name: 'TimeoutError',
    });
    for (const error of [early, Object.assign(new Error('socket'), { code: 'ETIMEDOUT' })]) {
      const { response, unexpected } = problemFromError(error, '/api/skills/s/executions');
      expect(response.statusCode).toBe(503);
      expect(unexpected).toBe(true);
      const body = JSON.parse(response.body);
      expect(body).toMatchObject({ type: expect.stringMatching(/timed-out$/), outcome: 'unknown' });
      expect(body.detail).toMatch(/may have taken effect.*Idempotency-Key/);
    }
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    expect(JSON.parse(problemFromError(throttled).response.body).outcome).toBeUndefined();
  });

  it('adds an endpoint’s extension members from the detail, on every kind of answer, over none of RFC 9457’s', () => {
    const cases: unknown[] = [
      new RateLimitedError('Too many calls', 3),
      new ValidationError('Request body is invalid', [{ path: 'name', message: 'required' }]),
      Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
      Object.assign(new Error('socket'), { code: 'ETIMEDOUT' }),
      new TypeError('a bug'),
    ];
    for (const error of cases) {
      const plain = problemFromError(error, 'req-9').response;
      const { response } = problemFromError(error, 'req-9', jsonRpcError);
      const json = JSON.parse(response.body);
      expect(json).toEqual({
        ...JSON.parse(plain.body),
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: json.detail },
      });
      expect(response.statusCode).toBe(plain.statusCode);
      expect(response.headers).toEqual(plain.headers);
    }
  });
});
