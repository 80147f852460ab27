/**
 * The generated API reference: per API an overview and a page per tag. Every operation of the
 * OpenAPI document is on exactly one tag page, under the anchor the overview links to, so splitting
 * the reference loses nothing and no overview link points at a heading that is not there.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API_NAMES,
  type ApiDocument,
  apiDocuments,
  type ReferencePage,
  referencePages,
  referenceSections,
} from '../../../docs/.vitepress/api.ts';

let documents: Record<(typeof API_NAMES)[number], ApiDocument>;
beforeAll(async () => {
  documents = await apiDocuments();
});

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

function operationCount(document: ApiDocument): number {
  return Object.values(document.paths as Record<string, Record<string, unknown>>).reduce(
    (total, item) => total + Object.keys(item).filter((key) => HTTP_METHODS.has(key)).length,
    0,
  );
}

/** `## POST /api/x {#post-api-x}` headings of a tag page, by anchor. */
function operationAnchors(page: ReferencePage): string[] {
  return [...page.markdown.matchAll(/^## [A-Z]+ \S+ \{#([a-z0-9-]+)\}$/gm)].map((match) => match[1] ?? '');
}

describe.each(API_NAMES)('the %s API reference', (api) => {
  it('has an overview, then one page per tag, named <api>-<tag>', () => {
    const pages = referencePages(api, documents[api]);
    const tags = (documents[api].tags as { name: string }[]).map((tag) => tag.name);
    expect(pages[0]?.slug).toBe(api);
    expect(pages).toHaveLength(tags.length + 1);
    for (const page of pages.slice(1))
      expect(page.slug).toMatch(new RegExp(`^${api}-[a-z0-9]+(-[a-z0-9]+)*$`));
    expect(new Set(pages.map((page) => page.slug)).size).toBe(pages.length);
  });

  it('puts every operation on exactly one tag page, where the overview links to it', () => {
    const [overview, ...tagPages] = referencePages(api, documents[api]);
    const anchors = tagPages.flatMap((page) =>
      operationAnchors(page).map((anchor) => `${page.slug}#${anchor}`),
    );
    expect(anchors).toHaveLength(operationCount(documents[api]));
    expect(new Set(anchors).size).toBe(anchors.length);
    const links = [...(overview?.markdown ?? '').matchAll(/\]\(\.\/([a-z0-9-]+)\.md#([a-z0-9-]+)\)/g)].map(
      (match) => `${match[1]}#${match[2]}`,
    );
    expect(links.sort()).toEqual([...anchors].sort());
  });

  it('gives the search one section per operation, titled by its API and tag', () => {
    for (const page of referencePages(api, documents[api]).slice(1)) {
      const sections = referenceSections(page.markdown).filter((section) => section.anchor !== '');
      expect(sections.map((section) => section.anchor)).toEqual(operationAnchors(page));
      for (const section of sections) expect(section.titles[0]).toBe(page.title);
    }
  });

  it("indexes an operation's words, not the tables, HTML and schemas drawn around them", () => {
    for (const page of referencePages(api, documents[api])) {
      for (const section of referenceSections(page.markdown)) {
        expect(section.text).not.toMatch(/---|<\/?(details|summary)>|body schema|media type|\{"/);
      }
    }
    const runs = referencePages(api, documents[api])
      .flatMap((page) => referenceSections(page.markdown))
      .find((section) => section.anchor === 'get-api-health');
    // What a reader searches for stays: the summary, and each answer's status and description.
    expect(runs?.text).toMatch(/^\S.*200 /);
  });
});
