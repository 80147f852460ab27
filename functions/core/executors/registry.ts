/**
 * The executor registry: asset kind → executor. An executor validates a Skill's binding, resolves
 * it to the exact asset version a run will use, and dispatches the job to its runtime; results come
 * back through the one recording path (the results queue). Adding a kind is one executor plus its
 * runtime wiring — the catalog and the execution pipeline do not change.
 */
import { ValidationError } from '../errors.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import * as z from '../zod-mini.ts';

/** A Skill's binding to its asset, as stored on the Skill; `kind` selects the executor. */
export interface AssetBinding {
  readonly kind: string;
  readonly id: string;
  readonly [field: string]: unknown;
}

/** The exact thing a run executes: what approvals bind to and what the execution records. */
export interface ResolvedAsset {
  readonly kind: string;
  readonly id: string;
  readonly version: number | string;
  /** Hash of the exact content or configuration that will run. */
  readonly sha256: string;
}

export interface ExecutionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface DispatchRequest {
  readonly executionId: string;
  readonly skillId: string;
  /** The Skill revision the run was requested of: echoed in the result so the recorder needs no read. */
  readonly skillRevision: number;
  /** HTTP resources the Skill declared for its script (`ctx.http`). */
  readonly egress: readonly string[];
  /** Collections (`ctx.data`) and tenant parameters (`ctx.params`) the Skill declares. */
  readonly collections?: readonly string[];
  readonly parameters?: readonly string[];
  readonly input: unknown;
  readonly limits: ExecutionLimits;
  readonly asset: ResolvedAsset;
  readonly binding: AssetBinding;
  readonly requestedAt: string;
}

/**
 * A binding parsed by its kind's schema, or a ValidationError (`Invalid <kind> binding`) naming each
 * field that failed, under `asset.`.
 */
export function parseBindingOf<T extends z.core.$ZodType>(
  kind: string,
  schema: T,
  value: unknown,
): z.output<T> {
  const parsed = z.safeParse(schema, value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    `Invalid ${kind} binding`,
    parsed.error.issues.map((issue) => ({
      path: ['asset', ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

export interface Executor {
  readonly kind: string;
  /** Runs tenant code, which may declare egress (`ctx.http`) on its Skill. */
  readonly runsScripts?: boolean;
  /** Parses and normalises a binding from a request body; throws ValidationError. */
  parseBinding(value: unknown): AssetBinding;
  /** Checks the binding against the tenant's data (the asset exists, is granted…). */
  validateBinding(domain: TenantContext, binding: AssetBinding): Promise<void>;
  resolve(domain: TenantContext, binding: AssetBinding): Promise<ResolvedAsset>;
  /** Hands the job to the kind's runtime (its queue). Must be safe to repeat. */
  dispatch(domain: TenantContext, request: DispatchRequest): Promise<void>;
  /**
   * How many of a tenant's runs of this kind its runtime runs at once; the others wait until one of
   * them ends. @default no such cap
   */
  concurrentRuns?(domain: TenantContext): number;
}

export class ExecutorRegistry {
  readonly #executors = new Map<string, Executor>();

  register(executor: Executor): this {
    if (this.#executors.has(executor.kind))
      throw new Error(`Executor for ${executor.kind} already registered`);
    this.#executors.set(executor.kind, executor);
    return this;
  }

  kinds(): string[] {
    return [...this.#executors.keys()];
  }

  get(kind: string): Executor {
    const executor = this.#executors.get(kind);
    if (executor === undefined) {
      throw new ValidationError(`Unknown asset kind ${kind}`, [
        { path: 'asset.kind', message: `one of ${this.kinds().join(', ')}` },
      ]);
    }
    return executor;
  }

  /** The cap on a tenant's runs of `kind` at once (Executor.concurrentRuns), or null when there is none. */
  concurrentRuns(domain: TenantContext, kind: string): number | null {
    return this.#executors.get(kind)?.concurrentRuns?.(domain) ?? null;
  }

  parseBinding(value: unknown): AssetBinding {
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string') {
      throw new ValidationError('asset.kind is required', [{ path: 'asset.kind', message: 'required' }]);
    }
    return this.get(kind).parseBinding(value);
  }
}
