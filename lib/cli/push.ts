/**
 * `execfabric push`: makes the tenant hold what the manifest says, and nothing more is touched.
 *
 * Scripts are matched by name, Skills by name. A script whose file hashes (SHA-256) to the active
 * version is left alone; to an older version, that version is activated again (no upload); to no
 * version, a new version is uploaded (and activated when the manifest says so). A Skill is created,
 * or updated only when its definition differs from the tenant's. The plan is computed completely
 * before the first write, so `--dry-run` shows exactly what a push would do, as a diff, and a
 * second push with no change writes nothing. Steps run scripts first, then Skills; a step the
 * platform refuses stops the push, and pushing again after the fix continues from there.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { ApiError, CliError } from './errors.ts';
import { type Manifest, type ManifestScript, type ManifestSkill, SKILL_DECLARATIONS } from './manifest.ts';
import { type Output, printable } from './output.ts';
import type { RemoteScript, RemoteSkill, TenantApi } from './remote.ts';

export type PlanStep =
  | { readonly kind: 'create-script'; readonly script: ManifestScript; readonly sha256: string }
  | {
      readonly kind: 'upload-version';
      readonly script: ManifestScript;
      readonly remote: RemoteScript;
      readonly sha256: string;
      /** The active version's source, for the diff. */
      readonly before: string;
    }
  | {
      readonly kind: 'activate';
      readonly script: ManifestScript;
      readonly remote: RemoteScript;
      readonly version: number;
      readonly before: string;
    }
  | { readonly kind: 'create-skill'; readonly skill: ManifestSkill }
  | {
      readonly kind: 'update-skill';
      readonly skill: ManifestSkill;
      readonly remote: RemoteSkill;
      readonly changed: readonly string[];
    };

export interface Plan {
  readonly steps: readonly PlanStep[];
  readonly unchanged: readonly {
    readonly kind: 'script' | 'skill';
    readonly name: string;
    readonly detail: string;
  }[];
  /** Script name → id of the tenant's script (known before the push for existing scripts). */
  readonly scriptIds: ReadonlyMap<string, string>;
  readonly remoteSkills: ReadonlyMap<string, RemoteSkill>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with object keys sorted, so equal definitions compare equal. */
export function stableJson(value: unknown, indent = 0): string {
  const sort = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sort);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((key) => [key, sort((item as Record<string, unknown>)[key])]),
      );
    }
    return item;
  };
  return JSON.stringify(sort(value), null, indent);
}

/** What a user can do to leave one item under a name, per kind: the front's page and the API call. */
const WAYS_OUT = {
  scripts: {
    front: 'rename it on its page in the tenant front (Scripts → the script → Rename)',
    api: 'or with PATCH /api/assets/scripts/{id} {"name": "…"}',
  },
  Skills: {
    front: 'change its name on its page in the tenant front (Manage skills → the Skill → Edit)',
    api: 'or with PUT /api/skills/{id}',
  },
} as const;

/**
 * The tenant's items by name, refusing the names the manifest uses that more than one item holds
 * (push matches by name, so it could not tell which one is meant). The refusal names every id and
 * the ways to leave one item under the name: renaming or archiving the others.
 */
function byName<T extends { readonly name: string; readonly id: string }>(
  items: readonly T[],
  wanted: readonly string[],
  what: keyof typeof WAYS_OUT,
): Map<string, T> {
  const found = new Map<string, T>();
  const ids = new Map<string, string[]>();
  for (const item of items) {
    found.set(item.name, item);
    ids.set(item.name, [...(ids.get(item.name) ?? []), item.id]);
  }
  for (const name of wanted) {
    const holders = ids.get(name) ?? [];
    if (holders.length > 1) {
      const ways = WAYS_OUT[what];
      throw new CliError(
        `The tenant has ${holders.length} ${what} named "${printable(name)}": ${holders.join(', ')}`,
        {
          details: [
            'push matches by name, so it cannot tell which one the manifest means. Keep one under this name;',
            `for each of the others: ${ways.front}, ${ways.api}, or archive it.`,
            'Then push again.',
          ],
        },
      );
    }
  }
  return found;
}

const SKILL_FIELDS = [
  'description',
  'inputSchema',
  'outputSchema',
  'risk',
  'approval',
  'visibility',
  'asset',
  'limits',
  ...SKILL_DECLARATIONS,
] as const;

/**
 * A Skill as the tenant answers it, with the declarations the manifest holds: the platform leaves
 * `egress`, `collections` and `parameters` out when there are none.
 */
export type RemoteSkillWithDeclarations = RemoteSkill & {
  readonly [field in (typeof SKILL_DECLARATIONS)[number]]?: readonly string[];
};

/** The body `POST/PUT /api/skills` takes for a manifest Skill bound to a script id. */
export function skillDefinition(skill: ManifestSkill, scriptId: string): Record<string, unknown> {
  return {
    name: skill.name,
    description: skill.description,
    inputSchema: skill.inputSchema,
    outputSchema: skill.outputSchema,
    risk: skill.risk,
    approval: skill.approval,
    visibility: { roles: [...skill.visibility.roles] },
    asset:
      skill.agent === undefined
        ? { kind: 'python-script', id: scriptId, version: skill.version }
        : { kind: 'local-agent', id: scriptId, version: skill.version, agent: skill.agent },
    limits: { ...skill.limits },
    // Sent even when empty: the manifest is the Skill's whole definition (manifest.ts).
    tags: [...skill.tags],
    egress: [...skill.egress],
    collections: [...skill.collections],
    parameters: [...skill.parameters],
  };
}

function remoteDefinition(remote: RemoteSkillWithDeclarations): Record<string, unknown> {
  const picked: Record<string, unknown> = { name: remote.name };
  for (const field of SKILL_FIELDS) picked[field] = remote[field];
  for (const field of SKILL_DECLARATIONS) picked[field] = [...(remote[field] ?? [])];
  return picked;
}

/** Reads the tenant and works out every step; writes nothing. */
export async function planPush(manifest: Manifest, api: TenantApi): Promise<Plan> {
  const scripts = byName(
    await api.scripts(),
    manifest.scripts.map((script) => script.name),
    'scripts',
  );
  const skills = byName(
    await api.skills(),
    manifest.skills.map((skill) => skill.name),
    'Skills',
  );

  const steps: PlanStep[] = [];
  const unchanged: Plan['unchanged'][number][] = [];
  const scriptIds = new Map<string, string>();
  for (const script of manifest.scripts) {
    const hash = sha256(script.source);
    const remote = scripts.get(script.name);
    if (remote === undefined) {
      steps.push({ kind: 'create-script', script, sha256: hash });
      continue;
    }
    scriptIds.set(script.name, remote.id);
    let activeMatches = false;
    let matching: number | undefined;
    for await (const version of api.versions(remote.id)) {
      if (version.sha256 !== hash) continue;
      if (version.version === remote.activeVersion) {
        activeMatches = true;
        break;
      }
      matching ??= version.version;
    }
    if (activeMatches) {
      unchanged.push({
        kind: 'script',
        name: script.name,
        detail: `v${remote.activeVersion} active, ${hash.slice(0, 12)}`,
      });
    } else if (matching !== undefined && !script.activate) {
      unchanged.push({
        kind: 'script',
        name: script.name,
        detail: `uploaded as v${matching}, not activated`,
      });
    } else if (matching !== undefined) {
      const before = await api.source(remote.id, remote.activeVersion);
      steps.push({ kind: 'activate', script, remote, version: matching, before });
    } else {
      const before = await api.source(remote.id, remote.activeVersion);
      steps.push({ kind: 'upload-version', script, remote, sha256: hash, before });
    }
  }

  for (const skill of manifest.skills) {
    const remote = skills.get(skill.name);
    if (remote === undefined) {
      steps.push({ kind: 'create-skill', skill });
      continue;
    }
    const scriptId = scriptIds.get(skill.script);
    const wanted = skillDefinition(skill, scriptId ?? '');
    const have = remoteDefinition(remote);
    const changed = SKILL_FIELDS.filter((field) =>
      field === 'asset' && scriptId === undefined
        ? true
        : stableJson(wanted[field]) !== stableJson(have[field]),
    );
    if (changed.length === 0) {
      unchanged.push({ kind: 'skill', name: skill.name, detail: `revision ${remote.revision}` });
    } else {
      steps.push({ kind: 'update-skill', skill, remote, changed });
    }
  }
  return { steps, unchanged, scriptIds, remoteSkills: skills };
}

export function describeStep(step: PlanStep): { sign: '+' | '~'; text: string } {
  switch (step.kind) {
    case 'create-script':
      return {
        sign: '+',
        text: `script ${step.script.name}: create from ${step.script.file} (v1, ${step.sha256.slice(0, 12)})`,
      };
    case 'upload-version':
      return {
        sign: '~',
        text: `script ${step.script.name}: upload v${step.remote.latestVersion + 1} from ${step.script.file} (${step.sha256.slice(0, 12)})${step.script.activate ? ', activate it' : `, leave v${step.remote.activeVersion} active`}`,
      };
    case 'activate':
      return {
        sign: '~',
        text: `script ${step.script.name}: activate v${step.version} again (${step.script.file} matches it; v${step.remote.activeVersion} is active)`,
      };
    case 'create-skill':
      return {
        sign: '+',
        text: `skill ${step.skill.name}: create (script ${step.skill.script}, ${step.skill.risk} risk)`,
      };
    case 'update-skill':
      return {
        sign: '~',
        text: `skill ${step.skill.name}: update ${step.changed.join(', ')} (revision ${step.remote.revision} → ${step.remote.revision + 1})`,
      };
  }
}

/** A step as one line, `+ script hello: create …`, and what applying it made (` → v1 (active)`). */
function stepLine(step: PlanStep, output: Output, detail?: string): string {
  const { sign, text } = describeStep(step);
  return `${output.style(sign === '+' ? 'green' : 'yellow', sign)} ${text}${detail === undefined ? '' : ` → ${detail}`}`;
}

/**
 * The plan as text: one line per step (with `steps`; a push says them as it applies them), a
 * unified diff of what each change replaces (with `diff`), and what is unchanged.
 */
export function renderPlan(
  plan: Plan,
  output: Output,
  options: { diff: boolean; steps: boolean; where: string },
): void {
  if (plan.steps.length === 0) {
    output.out(`Up to date with ${options.where}: nothing to push.`);
  } else {
    output.out(`${options.steps ? 'Plan for' : 'Pushing to'} ${options.where}:`);
  }
  for (const step of options.steps ? plan.steps : []) {
    output.out(stepLine(step, output));
    if (!options.diff) continue;
    const patch = diffOf(step, plan);
    if (patch !== '') output.out(colorDiff(patch, output));
  }
  for (const item of plan.unchanged)
    output.out(output.style('dim', `  ${item.kind} ${item.name}: unchanged (${item.detail})`));
}

function diffOf(step: PlanStep, plan: Plan): string {
  const patch = (name: string, before: string, after: string, labels: [string, string]) =>
    createTwoFilesPatch(`a/${name}`, `b/${name}`, before, after, labels[0], labels[1], { context: 3 })
      .split('\n')
      .slice(1) // the "Index"/separator line
      .join('\n')
      .trimEnd();
  switch (step.kind) {
    case 'create-script':
      return patch(step.script.file, '', step.script.source, ['tenant: none', 'local']);
    case 'upload-version':
    case 'activate':
      return patch(step.script.file, step.before, step.script.source, [
        `tenant: v${step.remote.activeVersion} (active)`,
        'local',
      ]);
    case 'create-skill':
      return patch(
        `skill ${step.skill.name}`,
        '',
        `${stableJson(skillDefinition(step.skill, `<script ${step.skill.script}>`), 2)}\n`,
        ['tenant: none', 'local'],
      );
    case 'update-skill': {
      const id = plan.scriptIds.get(step.skill.script) ?? `<script ${step.skill.script}>`;
      return patch(
        `skill ${step.skill.name}`,
        `${stableJson(remoteDefinition(step.remote), 2)}\n`,
        `${stableJson(skillDefinition(step.skill, id), 2)}\n`,
        [`tenant: revision ${step.remote.revision}`, 'local'],
      );
    }
  }
}

function colorDiff(patch: string, output: Output): string {
  return patch
    .split('\n')
    .map((line) =>
      line.startsWith('+') && !line.startsWith('+++')
        ? output.style('green', line)
        : line.startsWith('-') && !line.startsWith('---')
          ? output.style('red', line)
          : line.startsWith('@@')
            ? output.style('cyan', line)
            : line,
    )
    .map((line) => `    ${line}`)
    .join('\n');
}

export interface PushResult {
  readonly applied: readonly { readonly step: string; readonly detail: string }[];
}

/**
 * Runs the plan's steps in order, saying each once with what it made (unless `quiet`, for
 * `--json`). A refused step stops the push with what was done before it.
 */
export async function applyPlan(
  plan: Plan,
  api: TenantApi,
  output: Output,
  options: { quiet?: boolean } = {},
): Promise<PushResult> {
  const applied: { step: string; detail: string }[] = [];
  const scriptIds = new Map(plan.scriptIds);
  const progress = output.progress(plan.steps.length, 'Pushing');
  try {
    for (const step of plan.steps) {
      const label = describeStep(step).text;
      let detail: string;
      try {
        detail = await applyStep(step, api, scriptIds);
      } catch (error) {
        progress.stop();
        const done = applied.length;
        throw new CliError(`${label}: ${(error as Error).message}`, {
          exitCode: error instanceof CliError ? error.exitCode : 1,
          details: [
            ...refusalDetails(step, error),
            done === 0
              ? 'Nothing was changed.'
              : `The ${done} step${done === 1 ? '' : 's'} before it ${done === 1 ? 'was' : 'were'} applied; fix the problem and push again (push continues from there).`,
          ],
          cause: error,
        });
      }
      applied.push({ step: label, detail });
      progress.step(label, options.quiet === true ? undefined : stepLine(step, output, detail));
    }
  } finally {
    progress.stop();
  }
  return { applied };
}

/**
 * What a refused step's error says, line by line. The fields of a refused Skill are named as the
 * manifest names them (`skills.Invoice.egress.0`), with what to do about an HTTP resource the tenant
 * is not granted.
 */
function refusalDetails(step: PlanStep, error: unknown): readonly string[] {
  if (!(error instanceof CliError)) return [];
  if (!(error instanceof ApiError) || error.fields.length === 0) return error.details;
  if (step.kind !== 'create-skill' && step.kind !== 'update-skill') return error.details;
  const fieldLines = new Set(
    error.fields.map((field) => `${field.path === '' ? '(body)' : field.path}: ${field.message}`),
  );
  const manifestField = (path: string) =>
    `skills.${printable(step.skill.name)}${path === '' ? '' : `.${path}`}`;
  const egress = error.fields.some((field) => field.path === 'egress' || field.path.startsWith('egress.'));
  return [
    ...error.fields.map((field) => `${manifestField(field.path)}: ${field.message}`),
    ...error.details.filter((line) => !fieldLines.has(line)),
    ...(egress
      ? [
          'egress names HTTP resources by id; GET /api/http-resources lists those granted to this tenant.',
          'A platform super-admin grants one in the governance console (HTTP resources → Grant to tenants); or remove it from the manifest.',
        ]
      : []),
  ];
}

async function applyStep(step: PlanStep, api: TenantApi, scriptIds: Map<string, string>): Promise<string> {
  const note = (script: ManifestScript) => script.note ?? `execfabric push: ${script.file}`;
  switch (step.kind) {
    case 'create-script': {
      const created = await api.createScript(step.script.name, step.script.source, note(step.script));
      scriptIds.set(step.script.name, created.id);
      return `${created.id} v${created.version}`;
    }
    case 'upload-version': {
      const { version } = await api.addVersion(step.remote.id, step.script.source, note(step.script));
      if (step.script.activate) await api.activate(step.remote.id, version);
      return `v${version}${step.script.activate ? ' (active)' : ''}`;
    }
    case 'activate':
      await api.activate(step.remote.id, step.version);
      return `v${step.version} (active)`;
    case 'create-skill': {
      const created = await api.createSkill(skillDefinition(step.skill, requireId(scriptIds, step.skill)));
      return `${created.id} revision ${created.revision}`;
    }
    case 'update-skill': {
      const updated = await api.updateSkill(
        step.remote.id,
        skillDefinition(step.skill, requireId(scriptIds, step.skill)),
        step.remote.revision,
      );
      return `${updated.id} revision ${updated.revision}`;
    }
  }
}

function requireId(scriptIds: ReadonlyMap<string, string>, skill: ManifestSkill): string {
  const id = scriptIds.get(skill.script);
  if (id === undefined) throw new CliError(`Script ${skill.script} of Skill ${skill.name} was not created`);
  return id;
}
