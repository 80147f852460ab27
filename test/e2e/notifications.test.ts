/**
 * The tenant's notifications, in a real browser, as a new user's trial found them: one run waiting
 * for approval made two cards on the approver's home page (its "Approval needed" notice as a banner,
 * and the "Waiting for you" card counting it), and the same moment was written two ways (the
 * notice's body in the API's `8 Dec 2026, 03:31 UTC`, the cards' dates in the browser's locale).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.ts';
import { type Send, scriptSkill } from '../support/runs.ts';
import { browserSuite, screenshot, siteUrl } from './support.ts';

const PASSWORD = 'e2e-notifications-password';
const ACME = 'acme.localhost';
/** `readableUtc`'s format, the API's. */
const READABLE_UTC = /^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2} UTC$/;

let platform: TestPlatform;
let port: number;
let alice: string;
let bob: string;

const { page, api, signedIn } = browserSuite(PASSWORD, async (suite) => {
  ({ platform, port } = suite);
  [alice, bob] = await Promise.all([platform.login(ACME, 'alice'), platform.login(ACME, 'bob')]);
});

/** Every date the page's main area shows (`<time>`), as written. */
async function shownDates(tab: Page): Promise<string[]> {
  return (await tab.locator('main time').allTextContents()).map((text) => text.trim());
}

describe('notifications', () => {
  it('one run waiting for approval is one card on the home page, and every date is in one format', async () => {
    const send: Send = (token, method, path, body) => api(ACME, token, method, path, body);
    const made = await scriptSkill(send, alice, 'def main(inputs, ctx):\n    return {"ok": True}\n', {
      scriptName: 'vote.py',
      skill: { name: 'Vote', risk: 'medium', approval: 'one' },
    });
    const requested = await api(ACME, bob, 'POST', `/api/skills/${made.skillId}/executions`, { input: {} });
    expect(requested.status, requested.text).toBe(202);
    const posted = await api(ACME, alice, 'POST', '/api/announcements', {
      title: 'Maintenance',
      body: 'Nothing changes for you.',
      severity: 'info',
    });
    expect(posted.status, posted.text).toBe(201);

    const { page: tab } = await page();
    await signedIn(tab, ACME, '/home', 'alice');
    const waiting = tab.getByRole('region', { name: 'Waiting for you' });
    const notice = waiting.getByRole('article', { name: 'Approval needed: Vote' });
    await notice.waitFor();
    await tab.getByRole('region', { name: 'Maintenance' }).waitFor();
    await screenshot(tab, 'tenant-home-one-approval');
    // One card (a section card or a banner) speaks of the waiting run, and the other notice keeps its own.
    const cards = tab.locator('main').locator('.card, .banner');
    expect(await cards.filter({ hasText: 'Vote' }).count()).toBe(1);
    expect(await cards.filter({ hasText: 'Maintenance' }).count()).toBe(1);
    expect(await waiting.textContent()).toContain('1 run waits for your approval.');
    const deadline = /before (.+ UTC)\./.exec((await notice.textContent()) ?? '')?.[1];
    expect(deadline).toMatch(READABLE_UTC);

    // The header's count and a re-read of the notices (after marking the other one read) make no second card.
    await tab
      .getByRole('region', { name: 'Maintenance' })
      .getByRole('button', { name: 'Mark as read' })
      .click();
    await tab.getByRole('region', { name: 'Maintenance' }).waitFor({ state: 'detached' });
    expect(await cards.filter({ hasText: 'Vote' }).count()).toBe(1);
    expect(await waiting.getByRole('article').count()).toBe(1);

    // The inbox's card says the run's expiry as the notice did, and its other dates the same way.
    await tab.goto(siteUrl(ACME, port, '/approvals'));
    const card = tab.getByRole('article', { name: 'Run of Vote by bob' });
    await card.waitFor();
    expect(await tab.getByRole('article', { name: /^Run of / }).count()).toBe(1);
    const inboxDates = await shownDates(tab);
    expect(inboxDates.length).toBe(2);
    for (const date of inboxDates) expect(date).toMatch(READABLE_UTC);
    expect(inboxDates).toContain(deadline);

    // The announcements page too.
    await tab.goto(siteUrl(ACME, port, '/announcements'));
    await tab.getByRole('list', { name: 'Announcements' }).waitFor();
    const listed = await shownDates(tab);
    expect(listed.length).toBe(2);
    for (const date of listed) expect(date).toMatch(READABLE_UTC);
  }, 120_000);
});
