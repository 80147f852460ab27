/**
 * The messages of the HTTP executor: jobs on the `http-executions` queue, and the egress grants and
 * relayed calls of `ctx.http` (a script's call, relayed by the worker with its run's grant).
 *
 * The message on the `http-executions` queue. The http-executor reads no table, so a job carries
 * the resource's configuration at the version the run was resolved to, the Skill's request
 * template and the run's input; it never carries a credential (the executor reads that itself).
 * A job the dispatcher could not hand over (the grant was revoked, the resource changed) carries
 * `refused`, so the run still ends through the one recording path, with that reason.
 */
import { sealedSchema } from '../messages/signing.ts';
import * as z from '../zod-mini.ts';
import { AUTH_SCHEMES, HTTP_METHODS, type HttpMethod, type HttpResourceSnapshot } from './model.ts';

export const HTTP_QUEUE = 'http-executions';

export interface HttpRequestTemplate {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface HttpJob {
  readonly kind: 'http';
  readonly jobId: string;
  readonly executionId: string;
  readonly tenantId: string;
  readonly skillId: string;
  /** Absent only on a refused job (the resource is not the tenant's to see any more). */
  readonly resource?: HttpResourceSnapshot;
  readonly request: HttpRequestTemplate;
  readonly input: unknown;
  readonly limits: { readonly timeoutSeconds: number };
  readonly requestedAt: string;
  /** When this message was made (a dispatch or a re-dispatch). */
  readonly issuedAt?: string;
  readonly refused?: { readonly type: string; readonly message: string };
}

/** A grant outlives the job message that carries it (queue retention) and the run's own timeout. */
export const GRANT_TTL_SECONDS = 4 * 24 * 3600 + 3600;

/**
 * What a script run may reach through `ctx.http`, sealed under the jobs key at dispatch: the
 * configuration of each declared resource its tenant still holds. Only a verified grant is trusted
 * for base URLs, allowances and the local-development switch.
 */
export interface EgressGrant {
  readonly v: 1;
  readonly tenantId: string;
  readonly executionId: string;
  readonly skillId: string;
  /** What the Skill declares (resources no longer granted are in `declared` but not in `resources`). */
  readonly declared: readonly string[];
  readonly resources: readonly HttpResourceSnapshot[];
  readonly issuedAt: string;
  readonly expiresAt: string;
}

/** A script's `ctx.http` call, as the worker relays it. */
export interface EgressCall {
  /** A resource's id or name. */
  readonly resource: string;
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
}

/** One use of a resource's credential by a script, reported with the run's result and audited. */
export interface EgressUse {
  readonly resourceId: string;
  readonly resourceVersion: number;
  readonly method: string;
  readonly path: string;
  /** The upstream's status; 0 when no answer is known (the call failed after the credential went out, or is in flight). */
  readonly status: number;
  readonly at: string;
  readonly durationMs: number;
  readonly credentialStage?: 'current' | 'previous';
  readonly credentialVersion?: string;
  /**
   * The run ended (or its relay failed) before the http-executor answered: the worker reports the
   * use as it began it (resource, method, path, time, `status: 0`), since the credential may have
   * gone out; how the call ended is unknown.
   */
  readonly inFlight?: boolean;
  /** The executor stopped the call unanswered at the run's deadline or the resource's timeout. */
  readonly timedOut?: boolean;
}

export type EgressReply =
  | {
      readonly ok: true;
      readonly response: {
        readonly status: number;
        readonly headers: Readonly<Record<string, string>>;
        readonly body: string;
        readonly truncated: boolean;
      };
      readonly use: EgressUse;
    }
  | {
      readonly ok: false;
      /** `egress: true` when the platform refused the call (not declared, outside the resource…). */
      readonly error: { readonly type: string; readonly message: string; readonly egress?: boolean };
      readonly use?: EgressUse;
    };

/** Most relayed calls per script run (the worker counts; the executor bounds each one). */
export const MAX_EGRESS_CALLS_PER_RUN = 100;
/** Largest JSON body a script may send in one call. */
export const MAX_EGRESS_BODY_BYTES = 256 * 1024;

const snapshot = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  version: z.int().check(z.minimum(1)),
  configHash: z.string(),
  name: z.string(),
  description: z.string(),
  baseUrl: z.string().check(z.minLength(1)),
  methods: z.array(z.enum(HTTP_METHODS)).check(z.minLength(1)),
  paths: z.array(z.string()).check(z.minLength(1)),
  writeAllowed: z.boolean(),
  auth: z.object({ scheme: z.enum(AUTH_SCHEMES), header: z.optional(z.string()) }),
  timeoutSeconds: z.int().check(z.minimum(1)),
  maxResponseBytes: z.int().check(z.minimum(1)),
  localDevelopment: z.boolean(),
});

export const httpJobSchema = z
  .object({
    kind: z.literal('http'),
    jobId: z.string().check(z.minLength(1), z.maxLength(256)),
    executionId: z.string().check(z.minLength(1), z.maxLength(256)),
    tenantId: z.string().check(z.minLength(1), z.maxLength(64)),
    skillId: z.string().check(z.minLength(1), z.maxLength(64)),
    resource: z.optional(snapshot),
    request: z.object({
      method: z.enum(HTTP_METHODS),
      path: z.string().check(z.minLength(1)),
      query: z.optional(z.record(z.string(), z.string())),
      body: z.optional(z.unknown()),
    }),
    input: z.unknown(),
    limits: z.object({ timeoutSeconds: z.int().check(z.minimum(1)) }),
    requestedAt: z.string(),
    issuedAt: z.optional(z.string()),
    refused: z.optional(z.object({ type: z.string(), message: z.string() })),
  })
  .check(
    z.refine((job) => job.jobId === `${job.tenantId}:${job.executionId}`, {
      message: "jobId must be '<tenantId>:<executionId>'",
      path: ['jobId'],
    }),
    z.refine((job) => job.resource !== undefined || job.refused !== undefined, {
      message: 'a job names its resource unless it is refused',
      path: ['resource'],
    }),
  );

export const egressGrantSchema = z.strictObject({
  v: z.literal(1),
  tenantId: z.string().check(z.minLength(1), z.maxLength(64)),
  executionId: z.string().check(z.minLength(1), z.maxLength(256)),
  skillId: z.string().check(z.minLength(1), z.maxLength(64)),
  declared: z.array(z.string()).check(z.maxLength(64)),
  resources: z.array(snapshot).check(z.maxLength(64)),
  issuedAt: z.string(),
  expiresAt: z.string(),
});

const headerName = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/));

export const egressCallSchema = z.strictObject({
  resource: z.string().check(z.minLength(1), z.maxLength(120)),
  method: z.string().check(z.minLength(1), z.maxLength(10)),
  path: z.string().check(z.minLength(1), z.maxLength(2048)),
  query: z.optional(z.record(z.string().check(z.maxLength(128)), z.string().check(z.maxLength(2048)))),
  headers: z.optional(z.record(headerName, z.string().check(z.maxLength(1024), z.regex(/^[^\r\n]*$/)))),
  json: z.optional(z.unknown()),
});

export const egressRelaySchema = z.strictObject({
  action: z.literal('relay'),
  grant: sealedSchema(512 * 1024),
  call: z.unknown(),
  /**
   * The run's deadline (epoch milliseconds, the worker's clock): the upstream call is cut there, and
   * not sent once it has passed. It can only shorten a call (the executor's own bounds still hold),
   * so a wrong value harms only the run that sent it.
   */
  deadlineMs: z.number(),
});
