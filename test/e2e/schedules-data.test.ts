/**
 * Issue 17 in a real browser: a tenant admin defines a collection in the Data page and adds a record
 * with its JSON value; a script run writes to it and the page shows the new version; the admin
 * schedules the Skill from the Schedules page, sees its next fire times, fires it by hand and finds
 * the fire in the schedule's log, linked to its run.
 */
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-schedules-password-1';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let port: number;

const { page: openTab } = browserSuite(PASSWORD, (suite) => {
  ({ platform, port } = suite);
});

describe('schedules and data in the tenant front', () => {
  it('an admin defines a collection, schedules a Skill that writes to it, and follows a fire to its run', async () => {
    const opened = await openTab();
    const { page } = opened;
    await page.goto(siteUrl(ACME, port, '/data'));
    await signIn(page, 'alice', PASSWORD);
    await page.getByRole('link', { name: 'Data' }).click();
    await page.getByRole('heading', { name: 'Data', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New collection' }).click();
    await page.getByLabel('Name (lowercase, digits, _ and -)').fill('visits');
    await page
      .getByLabel('Record JSON Schema')
      .fill('{"type":"object","properties":{"count":{"type":"integer"}},"required":["count"]}');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('heading', { name: 'visits', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New record' }).click();
    await page.getByLabel('Key', { exact: true }).fill('home');
    await page.getByLabel('Value (JSON)').fill('{"count": 1}');
    await page.getByRole('button', { name: 'Add record' }).click();
    await page.getByRole('cell', { name: 'home' }).waitFor();

    // A Skill whose script counts visits in the collection.
    const alice = await platform.login(ACME, 'alice');
    const script = await call(platform.platform.url, {
      host: ACME,
      token: alice,
      method: 'POST',
      path: '/api/assets/scripts',
      body: {
        name: 'count.py',
        source:
          'def main(inputs, ctx):\n    visits = ctx.data.collection("visits")\n    record = visits.get("home")\n    version = visits.put("home", {"count": record.value["count"] + 1}, expected_version=record.version)\n    return {"version": version}\n',
      },
    });
    const skill = await call(platform.platform.url, {
      host: ACME,
      token: alice,
      method: 'POST',
      path: '/api/skills',
      body: {
        name: 'Count a visit',
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        risk: 'low',
        asset: { kind: 'python-script', id: script.body.id, version: 'active' },
        collections: ['visits'],
      },
    });
    expect(skill.status, skill.text).toBe(201);

    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Hourly visit');
    await page.getByLabel('Skill', { exact: true }).selectOption({ label: 'Count a visit' });
    await page.getByLabel('Every…').check();
    await page.getByLabel('Every', { exact: true }).fill('1');
    await page.getByLabel('Unit').selectOption('hours');
    await page.getByLabel('Time zone (IANA)').fill('Europe/Paris');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByRole('heading', { name: 'Hourly visit', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Next fire times' }).waitFor();
    await expect(page.locator('ol.upcoming li').count()).resolves.toBe(5);

    // The menu's link (the schedule's page links back to the list too).
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('button', { name: 'Fire now' }).click();
    // The scheduling log shows the fire at once (the list says "ran" too, with its run's status).
    await page.getByRole('cell', { name: 'ran', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Hourly visit' }).first().click();
    const runLink = page.locator('a[href^="/executions/"]').first();
    await runLink.waitFor();
    await runLink.click();
    await page.getByText('succeeded').first().waitFor({ timeout: 60_000 });

    await page.getByRole('link', { name: 'Data' }).click();
    await page.getByRole('link', { name: 'visits' }).click();
    const row = page.getByRole('row', { name: /home/ });
    await row.getByRole('cell', { name: '2', exact: true }).waitFor({ timeout: 30_000 });
  }, 180_000);
});
