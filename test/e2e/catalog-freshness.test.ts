/**
 * The console and the API's catalogue cache in a real browser (frontend/src/shared/api.ts,
 * docs/decisions/session-cache.md "Skill catalogues"). The console states what it accepts on every
 * read — without it, Chromium's `cache: 'no-store'` fetch would send `Cache-Control: no-cache` and no
 * list would ever be cached — and asks for a fresh read on an explicit refresh and for every read in
 * the seconds after its own write, so its user sees their own change whichever container answers.
 * A change written behind the API (as on another container) shows on Refresh.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { skillKey } from '../../functions/core/catalog/skill-repository.ts';
import { CACHED_READ_MAX_AGE_SECONDS } from '../../functions/core/headers.ts';
import type { TenantContext } from '../../functions/core/tenancy/domain.ts';
import type { TestPlatform } from '../support/platform.ts';
import { browserSuite, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-catalog-freshness-password';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let port: number;

const { page } = browserSuite(PASSWORD, (suite) => {
  ({ platform, port } = suite);
});

/** The Cache-Control of every catalogue list read the page sends, in order. */
function catalogueReads(tab: Page): { settled(): Promise<string[]> } {
  const pending: Promise<string>[] = [];
  tab.on('request', (request) => {
    if (request.method() === 'GET' && new URL(request.url()).pathname === '/api/skills') {
      pending.push(request.allHeaders().then((headers) => headers['cache-control'] ?? '(none)'));
    }
  });
  return { settled: () => Promise.all(pending) };
}

const quiet = () => new Promise((resolve) => setTimeout(resolve, CACHED_READ_MAX_AGE_SECONDS * 1000 + 300));

describe('the console and the catalogue cache', () => {
  it('ordinary reads accept the cache; Refresh and the reads after a write of its own do not', async () => {
    const { page: tab } = await page();
    const reads = catalogueReads(tab);
    await tab.goto(siteUrl(ACME, port, '/skills'));
    await signIn(tab, 'alice', PASSWORD);
    const greet = tab.getByRole('article', { name: 'Greet' });
    await greet.waitFor();
    // The sign-in was a write: the reads right after it revalidate.
    expect((await reads.settled()).at(-1)).toBe('no-cache');

    // Seconds later, an ordinary read accepts the API's cached catalogue.
    await quiet();
    const nav = tab.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Runs' }).click();
    await nav.getByRole('link', { name: 'Skills', exact: true }).click();
    await greet.waitFor();
    expect((await reads.settled()).at(-1)).toBe(`max-age=${CACHED_READ_MAX_AGE_SECONDS}`);

    // Changed behind the API, as another container would: Refresh reads the catalogue now.
    const skills = await platform.send({
      host: ACME,
      path: '/api/skills',
      token: await platform.login(ACME, 'alice'),
    });
    const id = String(
      (skills.body.items as { id: string; name: string }[]).find((s) => s.name === 'Greet')?.id,
    );
    const domain: TenantContext = {
      kind: 'tenant',
      host: ACME,
      tenant: { id: 'acme', name: 'Acme', status: 'active', plan: 'standard', expiresAt: '2099-01-01' },
    };
    await platform.core.table.client.send(
      new UpdateCommand({
        TableName: platform.core.table.name,
        Key: skillKey(domain, id),
        UpdateExpression: 'SET description = :text',
        ExpressionAttributeValues: { ':text': 'Changed on another container.' },
      }),
    );
    // The entry read by the navigation above is younger than 5 s: only a fresh read shows the change.
    const before = (await reads.settled()).length;
    await tab.getByRole('button', { name: 'Refresh' }).click();
    await greet.getByText('Changed on another container.').waitFor();
    expect((await reads.settled()).slice(before)).toEqual(['no-cache']);

    // A write of this page: the list read that follows it revalidates.
    await quiet();
    await tab.goto(siteUrl(ACME, port, `/skill-admin/${id}`));
    await tab.getByRole('button', { name: 'Disable', exact: true }).click();
    await tab.getByRole('dialog').getByRole('button', { name: 'Disable Greet' }).click();
    await tab.getByText('Greet is disabled.').waitFor();
    const afterWrite = (await reads.settled()).length;
    await tab
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Skills', exact: true })
      .click();
    await tab.getByText('Runs are paused: an administrator disabled this Skill.').waitFor();
    expect((await reads.settled()).slice(afterWrite)).toEqual(['no-cache']);
  }, 90_000);
});
