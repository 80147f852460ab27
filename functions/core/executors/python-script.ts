/**
 * The `python-script` executor: a Skill bound to a script asset of its own tenant, at the active
 * version or a pinned one. Resolution fixes the exact version (and its hash) a run will use; the job
 * carries that version's source to the Python worker through the fair script queue (group = tenant).
 */
import { z } from 'zod';
import type { ScriptAssets } from '../assets/scripts.ts';
import { ValidationError } from '../errors.ts';
import type { Queues } from '../queues.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { AssetBinding, DispatchRequest, Executor, ResolvedAsset } from './registry.ts';

export const SCRIPT_QUEUE = 'script-executions';
/** Bytes of captured output a job may return and of logs it may keep. */
export const JOB_OUTPUT_BYTES = 256 * 1024;
export const JOB_LOG_BYTES = 64 * 1024;

const binding = z.strictObject({
  kind: z.literal('python-script'),
  id: z.string().min(1).max(64),
  version: z.union([z.literal('active'), z.number().int().min(1)]).default('active'),
});

export type PythonScriptBinding = z.output<typeof binding>;

/** The message the Python worker reads (see layers/python-runtime). */
export interface PythonJob {
  readonly kind: 'python-script';
  readonly jobId: string;
  readonly executionId: string;
  readonly tenantId: string;
  readonly skillId: string;
  readonly asset: {
    readonly id: string;
    readonly version: number;
    readonly sha256: string;
    readonly source: string;
  };
  readonly input: unknown;
  readonly limits: {
    readonly timeoutSeconds: number;
    readonly memoryMb: number;
    readonly outputBytes: number;
    readonly logBytes: number;
  };
  readonly requestedAt: string;
}

export function jobId(tenantId: string, executionId: string): string {
  return `${tenantId}:${executionId}`;
}

export class PythonScriptExecutor implements Executor {
  readonly kind = 'python-script';
  readonly #assets: ScriptAssets;
  readonly #queues: Queues;

  constructor(assets: ScriptAssets, queues: Queues) {
    this.#assets = assets;
    this.#queues = queues;
  }

  parseBinding(value: unknown): AssetBinding {
    const parsed = binding.safeParse(value);
    if (!parsed.success) {
      throw new ValidationError(
        'Invalid python-script binding',
        parsed.error.issues.map((issue) => ({
          path: ['asset', ...issue.path].join('.'),
          message: issue.message,
        })),
      );
    }
    return parsed.data;
  }

  async validateBinding(domain: TenantContext, value: AssetBinding): Promise<void> {
    await this.resolve(domain, value).catch((cause: unknown) => {
      throw new ValidationError('The Skill is bound to a script or version that does not exist', [
        { path: 'asset', message: (cause as Error).message },
      ]);
    });
  }

  async resolve(domain: TenantContext, value: AssetBinding): Promise<ResolvedAsset> {
    const { id, version } = value as PythonScriptBinding;
    const asset = await this.#assets.get(domain, id);
    const exact = version === 'active' ? asset.activeVersion : version;
    const stored = await this.#assets.version(domain, id, exact);
    return { kind: this.kind, id, version: exact, sha256: stored.sha256 };
  }

  async dispatch(domain: TenantContext, request: DispatchRequest): Promise<void> {
    const version = await this.#assets.version(domain, request.asset.id, Number(request.asset.version));
    const job: PythonJob = {
      kind: 'python-script',
      jobId: jobId(domain.tenant.id, request.executionId),
      executionId: request.executionId,
      tenantId: domain.tenant.id,
      skillId: request.skillId,
      asset: {
        id: version.assetId,
        version: version.version,
        sha256: version.sha256,
        source: version.source,
      },
      input: request.input,
      limits: {
        timeoutSeconds: request.limits.timeoutSeconds,
        memoryMb: request.limits.memoryMb,
        outputBytes: JOB_OUTPUT_BYTES,
        logBytes: JOB_LOG_BYTES,
      },
      requestedAt: request.requestedAt,
    };
    await this.#queues.send(SCRIPT_QUEUE, job, domain.tenant.id);
  }
}
