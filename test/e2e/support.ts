/**
 * The browser side of the e2e suite: Debian's Chromium driven by playwright-core (never a browser
 * download of its own), a fresh profile per launch, one context per test, pages on the platform's
 * `*.localhost` hosts (Chromium resolves them to loopback), uncaught page errors collected so a
 * test can fail on them, and full-page screenshots under `test/e2e/screenshots/` (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { call, type TestResponse } from '../support/http.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { waitForRun } from '../support/session.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

/** Playwright gives every `launch` a fresh temporary profile (user-data dir) and removes it after. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

export interface TestPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught errors and console errors the page reported. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openPage(
  browser: Browser,
  options: { readonly width?: number; readonly height?: number } = {},
): Promise<TestPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A refused API call is logged by the browser as a failed resource load; the page shows it itself.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return { context, page, errors, close: () => context.close() };
}

export function siteUrl(host: string, port: number, path = '/'): string {
  return `http://${host}:${port}${path}`;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** Signs in through the host's own sign-in page. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The signed-in frame (the menu itself may be folded away on a phone).
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The labels of the main menu, in order (without the counts some menus show). */
export async function menuLabels(page: Page): Promise<string[]> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link').first().waitFor();
  return (await nav.locator('.menu-label').allTextContents()).map((text) => text.trim());
}

/** The text of a code editor (CodeMirror): its rendered lines, joined (short documents render whole). */
export async function editorText(page: Page, label: string): Promise<string> {
  const lines = await page.getByLabel(label, { exact: true }).locator('.cm-line').allTextContents();
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/** Horizontal overflow of the page, in CSS pixels (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  const widths = (await page.evaluate(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  )) as [number, number];
  return widths[0] - widths[1];
}

/** What a browser test file shares: one platform and one browser, started together before its tests. */
export interface BrowserSuite {
  readonly platform: TestPlatform;
  readonly browser: Browser;
  /** The platform's port, for `siteUrl`. */
  readonly port: number;
}

export interface BrowserSuiteOptions {
  /**
   * Whether a test fails when a page it opened reported an uncaught error or a console error.
   * `'checked by the tests'` leaves that to the tests themselves. @default 'fail'
   */
  readonly pageErrors?: 'fail' | 'checked by the tests';
  /** Extra time for starting the platform and the browser. @default vitest's hook timeout */
  readonly startTimeoutMs?: number;
}

/**
 * Registers a browser test file's hooks: before its tests, the test platform (seeded, in memory) and
 * Chromium start together and `ready` runs (sign-ins the tests share); after each test, the pages
 * it opened are checked for errors they reported and closed; after the file, both stop. Returns
 * `page` (a page in a fresh context, so its own cookie jar and storage) and `api` (a call on the
 * platform as a session).
 */
export function browserSuite(
  password: string,
  ready: (suite: BrowserSuite) => Promise<void> | void = () => undefined,
  options: BrowserSuiteOptions = {},
) {
  let suite: BrowserSuite | undefined;
  const open: TestPage[] = [];
  const started = (): BrowserSuite => {
    if (suite === undefined) throw new Error('the browser suite has not started (call it from a test)');
    return suite;
  };

  beforeAll(async () => {
    const [platform, browser] = await Promise.all([startTestPlatform(password), launchBrowser()]);
    suite = { platform, browser, port: platform.platform.port };
    await ready(suite);
  }, options.startTimeoutMs);

  afterEach(async () => {
    for (const opened of open.splice(0)) {
      // No test may leave an uncaught error behind in a page.
      if (options.pageErrors !== 'checked by the tests')
        expect(opened.errors, 'errors reported by the page').toEqual([]);
      await opened.close();
    }
  });

  afterAll(async () => {
    await suite?.browser.close();
    await suite?.platform.stop();
  });

  return {
    async page(size: { readonly width?: number; readonly height?: number } = {}): Promise<TestPage> {
      const opened = await openPage(started().browser, size);
      open.push(opened);
      return opened;
    },
    api(host: string, token: string, method: string, path: string, body?: unknown): Promise<TestResponse> {
      return call(started().platform.platform.url, { host, token, method, path, body });
    },
    /** Opens `path` on `host` in `tab` and signs in there as `username`, with the suite's password. */
    async signedIn(tab: Page, host: string, path: string, username: string): Promise<void> {
      await tab.goto(siteUrl(host, started().port, path));
      await signIn(tab, username, password);
    },
    /** The run once it has ended, read through the API as `token` on `host` (every 150 ms, 30 s at most). */
    finished(host: string, token: string, id: string): Promise<TestResponse['body']> {
      return waitForRun({ url: started().platform.platform.url, host, token }, id, {
        timeoutMs: 30_000,
        intervalMs: 150,
      });
    },
  };
}
