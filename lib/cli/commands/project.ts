/**
 * `init`, `push`, `pull`: a folder under version control ↔ the tenant's script assets and Skills.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { hint } from '../invocation.ts';
import {
  findManifest,
  insideProject,
  loadManifest,
  MANIFEST_NAMES,
  SKILL_DECLARATIONS,
} from '../manifest.ts';
import { printable } from '../output.ts';
import {
  applyPlan,
  describeStep,
  planPush,
  type RemoteSkillWithDeclarations,
  renderPlan,
  stableJson,
} from '../push.ts';
import { type RemoteSkill, TenantApi } from '../remote.ts';
import { resolveTarget, type TargetOptions } from '../target.ts';

const SAMPLE_SCRIPT = `"""A sample ExecFabric script: main(inputs, ctx) returns the run's output."""


def main(inputs, ctx):
    name = inputs.get("name", "world")
    print(f"saying hello to {name}")
    return {"message": f"Hello, {name}!"}
`;

const SAMPLE_INPUT = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
  additionalProperties: false,
};

const SAMPLE_OUTPUT = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
  additionalProperties: false,
};

const SAMPLE_MANIFEST = `# ExecFabric project: the scripts and Skills this folder holds. \`execfabric push\` makes the
# tenant match it; \`execfabric push --dry-run\` shows the plan first. Reference: the README's
# "The execfabric CLI" section.
version: 1

scripts:
  hello:                         # the script asset's name in the tenant
    file: scripts/hello.py
    activate: true               # make what is pushed the active version

skills:
  Hello:                         # the Skill's name in the tenant
    description: Says hello to someone.
    script: hello                # one of the scripts above
    version: active              # or a version number, to pin one
    inputSchema: schemas/hello.input.json
    outputSchema: schemas/hello.output.json
    risk: low                    # low | medium | high | critical
    approval: none               # none | one | two (at least what the risk needs)
    limits:
      timeoutSeconds: 30
      memoryMb: 256
`;

export function init(context: CliContext, dir: string, options: { force?: boolean }): void {
  const root = resolve(dir);
  const files: [string, string][] = [
    ['execfabric.yaml', SAMPLE_MANIFEST],
    ['scripts/hello.py', SAMPLE_SCRIPT],
    ['schemas/hello.input.json', `${JSON.stringify(SAMPLE_INPUT, null, 2)}\n`],
    ['schemas/hello.output.json', `${JSON.stringify(SAMPLE_OUTPUT, null, 2)}\n`],
  ];
  const existing = MANIFEST_NAMES.filter((name) => existsSync(join(root, name)));
  const clashes = [
    ...new Set([...existing, ...files.map(([name]) => name).filter((name) => existsSync(join(root, name)))]),
  ];
  if (clashes.length > 0 && options.force !== true) {
    throw new UsageError(`${root} already holds ${clashes.join(', ')}; nothing was written`, [
      'Pass --force to overwrite them.',
    ]);
  }
  for (const [name, text] of files) {
    const target = join(root, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  const shown = relative(process.cwd(), root) || '.';
  context.output.out(`Created an ExecFabric project in ${shown}:`);
  for (const [name] of files) context.output.out(`  ${name}`);
  context.output.out('');
  context.output.out(`Next: ${hint(`push ${shown === '.' ? '' : `${shown} `}--dry-run`, context.env)}`);
}

export interface PushOptions extends TargetOptions {
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

export async function push(context: CliContext, dir: string, options: PushOptions): Promise<void> {
  // The manifest and every file it names are checked before anything is read from the platform.
  const manifest = await loadManifest(dir, findManifest(dir, context.env));
  const target = resolveTarget(options, context);
  const api = new TenantApi(target.client);
  const plan = await planPush(manifest, api);
  const where = target.client.host;
  if (options.json === true) {
    const result =
      options.dryRun === true || plan.steps.length === 0
        ? null
        : await applyPlan(plan, api, context.output, { quiet: true });
    context.output.json({
      host: target.origin,
      dryRun: options.dryRun === true,
      steps: plan.steps.map((step) => ({ kind: step.kind, description: describeStep(step).text })),
      unchanged: plan.unchanged,
      ...(result === null ? {} : { applied: result.applied }),
    });
    return;
  }
  renderPlan(plan, context.output, {
    diff: options.dryRun === true,
    steps: options.dryRun === true || plan.steps.length === 0,
    where,
  });
  if (options.dryRun === true) {
    if (plan.steps.length > 0)
      context.output.out(
        `Dry run: nothing was changed. Run without --dry-run to apply ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}.`,
      );
    return;
  }
  if (plan.steps.length === 0) return;
  const result = await applyPlan(plan, api, context.output);
  context.output.out(
    `Pushed to ${where}: ${result.applied.length} step${result.applied.length === 1 ? '' : 's'} applied.`,
  );
}

export interface PullOptions extends TargetOptions {
  readonly dryRun?: boolean;
}

/** A file-name-safe form of a tenant name (`Say Hello!` → `say-hello`). */
export function slug(name: string): string {
  const value = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return value === '' ? 'item' : value;
}

/**
 * The file a pulled script is written to: its name as a slug, `.py` once (a script named `greet.py`
 * was written as `scripts/greet-py.py`).
 */
export function scriptFile(name: string): string {
  return `scripts/${slug(name.replace(/\.py$/i, ''))}.py`;
}

/** What to do about two items of one name, after a pull's skip line. */
const RENAME_HINT = ' (the manifest matches by name: rename or archive one of them to pull both)';

/**
 * Writes the tenant's scripts (their active versions) and the Skills bound to them into the folder:
 * the manifest (with each Skill's tags and what its script may reach: egress, collections,
 * parameters), each script's file, each Skill's schemas. Files the manifest already names keep
 * their paths; new ones get paths from their names. Skills bound to anything but a script of the
 * tenant (an HTTP resource) are listed and left out: the manifest does not describe them. Of two
 * scripts or Skills with one name only the first is written (the manifest is keyed by name); the
 * other is listed with the id that took its name, and so is a Skill bound to a script left out.
 */
export async function pull(context: CliContext, dir: string, options: PullOptions): Promise<void> {
  const root = resolve(dir);
  const target = resolveTarget(options, context);
  const api = new TenantApi(target.client);
  const existingFile = MANIFEST_NAMES.map((name) => join(root, name)).find((file) => existsSync(file));
  const existing =
    existingFile === undefined ? null : await loadManifest(root, findManifest(root, context.env));
  const json = existing?.format === 'json';

  const scripts = await api.scripts();
  const skills: readonly RemoteSkillWithDeclarations[] = await api.skills();
  const files = new Map<string, string>();
  const taken = new Set<string>();
  const claim = (wanted: string) => {
    let candidate = wanted;
    for (let n = 2; taken.has(candidate); n++) candidate = wanted.replace(/(\.[^./]+)$/, `-${n}$1`);
    taken.add(candidate);
    return candidate;
  };

  // The manifest matches by name, so of two items with one name only the first is written; what is
  // left out says which item took the name, the real reason (docs/decisions/cli.md).
  const scriptNames = new Map<string, string>();
  const pulledScripts = new Map<string, string>();
  const manifestScripts: Record<string, unknown> = {};
  for (const script of scripts) {
    const taker = pulledScripts.get(script.name);
    if (taker !== undefined) {
      context.output.info(
        `skipped script ${script.id}: script ${taker} has the same name "${printable(script.name)}" and is the one pulled${RENAME_HINT}`,
      );
      continue;
    }
    pulledScripts.set(script.name, script.id);
    const known = existing?.scripts.find((item) => item.name === script.name);
    const file = claim(known?.file ?? scriptFile(script.name));
    files.set(file, await api.source(script.id, script.activeVersion));
    scriptNames.set(script.id, script.name);
    manifestScripts[script.name] = { file, ...(known?.activate === false ? { activate: false } : {}) };
  }

  const manifestSkills: Record<string, unknown> = {};
  const pulledSkills = new Map<string, string>();
  const skipped: { readonly skill: RemoteSkill; readonly reason: string }[] = [];
  const leftOut = new Map(
    scripts.filter((script) => !scriptNames.has(script.id)).map((script) => [script.id, script]),
  );
  for (const skill of skills) {
    const scripted = skill.asset.kind === 'python-script' || skill.asset.kind === 'local-agent';
    const scriptName = scripted ? scriptNames.get(skill.asset.id) : undefined;
    // A Skill whose script is left out cannot be in the manifest whatever its name: that reason first.
    if (scriptName === undefined) {
      const script = leftOut.get(skill.asset.id);
      skipped.push({
        skill,
        reason:
          script === undefined
            ? `bound to ${skill.asset.kind} ${skill.asset.id}, which the manifest does not describe`
            : `bound to script ${script.id}, which was left out: script ${pulledScripts.get(script.name)} has the same name "${script.name}"${RENAME_HINT}`,
      });
      continue;
    }
    const taker = pulledSkills.get(skill.name);
    if (taker !== undefined) {
      skipped.push({ skill, reason: `Skill ${taker} has the same name and is the one pulled${RENAME_HINT}` });
      continue;
    }
    pulledSkills.set(skill.name, skill.id);
    const known = existing?.skills.find((item) => item.name === skill.name);
    const schemaFile = (which: 'input' | 'output') => {
      const file = claim(known?.schemaFiles[which] ?? `schemas/${slug(skill.name)}.${which}.json`);
      files.set(file, `${stableJson(which === 'input' ? skill.inputSchema : skill.outputSchema, 2)}\n`);
      return file;
    };
    manifestSkills[skill.name] = {
      ...(skill.description === '' ? {} : { description: skill.description }),
      script: scriptName,
      version: skill.asset.version ?? 'active',
      ...(skill.asset.kind === 'local-agent' ? { agent: skill.asset.agent } : {}),
      inputSchema: schemaFile('input'),
      outputSchema: schemaFile('output'),
      risk: skill.risk,
      approval: skill.approval,
      ...(skill.visibility.roles.length === 0 ? {} : { visibility: { roles: [...skill.visibility.roles] } }),
      limits: { timeoutSeconds: skill.limits.timeoutSeconds, memoryMb: skill.limits.memoryMb },
      // Written only when the Skill has some: a declaration left out means none (manifest.ts).
      ...Object.fromEntries(
        SKILL_DECLARATIONS.flatMap((field) => {
          const values = skill[field] ?? [];
          return values.length === 0 ? [] : [[field, [...values]]];
        }),
      ),
    };
  }
  const document = { version: 1, scripts: manifestScripts, skills: manifestSkills };
  const manifestName = existingFile === undefined ? 'execfabric.yaml' : relative(root, existingFile);
  files.set(
    manifestName,
    json
      ? `${JSON.stringify(document, null, 2)}\n`
      : `# ExecFabric project, pulled from ${target.client.host}. See the README's "The execfabric CLI".\n${stringify(document, { lineWidth: 0 })}`,
  );

  let changed = 0;
  for (const [file, text] of files) {
    const path = insideProject(root, file);
    if (path === null) throw new CliError(`Refusing to write ${file}: it is outside ${root}`);
    const before = existsSync(path) ? readFileSync(path, 'utf8') : null;
    if (before === text) continue;
    changed++;
    context.output.out(`${before === null ? '+' : '~'} ${file}`);
    if (options.dryRun === true) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  for (const { skill, reason } of skipped)
    context.output.info(`skipped Skill "${printable(skill.name)}" (${skill.id}): ${reason}`);
  const summary = `${scripts.length} script${scripts.length === 1 ? '' : 's'}, ${Object.keys(manifestSkills).length} Skill${Object.keys(manifestSkills).length === 1 ? '' : 's'} from ${target.client.host}`;
  if (changed === 0) context.output.out(`Up to date: ${summary}.`);
  else if (options.dryRun === true)
    context.output.out(
      `Dry run: ${changed} file${changed === 1 ? '' : 's'} would change (${summary}); nothing was written.`,
    );
  else context.output.out(`Pulled ${summary}: ${changed} file${changed === 1 ? '' : 's'} written.`);
}
