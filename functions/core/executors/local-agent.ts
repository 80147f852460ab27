/**
 * The `local-agent` executor: a Skill whose script (an asset of its own tenant, at the active or a
 * pinned version) runs on one named agent on the customer's machine, in the same Python runtime.
 * Binding: `{ kind: 'local-agent', id: <script id>, version: 'active' | n, agent: <agent name> }`.
 * Resolution fixes the exact script version and hash, and the agent (so approvals bind to where it
 * runs too); dispatch writes the job under the agent, which leases it when it polls. Results come
 * back over the tenant API, authenticated by the agent's token and the run's lease, into the same
 * recording path as every executor's (`Executions.recordStarted` / `recordResult`).
 */
import { AGENT_NAME_PATTERN, type Agents } from '../agents/agents.ts';
import type { ScriptAsset, ScriptAssets } from '../assets/scripts.ts';
import { ValidationError } from '../errors.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import * as z from '../zod-mini.ts';
import { scriptAt, scriptRun } from './python-script.ts';
import {
  type AssetBinding,
  type DispatchRequest,
  type Executor,
  parseBindingOf,
  type ResolvedAsset,
} from './registry.ts';

export const LOCAL_AGENT_KIND = 'local-agent';

const binding = z.strictObject({
  kind: z.literal(LOCAL_AGENT_KIND),
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  version: z._default(z.union([z.literal('active'), z.int().check(z.minimum(1))]), 'active'),
  agent: z.string().check(z.regex(AGENT_NAME_PATTERN, 'an agent name')),
});

export type LocalAgentBinding = z.output<typeof binding>;

/** What a run of this kind records as its asset: the script version, and the agent it runs on. */
export interface LocalAgentAsset extends ResolvedAsset {
  readonly agent: string;
}

export function agentOf(asset: ResolvedAsset): string | null {
  const agent = (asset as Partial<LocalAgentAsset>).agent;
  return asset.kind === LOCAL_AGENT_KIND && typeof agent === 'string' ? agent : null;
}

export class LocalAgentExecutor implements Executor {
  readonly kind = LOCAL_AGENT_KIND;
  readonly #assets: ScriptAssets;
  readonly #agents: Agents;

  constructor(assets: ScriptAssets, agents: Agents) {
    this.#assets = assets;
    this.#agents = agents;
  }

  parseBinding(value: unknown): AssetBinding {
    return parseBindingOf('local-agent', binding, value);
  }

  async validateBinding(domain: TenantContext, value: AssetBinding): Promise<void> {
    const { agent } = value as LocalAgentBinding;
    if ((await this.#agents.find(domain, agent)) === null) {
      throw new ValidationError(`No agent named ${agent} in this tenant`, [
        { path: 'asset.agent', message: 'create the agent first (Agents)' },
      ]);
    }
    await this.resolve(domain, value).catch((cause: unknown) => {
      throw new ValidationError('The Skill is bound to a script or version that does not exist', [
        { path: 'asset', message: (cause as Error).message },
      ]);
    });
  }

  async resolve(domain: TenantContext, value: AssetBinding): Promise<LocalAgentAsset> {
    return (await this.resolveWithScript(domain, value)).resolved;
  }

  /**
   * Resolves a binding and returns the script read on the way (its name and state): a run's request
   * checks the script is runnable (a disabled or archived script runs nowhere, an agent included)
   * and names it, reading it once, as a python-script run's does.
   */
  async resolveWithScript(
    domain: TenantContext,
    value: AssetBinding,
  ): Promise<{ readonly resolved: LocalAgentAsset; readonly script: ScriptAsset }> {
    const { id, version, agent } = value as LocalAgentBinding;
    const at = await scriptAt(this.#assets, domain, id, version);
    return {
      resolved: { kind: this.kind, id, version: at.version, sha256: at.sha256, agent },
      script: at.script,
    };
  }

  async dispatch(domain: TenantContext, request: DispatchRequest): Promise<void> {
    const agent = agentOf(request.asset) ?? (request.binding as LocalAgentBinding).agent;
    const version = await this.#assets.version(domain, request.asset.id, Number(request.asset.version));
    await this.#agents.enqueue(domain, agent, {
      executionId: request.executionId,
      tenantId: domain.tenant.id,
      skillId: request.skillId,
      ...scriptRun(version, request),
    });
  }
}
