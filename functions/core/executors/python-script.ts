/**
 * The `python-script` executor: a Skill bound to a script asset of its own tenant, at the active
 * version or a pinned one. Resolution fixes the exact version (and its hash) a run will use; the job
 * carries that version's source to the Python worker through the fair script queue (group = tenant).
 *
 * A job also carries the run's egress grant: the configuration of each HTTP resource the Skill
 * declares and the tenant still holds, sealed under the jobs key. The worker passes it, untouched, with
 * each `ctx.http` call to the http-executor, which trusts a resource's base URL, local-development
 * switch and allowances only from a grant whose MAC verifies. The script never sees the grant.
 */
import type { ScriptAsset, ScriptAssets, ScriptVersionWithSource } from '../assets/scripts.ts';
import type { DataGrant } from '../data/relay.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { type EgressGrant, GRANT_TTL_SECONDS } from '../http-resources/jobs.ts';
import { type HttpResourceSnapshot, snapshotOf } from '../http-resources/model.ts';
import type { HttpResources } from '../http-resources/resources.ts';
import { type MessageSigner, type Sealed, seal } from '../messages/signing.ts';
import type { Queues } from '../queues.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { planLimits } from '../tenancy/plans.ts';
import * as z from '../zod-mini.ts';
import {
  type AssetBinding,
  type DispatchRequest,
  type Executor,
  parseBindingOf,
  type ResolvedAsset,
} from './registry.ts';

export const SCRIPT_QUEUE = 'script-executions';
/** Bytes of captured output a job may return and of logs it may keep. */
export const JOB_OUTPUT_BYTES = 256 * 1024;
export const JOB_LOG_BYTES = 64 * 1024;

/**
 * What a script job carries of its run, whoever runs it (the Python worker here, a local agent):
 * the exact version with its source, the input, the limits and when the run was asked for.
 */
export function scriptRun(
  version: ScriptVersionWithSource,
  request: DispatchRequest,
): Pick<PythonJob, 'asset' | 'input' | 'limits' | 'requestedAt'> {
  return {
    asset: { id: version.assetId, version: version.version, sha256: version.sha256, source: version.source },
    input: request.input,
    limits: {
      timeoutSeconds: request.limits.timeoutSeconds,
      memoryMb: request.limits.memoryMb,
      outputBytes: JOB_OUTPUT_BYTES,
      logBytes: JOB_LOG_BYTES,
    },
    requestedAt: request.requestedAt,
  };
}

/** A grant issued now lasts past the job message that carries it and the run's own timeout. */
function grantWindow(issued: Date, request: DispatchRequest): { issuedAt: string; expiresAt: string } {
  return {
    issuedAt: issued.toISOString(),
    expiresAt: new Date(
      issued.getTime() + (GRANT_TTL_SECONDS + request.limits.timeoutSeconds) * 1000,
    ).toISOString(),
  };
}

const binding = z.strictObject({
  kind: z.literal('python-script'),
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  version: z._default(z.union([z.literal('active'), z.int().check(z.minimum(1))]), 'active'),
});

export type PythonScriptBinding = z.output<typeof binding>;

/** The message the Python worker reads (see layers/python-runtime). */
export interface PythonJob {
  readonly kind: 'python-script';
  readonly jobId: string;
  readonly executionId: string;
  readonly tenantId: string;
  readonly skillId: string;
  /** Echoed in the result (the recorder checks the output against this revision's schema). */
  readonly skillRevision: number;
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
  /** When this message was made (a dispatch or a re-dispatch). */
  readonly issuedAt: string;
  /** The tenant's cap of script jobs running at once (its plan's), applied by the dispatcher. */
  readonly concurrency: number;
  /** The sealed egress grant, when the Skill declares resources. */
  readonly egress?: Sealed;
  /** The sealed data grant (`ctx.data`), when the Skill declares collections. */
  readonly data?: Sealed;
  /**
   * `ctx.params`: the values, at dispatch, of the tenant parameters the Skill declares (those that
   * are set). A snapshot in the signed job: a run reads one consistent set, and the worker needs no
   * way to the table.
   */
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * A script and the exact version a binding's `version` names (`active`: the active one), with that
 * version's hash: what a run of it is bound to. Shared by the executors that run scripts.
 */
export async function scriptAt(
  assets: ScriptAssets,
  domain: TenantContext,
  id: string,
  version: 'active' | number,
): Promise<{ readonly script: ScriptAsset; readonly version: number; readonly sha256: string }> {
  const script = await assets.get(domain, id);
  const exact = version === 'active' ? script.activeVersion : version;
  const stored = await assets.version(domain, id, exact);
  return { script, version: exact, sha256: stored.sha256 };
}

export function jobId(tenantId: string, executionId: string): string {
  return `${tenantId}:${executionId}`;
}

export interface PythonScriptExecutorOptions {
  readonly assets: ScriptAssets;
  readonly queues: Queues;
  /** Where declared egress resources are looked up at dispatch. */
  readonly resources: HttpResources;
  /** Where declared tenant parameters are read at dispatch. @default none are read */
  readonly parameters?: { list(domain: TenantContext): Promise<readonly { key: string; value: string }[]> };
  /** Seals egress grants (the jobs key). @default none: a Skill with egress cannot be dispatched */
  readonly signer?: MessageSigner;
  readonly now?: () => Date;
}

export class PythonScriptExecutor implements Executor {
  readonly kind = 'python-script';
  readonly runsScripts = true;
  readonly #assets: ScriptAssets;
  readonly #queues: Queues;
  readonly #resources: HttpResources;
  readonly #parameters: PythonScriptExecutorOptions['parameters'];
  readonly #signer: MessageSigner | undefined;
  readonly #now: () => Date;

  constructor(options: PythonScriptExecutorOptions) {
    this.#assets = options.assets;
    this.#queues = options.queues;
    this.#resources = options.resources;
    this.#parameters = options.parameters;
    this.#signer = options.signer;
    this.#now = options.now ?? (() => new Date());
  }

  parseBinding(value: unknown): AssetBinding {
    return parseBindingOf('python-script', binding, value);
  }

  async validateBinding(domain: TenantContext, value: AssetBinding): Promise<void> {
    await this.resolve(domain, value).catch((cause: unknown) => {
      throw new ValidationError('The Skill is bound to a script or version that does not exist', [
        { path: 'asset', message: (cause as Error).message },
      ]);
    });
  }

  async resolve(domain: TenantContext, value: AssetBinding): Promise<ResolvedAsset> {
    return (await this.resolveWithScript(domain, value)).resolved;
  }

  /**
   * Resolves a binding and returns the script read on the way (its name and state), so a run's
   * request reads the script once for both its runnability and its version.
   */
  async resolveWithScript(
    domain: TenantContext,
    value: AssetBinding,
  ): Promise<{ readonly resolved: ResolvedAsset; readonly script: ScriptAsset }> {
    const { id, version } = value as PythonScriptBinding;
    const at = await scriptAt(this.#assets, domain, id, version);
    return { resolved: { kind: this.kind, id, version: at.version, sha256: at.sha256 }, script: at.script };
  }

  /**
   * The plan's `concurrentRuns`: the script dispatcher runs that many of a tenant's jobs at once and
   * holds the others on its wait list (executions/slots.ts). The job carries the cap it was sent with.
   */
  concurrentRuns(domain: TenantContext): number {
    return planLimits(domain.tenant.plan).concurrentRuns;
  }

  async dispatch(domain: TenantContext, request: DispatchRequest): Promise<void> {
    const version = await this.#assets.version(domain, request.asset.id, Number(request.asset.version));
    const job: PythonJob = {
      kind: 'python-script',
      jobId: jobId(domain.tenant.id, request.executionId),
      executionId: request.executionId,
      tenantId: domain.tenant.id,
      skillId: request.skillId,
      skillRevision: request.skillRevision,
      ...scriptRun(version, request),
      issuedAt: this.#now().toISOString(),
      concurrency: this.concurrentRuns(domain),
      ...(request.egress.length === 0 ? {} : { egress: await this.#grant(domain, request) }),
      ...((request.collections ?? []).length === 0 ? {} : { data: this.#dataGrant(domain, request) }),
      ...((request.parameters ?? []).length === 0 ? {} : { params: await this.#params(domain, request) }),
    };
    await this.#queues.send(SCRIPT_QUEUE, job, domain.tenant.id);
  }

  /** The collections the Skill declares, for this run, sealed. */
  #dataGrant(domain: TenantContext, request: DispatchRequest): Sealed {
    if (this.#signer === undefined) throw new Error('This function holds no key to seal a data grant');
    const grant: DataGrant = {
      v: 1,
      tenantId: domain.tenant.id,
      executionId: request.executionId,
      skillId: request.skillId,
      collections: [...(request.collections ?? [])],
      ...grantWindow(this.#now(), request),
    };
    return seal(this.#signer, 'data-grant', grant);
  }

  /** The declared parameters that are set, as they are now. */
  async #params(domain: TenantContext, request: DispatchRequest): Promise<Record<string, string>> {
    const declared = new Set(request.parameters ?? []);
    const params: Record<string, string> = {};
    for (const parameter of (await this.#parameters?.list(domain)) ?? []) {
      if (declared.has(parameter.key)) params[parameter.key] = parameter.value;
    }
    return params;
  }

  /** The declared resources the tenant still holds, sealed; revoked ones are left out (the script's
   * call then answers "not granted"). */
  async #grant(domain: TenantContext, request: DispatchRequest): Promise<Sealed> {
    if (this.#signer === undefined) throw new Error('This function holds no key to seal an egress grant');
    const resources: HttpResourceSnapshot[] = [];
    for (const id of request.egress) {
      try {
        resources.push(snapshotOf(await this.#resources.forTenant(domain, id)));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    const grant: EgressGrant = {
      v: 1,
      tenantId: domain.tenant.id,
      executionId: request.executionId,
      skillId: request.skillId,
      declared: [...request.egress],
      resources,
      ...grantWindow(this.#now(), request),
    };
    return seal(this.#signer, 'grant', grant);
  }
}
