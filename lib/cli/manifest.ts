/**
 * The project manifest, `execfabric.yaml` (or `execfabric.json`): the script assets and Skills a
 * folder holds, by name. It is parsed with positions kept, checked with zod, and every file it names
 * is read and checked (schemas are compiled as JSON Schema 2020-12, Skill rules are applied as the
 * platform applies them) before anything is sent, so a bad project is refused whole, with the file,
 * line, column and field of each problem.
 *
 * ```yaml
 * version: 1
 * scripts:
 *   greet:                          # the script asset's name in the tenant
 *     file: scripts/greet.py
 *     activate: true                # move the active pointer to what was pushed (default)
 *     note: optional version note
 * skills:
 *   Greet:                          # the Skill's name in the tenant
 *     description: Says hello
 *     script: greet                 # a script of this manifest
 *     version: active               # or a version number to pin
 *     agent: laptop                 # optional: run on this local agent (execfabric agent)
 *     inputSchema: schemas/greet.input.json   # a file, or the schema inline
 *     outputSchema: { type: object }
 *     risk: low                     # low | medium | high | critical
 *     approval: none                # none | one | two (default: the least the risk allows)
 *     visibility: { roles: [] }     # roles that may see and run it (default: everyone with skill:read)
 *     limits: { timeoutSeconds: 30, memoryMb: 256 }
 *     tags: [finance]               # labels grouping Skills (lowercase slugs)
 *     egress: [hr-0123456789ab]     # HTTP resources (ids) the script may call through ctx.http
 *     collections: [invoices]       # extension data the script may use through ctx.data
 *     parameters: [currency]        # tenant parameters the script may read through ctx.params
 * ```
 *
 * A Skill's entry is its whole definition: a field left out takes its default, the same as the
 * platform gives a definition that omits it. For `tags`, `egress`, `collections` and `parameters`
 * that is none, so a push removes what the tenant's Skill has and the manifest does not list.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import {
  APPROVAL_COUNT,
  APPROVALS,
  type ApprovalRule,
  defaultApproval,
  LIMIT_BOUNDS,
  MAX_DECLARED_NAME_LENGTH,
  MAX_EGRESS,
  MAX_SKILL_COLLECTIONS,
  MAX_SKILL_PARAMETERS,
  MAX_SKILL_TAGS,
  MIN_APPROVALS,
  PARAMETER_KEY_PATTERN,
  RISKS,
  type Risk,
  SKILL_TAG_PATTERN,
} from '../../functions/contract/catalog.ts';
import { AGENT_NAME_PATTERN } from '../../functions/core/agents/names.ts';
import { assertValidSchema, type JsonSchema } from '../../functions/core/catalog/schemas.ts';
import { ValidationError } from '../../functions/core/errors.ts';
import { UsageError } from './errors.ts';
import { hint } from './invocation.ts';

export const MANIFEST_NAMES = ['execfabric.yaml', 'execfabric.yml', 'execfabric.json'] as const;
/** Largest manifest or schema file read. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Largest script file (the platform's own limit on a script's source). */
export const MAX_SCRIPT_FILE_BYTES = 256 * 1024;

const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(120, 'at most 120 characters')
  .refine(
    (value) => ![...value].some((char) => char.charCodeAt(0) < 0x20),
    'must not hold control characters',
  );

const relativeFile = z.string().min(1, 'must name a file').max(1024);

const scriptEntry = z.strictObject({
  file: relativeFile,
  activate: z.boolean().default(true),
  note: z.string().max(500).optional(),
});

const schemaRef = z.union([relativeFile, z.record(z.string(), z.unknown()), z.boolean()], {
  error: 'a file name, or a JSON Schema object inline',
});

/** A list of names a Skill declares, held to the platform's bounds for it. */
const declared = (entry: z.ZodString, max: number, what: string) =>
  z.array(entry).max(max, `at most ${max} ${what}`).optional();
const declaredName = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_DECLARED_NAME_LENGTH, `at most ${MAX_DECLARED_NAME_LENGTH} characters`);

const skillEntry = z.strictObject({
  description: z.string().max(2000).default(''),
  script: name,
  version: z.union([z.literal('active'), z.number().int().min(1)]).default('active'),
  agent: z.string().regex(AGENT_NAME_PATTERN, 'an agent name: lowercase letters, digits and -').optional(),
  inputSchema: schemaRef,
  outputSchema: schemaRef,
  risk: z.enum(RISKS),
  approval: z.enum(APPROVALS).optional(),
  visibility: z.strictObject({ roles: z.array(z.string().min(1).max(64)).max(20) }).optional(),
  limits: z
    .strictObject({
      timeoutSeconds: z
        .number()
        .int()
        .min(LIMIT_BOUNDS.timeoutSeconds.min)
        .max(LIMIT_BOUNDS.timeoutSeconds.max)
        .optional(),
      memoryMb: z.number().int().min(LIMIT_BOUNDS.memoryMb.min).max(LIMIT_BOUNDS.memoryMb.max).optional(),
    })
    .optional(),
  tags: declared(
    z
      .string()
      .regex(SKILL_TAG_PATTERN, 'a-z, 0-9 and hyphens, 1-40 characters, starting with a letter or digit'),
    MAX_SKILL_TAGS,
    'tags',
  ),
  egress: declared(declaredName, MAX_EGRESS, 'HTTP resources'),
  collections: declared(declaredName, MAX_SKILL_COLLECTIONS, 'collections'),
  parameters: declared(
    z
      .string()
      .regex(PARAMETER_KEY_PATTERN, 'a parameter key: a letter, then letters, digits, _ . - (max 64)'),
    MAX_SKILL_PARAMETERS,
    'parameters',
  ),
});

const manifestSchema = z.strictObject({
  version: z.literal(1, 'must be 1'),
  scripts: z.record(name, scriptEntry).default({}),
  skills: z.record(name, skillEntry).default({}),
});

export type ManifestData = z.output<typeof manifestSchema>;

export interface ManifestScript {
  readonly name: string;
  /** Path relative to the project folder, with `/` separators. */
  readonly file: string;
  readonly source: string;
  readonly activate: boolean;
  readonly note?: string;
}

/** A Skill's definition as the platform stores it (defaults applied), bound by script name. */
export interface ManifestSkill {
  readonly name: string;
  readonly description: string;
  readonly script: string;
  readonly version: 'active' | number;
  /** Runs on this local agent (kind `local-agent`) instead of the platform's workers. */
  readonly agent?: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  /** Where each schema came from: a file of the project, or inline in the manifest. */
  readonly schemaFiles: { readonly input?: string; readonly output?: string };
  readonly risk: Risk;
  readonly approval: ApprovalRule;
  readonly visibility: { readonly roles: readonly string[] };
  readonly limits: { readonly timeoutSeconds: number; readonly memoryMb: number };
  /** Each as the platform keeps it: without repeats; tags, collections and parameters sorted. */
  readonly tags: readonly string[];
  /** HTTP resource ids, in the manifest's order (the platform keeps it). */
  readonly egress: readonly string[];
  readonly collections: readonly string[];
  readonly parameters: readonly string[];
}

/** The declarations of a Skill the manifest holds as lists: `none` when left out. */
export const SKILL_DECLARATIONS = ['tags', 'egress', 'collections', 'parameters'] as const;

export interface Manifest {
  /** The project folder. */
  readonly dir: string;
  /** The manifest file, absolute. */
  readonly file: string;
  readonly format: 'yaml' | 'json';
  readonly scripts: readonly ManifestScript[];
  readonly skills: readonly ManifestSkill[];
}

export interface ManifestProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** `skills.Greet.risk`; `''` for the whole file. */
  readonly field: string;
  readonly message: string;
}

/** A manifest (or a file it names) that cannot be used; nothing was sent. */
export class ManifestError extends UsageError {
  readonly problems: readonly ManifestProblem[];

  constructor(file: string, problems: readonly ManifestProblem[]) {
    super(
      `${file} is not a valid ExecFabric manifest (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was sent`,
      problems.map(formatProblem),
    );
    this.problems = problems;
  }
}

export function formatProblem(problem: ManifestProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.field === ''
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.field}: ${problem.message}`;
}

/** The manifest file of a project folder, or a UsageError saying which names were looked for. */
export function findManifest(dir: string, env: NodeJS.ProcessEnv): string {
  for (const candidate of MANIFEST_NAMES) {
    const file = join(dir, candidate);
    if (existsSync(file)) return file;
  }
  throw new UsageError(`No manifest in ${dir}: looked for ${MANIFEST_NAMES.join(', ')}`, [
    `Create one with \`${hint('init', env)}\`, or fetch the tenant’s with \`${hint('pull', env)}\`.`,
  ]);
}

/** A parsed YAML/JSON file that can say where a value is. */
interface Located {
  readonly value: unknown;
  locate(path: readonly PropertyKey[], key?: string): { line: number; column: number };
}

function parseLocated(display: string, text: string, json: boolean): Located {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: ManifestProblem[] = document.errors.map((error) => {
    const position = lines.linePos(error.pos[0]);
    return {
      file: display,
      line: position.line,
      column: position.col,
      field: '',
      message: error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ''),
    };
  });
  if (problems.length > 0) throw new ManifestError(display, problems);
  if (json) {
    try {
      JSON.parse(text);
    } catch (error) {
      const match = /line (\d+) column (\d+)/.exec((error as Error).message);
      throw new ManifestError(display, [
        {
          file: display,
          line: Number(match?.[1] ?? 1),
          column: Number(match?.[2] ?? 1),
          field: '',
          message: `not valid JSON: ${(error as Error).message}`,
        },
      ]);
    }
  }
  const position = (offset: number) => {
    const found = lines.linePos(offset);
    return { line: found.line, column: found.col };
  };
  let value: unknown;
  try {
    // Aliases are resolved here: one that names no anchor, or that expands too far, is refused.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const at = position(document.contents?.range?.[0] ?? 0);
    throw new ManifestError(display, [
      { file: display, ...at, field: '', message: `cannot be read: ${(error as Error).message}` },
    ]);
  }
  return {
    value,
    locate(path, key) {
      // The deepest node the path reaches; a missing field points at the map that lacks it.
      let node: unknown = document.contents;
      for (const part of path) {
        if (isMap(node)) {
          const pair = node.items.find(
            (item) => isScalar(item.key) && String(item.key.value) === String(part),
          );
          if (pair === undefined) break;
          node = pair.value ?? pair.key;
        } else if (isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
          node = node.items[part];
        } else break;
      }
      if (key !== undefined && isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
        if (pair !== undefined && isScalar(pair.key) && pair.key.range) return position(pair.key.range[0]);
      }
      const range = (node as Node | null)?.range;
      return position(range?.[0] ?? 0);
    },
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('.');
}

/** Reads and checks a project's manifest and every file it names. */
export async function loadManifest(dir: string, file: string): Promise<Manifest> {
  const display = relative(process.cwd(), file) || basename(file);
  const text = readText(file, display, MAX_MANIFEST_BYTES);
  const json = file.endsWith('.json');
  const located = parseLocated(display, text, json);
  const at = (path: readonly PropertyKey[], message: string, key?: string): ManifestProblem => ({
    file: display,
    ...located.locate(path, key),
    field: fieldPath(key === undefined ? path : [...path, key]),
    message,
  });

  if (located.value === null || typeof located.value !== 'object' || Array.isArray(located.value)) {
    throw new ManifestError(display, [at([], 'the manifest must be a mapping with `version: 1`')]);
  }
  // Every problem in one pass: the shape's, then the files' and references' of each entry whose own
  // shape is right, so a user fixes the manifest once instead of finding a second round after it.
  const parsed = manifestSchema.safeParse(located.value);
  const problems: ManifestProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) =>
        issue.code === 'unrecognized_keys'
          ? at(issue.path, `unknown field (known: ${knownFields(issue.path)})`, issue.keys[0])
          : at(issue.path, issue.message),
      );
  const raw = located.value as Record<string, unknown>;
  const scriptEntries = entriesOf(raw.scripts, scriptEntry);
  const skillEntries = entriesOf(raw.skills, skillEntry);
  const scriptNames = Object.keys(isMapping(raw.scripts) ? raw.scripts : {});

  const scripts: ManifestScript[] = [];
  const projectDir = resolve(dir);
  for (const [scriptName, entry] of scriptEntries) {
    const path = ['scripts', scriptName, 'file'];
    const target = insideProject(projectDir, entry.file);
    if (target === null) {
      problems.push(at(path, 'must be a path inside the project folder'));
      continue;
    }
    if (!existsSync(target) || !statSync(target).isFile()) {
      problems.push(at(path, `${entry.file} does not exist`));
      continue;
    }
    if (statSync(target).size > MAX_SCRIPT_FILE_BYTES) {
      problems.push(at(path, `${entry.file} exceeds ${MAX_SCRIPT_FILE_BYTES} bytes`));
      continue;
    }
    const source = readFileSync(target);
    const decoded = decodeUtf8(source);
    if (decoded === null) {
      problems.push(at(path, `${entry.file} is not UTF-8 text`));
      continue;
    }
    scripts.push({
      name: scriptName,
      file: toPosix(relative(projectDir, target)),
      source: decoded,
      activate: entry.activate,
      ...(entry.note === undefined ? {} : { note: entry.note }),
    });
  }

  const skills: ManifestSkill[] = [];
  for (const [skillName, entry] of skillEntries) {
    const base = ['skills', skillName];
    if (!scriptNames.includes(entry.script)) {
      const known = scriptNames;
      problems.push(
        at(
          [...base, 'script'],
          `no script named "${entry.script}" in scripts${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
        ),
      );
    }
    const approval = entry.approval ?? defaultApproval(entry.risk);
    if (APPROVAL_COUNT[approval] < MIN_APPROVALS[entry.risk]) {
      problems.push(
        at(
          [...base, 'approval'],
          `a ${entry.risk}-risk Skill needs at least ${MIN_APPROVALS[entry.risk]} approvals`,
        ),
      );
    }
    const schemas: Partial<Record<'inputSchema' | 'outputSchema', { schema: JsonSchema; file?: string }>> =
      {};
    for (const field of ['inputSchema', 'outputSchema'] as const) {
      const ref = entry[field];
      const loaded =
        typeof ref === 'string'
          ? loadSchemaFile(
              projectDir,
              ref,
              (message) => problems.push(at([...base, field], message)),
              problems,
            )
          : { schema: ref as JsonSchema };
      if (loaded === null) continue;
      try {
        await assertValidSchema(loaded.schema, field);
        schemas[field] = loaded;
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const issue = error.issues[0];
        const where = typeof ref === 'string' ? ` (in ${ref})` : '';
        problems.push(at([...base, field], `${issue?.message ?? error.message}${where}`));
      }
    }
    const input = schemas.inputSchema;
    const output = schemas.outputSchema;
    if (input === undefined || output === undefined) continue;
    skills.push({
      name: skillName,
      description: entry.description,
      script: entry.script,
      version: entry.version,
      ...(entry.agent === undefined ? {} : { agent: entry.agent }),
      inputSchema: input.schema,
      outputSchema: output.schema,
      schemaFiles: {
        ...(input.file === undefined ? {} : { input: input.file }),
        ...(output.file === undefined ? {} : { output: output.file }),
      },
      risk: entry.risk,
      approval,
      visibility: { roles: [...new Set(entry.visibility?.roles ?? [])] },
      limits: {
        timeoutSeconds: entry.limits?.timeoutSeconds ?? LIMIT_BOUNDS.timeoutSeconds.default,
        memoryMb: entry.limits?.memoryMb ?? LIMIT_BOUNDS.memoryMb.default,
      },
      tags: unique(entry.tags).sort(),
      egress: unique(entry.egress),
      collections: unique(entry.collections).sort(),
      parameters: unique(entry.parameters).sort(),
    });
  }
  if (problems.length > 0) throw new ManifestError(display, problems);
  return { dir: projectDir, file: resolve(file), format: json ? 'json' : 'yaml', scripts, skills };
}

function unique(values: readonly string[] | undefined): string[] {
  return [...new Set(values ?? [])];
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The entries of a `scripts` or `skills` mapping whose name and own shape are right, parsed. */
function entriesOf<T extends z.ZodType>(value: unknown, entry: T): [string, z.output<T>][] {
  if (!isMapping(value)) return [];
  return Object.entries(value).flatMap(([key, item]): [string, z.output<T>][] => {
    if (!name.safeParse(key).success) return [];
    const parsed = entry.safeParse(item);
    return parsed.success ? [[key, parsed.data]] : [];
  });
}

function knownFields(path: readonly PropertyKey[]): string {
  const shape =
    path.length === 0
      ? manifestSchema.shape
      : path[0] === 'scripts'
        ? scriptEntry.shape
        : path[0] === 'skills' && path.length === 2
          ? skillEntry.shape
          : path[0] === 'skills' && path[2] === 'limits'
            ? { timeoutSeconds: 0, memoryMb: 0 }
            : { roles: 0 };
  return Object.keys(shape).join(', ');
}

function loadSchemaFile(
  projectDir: string,
  ref: string,
  report: (message: string) => void,
  problems: ManifestProblem[],
): { schema: JsonSchema; file: string } | null {
  const target = insideProject(projectDir, ref);
  if (target === null) {
    report('must be a path inside the project folder');
    return null;
  }
  if (!existsSync(target) || !statSync(target).isFile()) {
    report(`${ref} does not exist`);
    return null;
  }
  if (!/\.(json|ya?ml)$/i.test(target)) {
    report(`${ref} must be a .json, .yaml or .yml file`);
    return null;
  }
  const display = relative(process.cwd(), target) || basename(target);
  try {
    const text = readText(target, display, MAX_MANIFEST_BYTES);
    return {
      schema: parseLocated(display, text, /\.json$/i.test(target)).value as JsonSchema,
      file: toPosix(relative(projectDir, target)),
    };
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    problems.push(...error.problems);
    return null;
  }
}

function readText(file: string, display: string, limit: number): string {
  const size = statSync(file).size;
  if (size > limit) {
    throw new ManifestError(display, [
      { file: display, line: 1, column: 1, field: '', message: `larger than ${limit} bytes` },
    ]);
  }
  const text = decodeUtf8(readFileSync(file));
  if (text === null) {
    throw new ManifestError(display, [
      { file: display, line: 1, column: 1, field: '', message: 'not UTF-8 text' },
    ]);
  }
  return text;
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** The absolute path of a project-relative file name, or null when it would leave the project. */
export function insideProject(projectDir: string, file: string): string | null {
  if (isAbsolute(file) || file.includes('\0')) return null;
  const target = resolve(projectDir, normalize(file));
  const rel = relative(projectDir, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return null;
  return target;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}
