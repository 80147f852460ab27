/**
 * The tenant API as the CLI uses it: typed reads of scripts, versions, Skills and runs (every page
 * of a paged listing), and the writes `push` makes. Paths are the platform's documented routes.
 */
import { CACHE_CONTROL_HEADER, IDEMPOTENCY_HEADER } from '../../functions/contract/headers.ts';
import type { ExecutionError } from '../../functions/contract/responses.ts';
import type { ApiClient } from './client.ts';

export interface RemoteScript {
  readonly id: string;
  readonly name: string;
  readonly activeVersion: number;
  readonly latestVersion: number;
}

export interface RemoteVersion {
  readonly version: number;
  readonly sha256: string;
  readonly note: string;
  readonly createdAt: string;
}

export interface RemoteSkill {
  readonly id: string;
  readonly name: string;
  readonly revision: number;
  readonly description: string;
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
  readonly risk: string;
  readonly approval: string;
  readonly visibility: { readonly roles: readonly string[] };
  readonly asset: { readonly kind: string; readonly id: string; readonly [field: string]: unknown };
  readonly limits: { readonly timeoutSeconds: number; readonly memoryMb: number };
}

export interface RemoteRun {
  readonly id: string;
  readonly skillId: string;
  readonly skillName: string;
  readonly status: string;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly logs?: { readonly stdout: string; readonly stderr: string; readonly truncated: boolean };
  readonly asset: { readonly kind: string; readonly id: string; readonly version: number | string };
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly [field: string]: unknown;
}

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'rejected',
  'cancelled',
]);

const path = (template: string, ...parts: readonly (string | number)[]) =>
  parts.reduce<string>(
    (result, part) => result.replace(/\{[^}]+\}/, encodeURIComponent(String(part))),
    template,
  );

/** Every item of a paged listing, page by page; `filter` is sent with each page's request. */
export async function* pages<T>(
  client: ApiClient,
  base: string,
  limit = 100,
  filter: Readonly<Record<string, string>> = {},
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({
      ...filter,
      limit: String(limit),
      ...(cursor === undefined ? {} : { cursor }),
    });
    const { body } = await client.get(`${base}?${query}`);
    for (const item of (body.items ?? []) as T[]) yield item;
    cursor = typeof body.cursor === 'string' ? body.cursor : undefined;
  } while (cursor !== undefined);
}

export async function listAll<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

export class TenantApi {
  readonly client: ApiClient;

  constructor(client: ApiClient) {
    this.client = client;
  }

  scripts(): Promise<RemoteScript[]> {
    return listAll(pages<RemoteScript>(this.client, '/api/assets/scripts'));
  }

  versions(scriptId: string): AsyncGenerator<RemoteVersion> {
    return pages<RemoteVersion>(this.client, path('/api/assets/scripts/{id}/versions', scriptId));
  }

  async source(scriptId: string, version: number): Promise<string> {
    const { body } = await this.client.get(path('/api/assets/scripts/{id}/versions/{v}', scriptId, version));
    return String(body.source ?? '');
  }

  async createScript(name: string, source: string, note: string): Promise<{ id: string; version: number }> {
    const { body } = await this.client.post('/api/assets/scripts', { name, source, note });
    return { id: String(body.id), version: Number(body.version) };
  }

  async addVersion(scriptId: string, source: string, note: string): Promise<{ version: number }> {
    const { body } = await this.client.post(path('/api/assets/scripts/{id}/versions', scriptId), {
      source,
      note,
    });
    return { version: Number(body.version) };
  }

  async activate(scriptId: string, version: number): Promise<void> {
    await this.client.put(path('/api/assets/scripts/{id}/active', scriptId), { version });
  }

  /** The catalogue as it is now (a push decides from it whether to create or update). */
  async skills(): Promise<RemoteSkill[]> {
    const { body } = await this.client.get('/api/skills', {
      headers: { [CACHE_CONTROL_HEADER]: 'no-cache' },
    });
    return (body.items ?? []) as RemoteSkill[];
  }

  async createSkill(definition: Record<string, unknown>): Promise<RemoteSkill> {
    return (await this.client.post('/api/skills', definition)).body as RemoteSkill;
  }

  async updateSkill(id: string, definition: Record<string, unknown>, revision: number): Promise<RemoteSkill> {
    return (await this.client.put(path('/api/skills/{id}', id), { ...definition, revision }))
      .body as RemoteSkill;
  }

  async run(
    skillId: string,
    input: unknown,
    idempotencyKey: string,
  ): Promise<{ id: string; status: string }> {
    const { body } = await this.client.post(
      path('/api/skills/{id}/executions', skillId),
      { input },
      { headers: { [IDEMPOTENCY_HEADER]: idempotencyKey } },
    );
    return { id: String(body.id), status: String(body.status) };
  }

  async execution(id: string): Promise<RemoteRun> {
    return (await this.client.get(path('/api/executions/{id}', id))).body as RemoteRun;
  }

  /** Runs newest first, filtered by the platform (its status and Skill indexes), `pageSize` a request. */
  executions(
    filter: { readonly status?: string; readonly skillId?: string } = {},
    pageSize = 100,
  ): AsyncGenerator<RemoteRun> {
    return pages<RemoteRun>(this.client, '/api/executions', pageSize, {
      ...(filter.status === undefined ? {} : { status: filter.status }),
      ...(filter.skillId === undefined ? {} : { skillId: filter.skillId }),
    });
  }

  /** The runs waiting for approval that the caller may see, oldest first, page after page. */
  approvals(): AsyncGenerator<RemoteRun> {
    return pages<RemoteRun>(this.client, '/api/approvals');
  }

  async decide(id: string, decision: 'approve' | 'reject', comment?: string): Promise<RemoteRun> {
    const { body } = await this.client.post(
      path(`/api/executions/{id}/${decision}`, id),
      comment === undefined ? {} : { comment },
    );
    return body as RemoteRun;
  }
}
