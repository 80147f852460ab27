/**
 * The message on the `http-executions` queue. The http-executor reads no table, so a job carries
 * the resource's configuration at the version the run was resolved to, the Skill's request
 * template and the run's input; it never carries a credential (the executor reads that itself).
 * A job the dispatcher could not hand over (the grant was revoked, the resource changed) carries
 * `refused`, so the run still ends through the one recording path, with that reason.
 */
import { z } from 'zod';
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
  readonly refused?: { readonly type: string; readonly message: string };
}

const snapshot = z.object({
  id: z.string().min(1).max(64),
  version: z.number().int().min(1),
  configHash: z.string(),
  name: z.string(),
  description: z.string(),
  baseUrl: z.string().min(1),
  methods: z.array(z.enum(HTTP_METHODS)).min(1),
  paths: z.array(z.string()).min(1),
  writeAllowed: z.boolean(),
  auth: z.object({ scheme: z.enum(AUTH_SCHEMES), header: z.string().optional() }),
  timeoutSeconds: z.number().int().min(1),
  maxResponseBytes: z.number().int().min(1),
  localDevelopment: z.boolean(),
});

export const httpJobSchema = z
  .object({
    kind: z.literal('http'),
    jobId: z.string().min(1).max(256),
    executionId: z.string().min(1).max(256),
    tenantId: z.string().min(1).max(64),
    skillId: z.string().min(1).max(64),
    resource: snapshot.optional(),
    request: z.object({
      method: z.enum(HTTP_METHODS),
      path: z.string().min(1),
      query: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
    }),
    input: z.unknown(),
    limits: z.object({ timeoutSeconds: z.number().int().min(1) }),
    requestedAt: z.string(),
    refused: z.object({ type: z.string(), message: z.string() }).optional(),
  })
  .refine((job) => job.jobId === `${job.tenantId}:${job.executionId}`, {
    message: "jobId must be '<tenantId>:<executionId>'",
    path: ['jobId'],
  })
  .refine((job) => job.resource !== undefined || job.refused !== undefined, {
    message: 'a job names its resource unless it is refused',
    path: ['resource'],
  });
