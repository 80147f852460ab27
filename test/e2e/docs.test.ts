/**
 * The docs site as a reader meets it, on `docs.localhost` of the embedded platform: Chromium walks
 * the navigation (top bar and every sidebar entry, each page with its own heading and no page error)
 * and searches (the local search index finds a page by a word of its body and opens it); a link check
 * crawls every built page over HTTP and finds each internal link's page — and each `#fragment`'s
 * element — there. External links are listed, not fetched (the suite runs offline).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../lib/local/platform.ts';
import { call } from '../support/http.ts';
import { launchBrowser, openPage, screenshot, siteUrl } from './support.ts';

const DOCS = 'docs.localhost';

/** A page's title as a reader sees it (the heading's anchor is a zero-width space). */
async function title(page: Page): Promise<string> {
  return ((await page.locator('.vp-doc h1').first().textContent()) ?? '').replace(/[\u200b\s]+/g, ' ').trim();
}

let platform: LocalPlatform;
let browser: Browser;

beforeAll(async () => {
  platform = await startLocalPlatform({ port: 0, dataDir: null, schedules: false, log: () => undefined });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

describe('the docs site on docs.localhost', () => {
  it('walks the navigation: the top bar and every sidebar entry open their page', async () => {
    const { page, errors, close } = await openPage(browser);
    try {
      await page.goto(siteUrl(DOCS, platform.port, '/'));
      await page.getByRole('link', { name: 'What ExecFabric is' }).first().click();
      await expect.poll(() => title(page)).toBe('What ExecFabric is');
      const sidebar = page.locator('.VPSidebar');
      const entries = await sidebar.locator('a.VPLink').evaluateAll((links) =>
        links.map((link) => ({
          text: (link.textContent ?? '').trim(),
          href: link.getAttribute('href') ?? '',
        })),
      );
      expect(entries.length).toBeGreaterThan(20);
      for (const entry of [
        'Concepts',
        'Writing scripts',
        'Approvals',
        'Tenant API',
        'Roadmap',
        'Changelog',
      ]) {
        expect(entries.map((item) => item.text)).toContain(entry);
      }
      for (const entry of entries) {
        // Client-side navigation, as a reader clicks: the page changes without a reload.
        await sidebar.locator(`a.VPLink[href="${entry.href}"]`).first().click();
        await page.waitForURL((url) => url.pathname === new URL(entry.href, page.url()).pathname);
        const heading = await title(page);
        expect(heading, entry.href).not.toBe('');
        expect(heading, entry.href).not.toMatch(/404|not found/i);
      }
      await page.getByRole('navigation').getByRole('link', { name: 'API', exact: true }).click();
      await expect.poll(() => title(page)).toBe('API reference');
      await screenshot(page, 'docs-api');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 180_000);

  it('searches: a word from a page body finds the page, and the result opens it', async () => {
    const { page, errors, close } = await openPage(browser);
    try {
      await page.goto(siteUrl(DOCS, platform.port, '/guide/'));
      await page
        .getByRole('button', { name: /search/i })
        .first()
        .click();
      const box = page.getByPlaceholder(/search/i);
      await box.fill('separation of duties');
      const result = page.locator('.VPLocalSearchBox .result').first();
      await expect.poll(() => result.textContent()).toContain('Approvals');
      await result.click();
      await page.waitForURL(/\/guide\/approvals\.html/);
      await expect.poll(() => title(page)).toBe('Approvals');
      // The generated API reference is in the index too.
      await page
        .getByRole('button', { name: /search/i })
        .first()
        .click();
      await page.getByPlaceholder(/search/i).fill('confirm-payment');
      await expect
        .poll(() => page.locator('.VPLocalSearchBox .results').textContent())
        .toMatch(/governance API[\s\S]*confirm-payment/i);
      await screenshot(page, 'docs-search');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('serves clean and .html paths, the OpenAPI documents, and a problem for a missing page asked by an API client', async () => {
    const get = (path: string) => call(platform.url, { host: DOCS, path });
    const concepts = await get('/guide/concepts');
    expect(concepts.status).toBe(200);
    expect(concepts.text).toContain('Concepts');
    expect((await get('/guide/concepts.html')).status).toBe(200);
    const document = await get('/openapi/tenant.json');
    expect(document.status).toBe(200);
    expect(document.body.openapi).toBe('3.1.0');
    const missing = await get('/guide/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    expect(missing.body.instance).toEqual(expect.any(String));
    // The docs host has no API of its own; its API paths reach no console.
    const api = await get('/api/health');
    expect(api.status).toBe(404);
    expect(api.body.type).toBe('urn:execfabric:problem:unknown-host');
  });

  it('shows a browser the site’s own 404 page for a missing page, with the status 404', async () => {
    const { page, close } = await openPage(browser);
    try {
      const answer = await page.goto(siteUrl(DOCS, platform.port, '/guide/nope'));
      expect(answer?.status()).toBe(404);
      expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
      expect(await page.title()).toMatch(/^404/);
      expect(await page.content()).not.toContain('urn:execfabric:problem');
      await screenshot(page, 'docs-not-found');
    } finally {
      await close();
    }
  });

  it('has no broken link: every internal link and fragment of every built page resolves', async () => {
    const pages = new Map<string, string>();
    const queue = ['/'];
    const links: { from: string; to: string }[] = [];
    const external = new Set<string>();
    const assets = new Set<string>();
    while (queue.length > 0) {
      const path = queue.shift() ?? '/';
      if (pages.has(path)) continue;
      const response = await call(platform.url, { host: DOCS, path });
      expect(response.status, `${path} (linked from ${links.find((link) => link.to === path)?.from})`).toBe(
        200,
      );
      pages.set(path, response.text);
      const base = new URL(path, `http://${DOCS}`);
      for (const match of response.text.matchAll(/\s(href|src)="([^"]+)"/g)) {
        const raw = (match[2] ?? '').replace(/&amp;/g, '&');
        if (/^(mailto:|javascript:|data:)/.test(raw)) continue;
        const url = new URL(raw, base);
        if (url.host !== DOCS) {
          external.add(url.href);
          continue;
        }
        const target = url.pathname + url.hash;
        links.push({ from: path, to: target });
        if (url.pathname.endsWith('.html') || url.pathname.endsWith('/')) {
          if (!pages.has(url.pathname) && !queue.includes(url.pathname)) queue.push(url.pathname);
        } else {
          assets.add(url.pathname);
        }
      }
    }
    for (const asset of assets) {
      const response = await call(platform.url, { host: DOCS, path: asset });
      expect(response.status, asset).toBe(200);
    }
    const broken: string[] = [];
    for (const { from, to } of links) {
      const [pathname, fragment] = to.split('#') as [string, string | undefined];
      if (fragment === undefined || fragment === '') continue;
      const html = pages.get(pathname);
      if (html === undefined) continue;
      const id = decodeURIComponent(fragment);
      if (!html.includes(`id="${id}"`)) broken.push(`${from} → ${to}`);
    }
    expect(broken).toEqual([]);
    expect(pages.size).toBeGreaterThan(30);
    process.stdout.write(
      `docs link check: ${pages.size} pages, ${links.length} internal links, ${assets.size} assets, ${external.size} external links (not fetched)\n`,
    );
  }, 120_000);
});
