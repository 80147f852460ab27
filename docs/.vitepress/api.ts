/**
 * The three APIs' OpenAPI documents, built from the same route tables the APIs serve (building the
 * tables touches no database), and their rendering as reference pages.
 */

import { documentClient } from '../../functions/clients/dynamodb.ts';
import { builtCore } from '../../functions/core/assembly/sign-in.ts';
import { ENV } from '../../functions/core/env.ts';
import { createCore } from '../../functions/core/platform.ts';
import { freeRoutes } from '../../functions/free-api/routes.ts';
import { governanceRoutes } from '../../functions/governance-api/routes.ts';
import { type ApiSurface, withOpenApi } from '../../functions/http/openapi.ts';
import { openApiDocument } from '../../functions/http/openapi-document.ts';
import { loadRoutes } from '../../functions/http/router.ts';
import { tenantRoutes } from '../../functions/tenant-api/routes.ts';

export const API_NAMES = ['tenant', 'governance', 'free'] as const satisfies readonly ApiSurface[];

export type ApiDocument = ReturnType<typeof openApiDocument>;

/** Loads every group of the tables (router.ts `lazyRoutes`), as the documents' own route does. */
export async function apiDocuments(): Promise<Record<ApiSurface, ApiDocument>> {
  const core = createCore({
    table: { client: documentClient({ [ENV.dynamodbEndpoint]: 'http://127.0.0.1:1' }), name: 'docs' },
  });
  const of = async (surface: ApiSurface, routes: Parameters<typeof withOpenApi>[1]) =>
    openApiDocument(surface, await loadRoutes(withOpenApi(surface, routes)));
  return {
    tenant: await of('tenant', tenantRoutes(builtCore(core))),
    governance: await of('governance', governanceRoutes(builtCore(core))),
    free: await of(
      'free',
      freeRoutes(async () => core.free),
    ),
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const HOST_OF: Readonly<Record<ApiSurface, string>> = {
  tenant: 'every tenant host (e.g. `acme.localhost`)',
  governance: 'the governance console host (e.g. `admin.localhost`)',
  free: 'the free edition host (e.g. `free.localhost`)',
};

/** Text safe in Markdown that Vue also compiles: no tags, no mustaches. */
function text(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\{\{/g, '&#123;&#123;')
    .replace(/\|/g, '\\|');
}

function asObj(value: unknown): Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {};
}

/** A `$ref` to a component, resolved for display (the schema itself stays in the JSON download). */
function resolveRef(document: Obj, schema: Obj): Obj {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let node: Json = document;
  for (const part of ref.slice(2).split('/'))
    node = asObj(node)[part.replace(/~1/g, '/').replace(/~0/g, '~')] ?? null;
  return asObj(node);
}

function schemaBlock(schema: Json): string {
  return ['```json', JSON.stringify(schema, null, 2), '```'].join('\n');
}

function anchor(method: string, path: string): string {
  return `${method}-${path}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** A tag's part of a page name: `Extension data` → `extension-data`. */
export function tagSlug(tag: string): string {
  return tag
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** One generated page of the reference: `docs/reference/<slug>.md`. */
export interface ReferencePage {
  readonly slug: string;
  readonly title: string;
  readonly markdown: string;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operation: Obj;
}

/** The operations of `tag`, in the document's order. */
function operationsOf(paths: Obj, tag: string): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, raw] of Object.entries(asObj(item))) {
      const operation = asObj(raw);
      const operationTags = Array.isArray(operation.tags) ? operation.tags : [];
      if (operationTags.includes(tag)) operations.push({ method, path, operation });
    }
  }
  return operations;
}

function operationMarkdown(doc: Obj, { method, path, operation }: Operation): string[] {
  const lines = [`## ${method.toUpperCase()} ${text(path)} {#${anchor(method, path)}}`, ''];
  lines.push(`${text(operation.summary)}. ${text(operation.description)}`, '');
  const parameters = (Array.isArray(operation.parameters) ? operation.parameters : []).map(asObj);
  if (parameters.length > 0) {
    lines.push('| parameter | in | required | schema | description |', '| --- | --- | --- | --- | --- |');
    for (const parameter of parameters) {
      const schema = asObj(parameter.schema);
      lines.push(
        `| \`${text(parameter.name)}\` | ${text(parameter.in)} | ${parameter.required === true ? 'yes' : 'no'} | \`${text(JSON.stringify(schema))}\` | ${text(parameter.description ?? schema.description ?? '')} |`,
      );
    }
    lines.push('');
  }
  const body = asObj(operation.requestBody);
  const bodySchema = asObj(asObj(asObj(body.content)['application/json']).schema);
  if (Object.keys(bodySchema).length > 0) {
    lines.push(`**Request body** (\`application/json\`${body.required === true ? ', required' : ''}):`, '');
    lines.push(schemaBlock(resolveRef(doc, bodySchema)), '');
  }
  lines.push('**Answers**', '', '| status | media type | description |', '| --- | --- | --- |');
  const shown: string[] = [];
  for (const [status, rawResponse] of Object.entries(asObj(operation.responses))) {
    const response = asObj(rawResponse);
    const content = asObj(response.content);
    const types = Object.keys(content);
    lines.push(
      `| ${status} | ${types.map((type) => `\`${text(type)}\``).join(', ') || '—'} | ${text(response.description)} |`,
    );
    const first = types[0];
    if (first !== undefined && status.startsWith('2')) {
      const schema = asObj(asObj(content[first]).schema);
      if (Object.keys(schema).length > 0)
        shown.push(
          `<details><summary>${status} body schema</summary>\n\n${schemaBlock(resolveRef(doc, schema))}\n\n</details>`,
        );
    }
  }
  lines.push('', ...shown, '');
  return lines;
}

/**
 * One API's reference: an overview page (`<api>`: what it is, where it is served, each tag with its
 * operations linked) and a page per tag (`<api>-<tag>`: each operation with parameters, body and
 * answers). One page per API weighed up to 900 KB of script in the browser (every JSON schema
 * highlighted); a tag's page is a fraction of it, and the overview lists everything on one screen.
 */
export function referencePages(surface: ApiSurface, document: ApiDocument): ReferencePage[] {
  const doc = document as unknown as Obj;
  const info = asObj(doc.info);
  const paths = asObj(doc.paths);
  const tags = (Array.isArray(doc.tags) ? doc.tags : []).map(asObj);
  const title = text(info.title);
  const served = `Served on ${HOST_OF[surface]}; its OpenAPI 3.1 document is \`GET /api/openapi.json\` on that host, and [${surface}.json](/openapi/${surface}.json) here (version ${text(info.version)}).`;
  const overview: string[] = [
    `# ${title}`,
    '',
    text(info.description),
    '',
    served,
    "Every error is `application/problem+json`; an operation's `default` answer is that problem.",
    '',
  ];
  const pages: ReferencePage[] = [];
  for (const tag of tags) {
    const name = text(tag.name);
    const slug = `${surface}-${tagSlug(String(tag.name ?? ''))}`;
    const operations = operationsOf(paths, String(tag.name ?? ''));
    overview.push(`## ${name}`, '', text(tag.description), '');
    for (const { method, path, operation } of operations) {
      overview.push(
        `- [\`${method.toUpperCase()} ${text(path)}\`](./${slug}.md#${anchor(method, path)}) — ${text(operation.summary)}`,
      );
    }
    overview.push('');
    const page = [`# ${title}: ${name}`, '', text(tag.description), '', served, ''];
    for (const operation of operations) page.push(...operationMarkdown(doc, operation));
    pages.push({ slug, title: `${title}: ${name}`, markdown: page.join('\n') });
  }
  return [{ slug: surface, title, markdown: overview.join('\n') }, ...pages];
}

export interface SearchSection {
  readonly anchor: string;
  readonly titles: string[];
  readonly text: string;
}

/** A Markdown table's rule, `| --- | --- |`: the row above it is the table's header. */
const TABLE_RULE = /^\|(?:\s*-{3,}\s*\|)+$/;

/**
 * What a reader may search a reference section for: its prose, and each table row's name, status
 * and description. Not the scaffolding the page draws them with — table headers and rules, the
 * `<details>` around a body schema, the schema itself, the JSON schemas and media types in cells —
 * which ~250 operations each repeated: it made the search index (one chunk, loaded when the search
 * opens) 597 kB, the one chunk of the sites over Vite's 500 kB warning.
 */
function searchText(lines: readonly string[]): string {
  return (
    lines
      .filter((line, index) => !TABLE_RULE.test(line) && !TABLE_RULE.test(lines[index + 1] ?? ''))
      .filter((line) => !/^<\/?details>/.test(line))
      .join(' ')
      .replace(/```json[\s\S]*?```/g, ' ')
      // A table cell's JSON schema (its descriptions may quote code in backticks of their own).
      .replace(/`\{.*?\}`(?= \|)/g, ' ')
      .replace(/`[a-z]+\/[a-z0-9.+-]+`/g, ' ')
      .replace(/[`*|]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * The search sections of a reference page. VitePress's local search reads each page's source file,
 * and a generated page has none of its own, so its sections are made here from the same Markdown:
 * one per heading, titled by the page and the heading (an overview's tag, a tag page's operation),
 * holding `searchText`.
 */
export function referenceSections(markdown: string): SearchSection[] {
  const sections: SearchSection[] = [];
  let page = '';
  let tag = '';
  let current: { anchor: string; titles: string[]; lines: string[] } | undefined;
  const close = () => {
    if (current !== undefined) {
      sections.push({
        anchor: current.anchor,
        titles: current.titles,
        text: searchText(current.lines),
      });
    }
  };
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,3}) (.+?)(?: \{#([a-z0-9-]+)\})?$/.exec(line);
    if (heading === null) {
      current?.lines.push(line);
      continue;
    }
    close();
    const [, hashes = '', title = '', explicit] = heading;
    const anchor =
      explicit ??
      title
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '');
    if (hashes === '#') {
      page = title;
      current = { anchor: '', titles: [page], lines: [] };
    } else if (hashes === '##') {
      tag = title;
      current = { anchor, titles: [page, tag], lines: [] };
    } else {
      current = { anchor, titles: [page, tag, title], lines: [] };
    }
  }
  close();
  return sections;
}
