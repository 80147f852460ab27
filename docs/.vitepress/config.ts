/**
 * The documentation site (VitePress): `docs/` is its source, `frontend/build.ts` builds it into
 * `frontend/dist/docs` with the other sites, and the edge serves it on the docs hosts
 * (`docs.localhost` locally). Navigation and the sidebar are declared here; the decisions are listed
 * from their folder; the API reference pages are generated from the OpenAPI documents at build time
 * (docs/reference/[api].paths.ts), which are also published as JSON under /openapi/.
 * See docs/decisions/docs-site.md.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitepress';
import { SITE_ICON } from '../../frontend/icon.ts';
import {
  API_NAMES,
  type ApiDocument,
  apiDocuments,
  type ReferencePage,
  referencePages,
  referenceSections,
} from './api.ts';
import { indexedTerm, searchedHtml } from './search.ts';

const DOCS = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// The route tables load their groups asynchronously (functions/http/router.ts `lazyRoutes`).
const built: Record<(typeof API_NAMES)[number], ApiDocument> = await apiDocuments();
function documents() {
  return built;
}

const pages = new Map<string, ReferencePage[]>();
/** Every generated reference page of one API: its overview first, then a page per tag. */
function pagesOf(api: (typeof API_NAMES)[number]): ReferencePage[] {
  let made = pages.get(api);
  if (made === undefined) {
    made = referencePages(api, documents()[api]);
    pages.set(api, made);
  }
  return made;
}

/** An API's sidebar entry: its overview, its tags below it. */
function apiSidebar(text: string, api: (typeof API_NAMES)[number]) {
  const [, ...tags] = pagesOf(api);
  return {
    text,
    link: `/reference/${api}`,
    collapsed: true,
    items: tags.map((page) => ({ text: page.title.replace(/^.*?: /, ''), link: `/reference/${page.slug}` })),
  };
}

/** Every decision record, titled by its first heading. */
function decisions() {
  return readdirSync(join(DOCS, 'decisions'))
    .filter((file) => file.endsWith('.md') && file !== 'index.md')
    .sort()
    .map((file) => {
      const heading = /^# (.+)$/m.exec(readFileSync(join(DOCS, 'decisions', file), 'utf8'));
      return {
        text: (heading?.[1] ?? file).replace(/`/g, ''),
        link: `/decisions/${file.replace(/\.md$/, '')}`,
      };
    });
}

export default defineConfig({
  title: 'ExecFabric',
  description:
    'Govern and run capabilities — Skills bound to Python scripts or HTTP resources — for many customers.',
  lang: 'en',
  cleanUrls: false,
  // Every link is checked at build time; a dead one fails the build.
  ignoreDeadLinks: false,
  lastUpdated: false,
  markdown: {
    // Inline code is literal text: `{{resolve:…}}` in a page is not a Vue interpolation.
    config(md) {
      const inline = md.renderer.rules.code_inline;
      md.renderer.rules.code_inline = (tokens, index, options, env, self) => {
        tokens[index]?.attrSet('v-pre', '');
        return inline === undefined
          ? self.renderToken(tokens, index, options)
          : inline(tokens, index, options, env, self);
      };
    },
  },
  head: [
    ['meta', { name: 'theme-color', content: '#3451b2' }],
    ['link', { rel: 'icon', type: 'image/svg+xml', href: SITE_ICON }],
  ],
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/', activeMatch: '^/guide/' },
      { text: 'Scripts', link: '/guide/scripts', activeMatch: '^/(guide/scripts|ctx)' },
      { text: 'Operate', link: '/deploy', activeMatch: '^/(deploy|guide/(operating|super-admins))' },
      { text: 'API', link: '/reference/', activeMatch: '^/reference/' },
      { text: 'Roadmap', link: '/roadmap' },
      { text: 'Changelog', link: '/changelog' },
    ],
    sidebar: [
      {
        text: 'Introduction',
        items: [
          { text: 'What ExecFabric is', link: '/guide/' },
          { text: 'Concepts', link: '/guide/concepts' },
        ],
      },
      {
        text: 'Using it',
        items: [
          { text: 'Onboarding a customer', link: '/guide/onboarding' },
          { text: 'Writing scripts', link: '/guide/scripts' },
          { text: 'The ctx reference', link: '/ctx' },
          { text: 'Hot update and rollback', link: '/guide/hot-update' },
          { text: 'Approvals', link: '/guide/approvals' },
          { text: 'Schedules', link: '/guide/schedules' },
          { text: 'HTTP resources', link: '/guide/http-resources' },
          { text: 'The CLI and local agents', link: '/guide/cli' },
          { text: 'AI access over MCP', link: '/guide/mcp' },
        ],
      },
      {
        text: 'Running it',
        items: [
          { text: 'Deploying to AWS and onboarding domains', link: '/deploy' },
          { text: 'Customers, orders and templates', link: '/guide/super-admins' },
          { text: 'Operating', link: '/guide/operating' },
        ],
      },
      {
        text: 'API reference',
        items: [
          { text: 'Overview', link: '/reference/' },
          apiSidebar('Tenant API', 'tenant'),
          apiSidebar('Governance API', 'governance'),
          apiSidebar('Free edition API', 'free'),
        ],
      },
      {
        text: 'Project',
        items: [
          { text: 'Roadmap', link: '/roadmap' },
          { text: 'Changelog', link: '/changelog' },
          { text: 'Decisions', link: '/decisions/', collapsed: true, items: decisions() },
        ],
      },
    ],
    search: {
      provider: 'local',
      options: {
        _render: searchedHtml,
        miniSearch: {
          options: { processTerm: indexedTerm },
          // The generated API reference pages have no source file for the index to read.
          _splitIntoSections(file: string) {
            const slug = /reference[/\\]([a-z0-9-]+)\.md$/.exec(file)?.[1];
            const page = API_NAMES.flatMap(pagesOf).find((candidate) => candidate.slug === slug);
            return page === undefined ? undefined : referenceSections(page.markdown);
          },
        },
      },
    },
    outline: { level: [2, 3] },
    footer: { message: 'ExecFabric — one core, many entries.' },
  },
  /** The OpenAPI documents the reference pages are made from, published next to them. */
  buildEnd(site) {
    mkdirSync(join(site.outDir, 'openapi'), { recursive: true });
    for (const name of API_NAMES) {
      writeFileSync(
        join(site.outDir, 'openapi', `${name}.json`),
        `${JSON.stringify(documents()[name], null, 2)}\n`,
      );
    }
  },
});
