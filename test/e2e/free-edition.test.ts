/**
 * Issue 16 in a real browser: a person signs up on the free entry, lands signed in in their own
 * space on its own host, sees their plan with what is left, runs a pre-installed template Skill;
 * a super-admin sees the space as a tenant that never expires, finds the lead in the console,
 * orders its conversion, reloads the lead page (the order and its payment are still there) and
 * confirms the payment; the converted tenant shows the same Skills and
 * runs on its new host; and the person, back on the free entry, finds their space by handle and
 * signs in there.
 */
import { describe, expect, it } from 'vitest';
import { browserSuite, menuLabels, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-free-edition-password';
const SPACE_PASSWORD = 'a long personal passphrase';
const OWNER_PASSWORD = 'the new owner passphrase';

let port: number;

// Each test checks its pages' errors itself, at the step they would come from.
const { page } = browserSuite(
  PASSWORD,
  (suite) => {
    port = suite.port;
  },
  { pageErrors: 'checked by the tests', startTimeoutMs: 120_000 },
);

describe('the free personal edition in a browser', () => {
  it('signs up, runs a template Skill, and is converted into a standard tenant on a new host', async () => {
    const { page: person, errors } = await page();
    await person.goto(siteUrl('free.localhost', port, '/?utm_source=e2e-ads&utm_campaign=launch'));
    await person.getByRole('heading', { name: 'Create your free space' }).waitFor();
    await person.getByText('100 runs a day').waitFor();
    await person.getByText('Up to 3 users: you and 2 more').waitFor();
    const form = person.getByRole('form', { name: 'Sign up' });
    // The handle's rule shows from the start (it showed only once the browser refused a value).
    await form.getByText('3 to 30 letters, digits and single hyphens, starting with a letter.').waitFor();
    await form.getByLabel(/Your handle/).fill('Dana');
    await form.getByLabel('Email').fill('dana@example.com');
    // The form offers exactly the lengths the platform takes (10 to 256 characters).
    expect(await form.getByLabel(/^Password/).getAttribute('minlength')).toBe('10');
    expect(await form.getByLabel(/^Password/).getAttribute('maxlength')).toBe('256');
    await form.getByLabel(/^Password/).fill(SPACE_PASSWORD);
    // Both starter Skills are ticked by default.
    expect(await form.getByRole('checkbox', { checked: true }).count()).toBe(2);
    await screenshot(person, 'free-signup');
    await form.getByRole('button', { name: 'Create my space' }).click();

    // The new space, signed in through the one-time handoff (which left the address).
    await person.waitForURL((url) => url.hostname === 'dana.free.localhost');
    await person.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(new URL(person.url()).hash).toBe('');
    const usage = person.getByRole('list', { name: 'Plan usage' });
    await usage.getByText('0 of 100 runs today used — 100 left').waitFor();
    await usage.getByText('2 of 10 Skills used — 8 left').waitFor();
    await usage.getByText('1 of 3 users used — 2 left').waitFor();
    // A personal space greets its person, and shows no HTTP resources page: the free plan has none.
    await person.getByRole('heading', { name: 'Welcome, dana', level: 1 }).waitFor();
    const menus = await menuLabels(person);
    expect(menus).toContain('Manage skills');
    expect(menus).not.toContain('HTTP resources');
    await screenshot(person, 'free-space-home');

    await person
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Skills' })
      .first()
      .click();
    await person.getByRole('link', { name: 'Run Word count', exact: true }).click();
    await person.getByLabel('Text').fill('free as in free');
    await person.getByRole('button', { name: 'Run' }).click();
    const result = person.getByRole('figure', { name: 'Result' });
    await result.waitFor({ timeout: 60_000 });
    expect(await result.textContent()).toContain('"words": 4');
    await person.getByText('Finished successfully.').waitFor();

    await person.goto(siteUrl('dana.free.localhost', port, '/home'));
    await usage.getByText('1 of 100 runs today used — 99 left').waitFor();

    // The users page says what is left of the plan's 3 users; the fourth is refused, with what to do.
    await person.goto(siteUrl('dana.free.localhost', port, '/users'));
    const newUser = person.getByRole('region', { name: 'New user' });
    await newUser.getByText('The free plan keeps 3 users, disabled ones too: 1 used, 2 left.').waitFor();
    for (const [name, left] of [
      ['dana-ops', 1],
      ['dana-guest', 0],
    ] as const) {
      await newUser.getByLabel('Username').fill(name);
      await newUser.getByLabel('Initial password').fill(OWNER_PASSWORD);
      await newUser.getByRole('button', { name: 'Create user' }).click();
      await person.getByText(`User ${name} created.`).waitFor();
      await newUser.getByText(`${3 - left} used, ${left} left.`).waitFor();
    }
    // None left: the form says so beside its Create button, which it holds (a click was refused).
    await newUser
      .getByText(
        'The free plan’s 3 users are all taken (disabled ones count too): no user can be created on it.',
      )
      .waitFor();
    expect(await newUser.getByRole('button', { name: 'Create user' }).isDisabled()).toBe(true);
    await screenshot(person, 'free-space-users-full');
    expect(errors).toEqual([]);

    // The super-admin sees the lead with its source, and converts the space through an order.
    const { page: operator, errors: operatorErrors } = await page();
    await operator.goto(siteUrl('admin.localhost', port, '/'));
    await signIn(operator, 'admin', PASSWORD);
    // The free space never expires: its tenant's expiry reads "never", in the list and on its page.
    await operator
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Tenants', exact: true })
      .click();
    const space = operator.locator('tr[data-tenant]', { hasText: 'dana.free.localhost' });
    await space.waitFor();
    expect(await space.locator('td').nth(3).textContent()).toBe('never');
    await space.getByRole('link').click();
    const expiry = operator.locator('dl.facts dt:text-is("Expires") + dd');
    await expiry.waitFor();
    expect(await expiry.textContent()).toBe('never');
    // Its edit field offers no date (not 9999-12-31) but a ticked "never"; unticked, it asks for one.
    const expires = operator.getByLabel('Expires on');
    const never = operator.getByRole('checkbox', { name: 'Never expires' });
    expect(await expires.inputValue()).toBe('');
    expect(await expires.isDisabled()).toBe(true);
    expect(await never.isChecked()).toBe(true);
    await never.uncheck();
    expect(await expires.isEnabled()).toBe(true);
    expect(await expires.getAttribute('required')).not.toBeNull();
    await never.check();
    expect(await expires.isDisabled()).toBe(true);
    await screenshot(operator, 'free-console-space-never-expires');
    await operator
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Leads and free spaces' })
      .click();
    await operator.getByLabel('Source').fill('e2e-ads');
    await operator.getByRole('button', { name: 'Filter' }).click();
    const row = operator.locator('tr[data-lead="dana"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('e2e-ads · launch');
    expect(await operator.locator('tr[data-lead]').count()).toBe(1);
    await screenshot(operator, 'free-console-leads');
    await row.getByRole('link', { name: 'dana' }).click();
    await operator.getByRole('heading', { name: 'Lead dana' }).waitFor();
    await operator.getByLabel('Amount').fill('240');
    await operator.getByLabel('New hosts (comma-separated)').fill('dana-co.localhost');
    await operator.getByLabel("First admin's username").fill('owner');
    await operator.getByLabel("First admin's password").fill(OWNER_PASSWORD);
    await operator.getByLabel('Tenant name').fill('Dana & Co');
    await operator.getByRole('button', { name: 'Order the conversion' }).click();
    await operator.getByRole('heading', { name: 'Conversion ordered' }).waitFor();
    // Reloaded, the lead page still shows the pending order and its payment, not a second order form.
    await operator.reload();
    await operator.getByRole('heading', { name: 'Conversion ordered' }).waitFor();
    expect(await operator.getByRole('button', { name: 'Order the conversion' }).count()).toBe(0);
    expect(await operator.getByText(/Order ord_\w+ \(standard, 12 months, 240 USD\)/).count()).toBe(1);
    await operator.getByRole('button', { name: 'Confirm payment' }).click();
    // A payment is confirmed only after saying what it does, as in the order center.
    const confirmation = operator.getByRole('dialog');
    expect(await confirmation.textContent()).toContain('becomes a standard tenant on its new hosts');
    // Named by its amount, as the order center's dialog names a payment, not by the order's id.
    const asked = await confirmation.getByRole('heading').textContent();
    expect(asked).toMatch(/^Confirm the payment of \D*240\.00\D*\?$/);
    await confirmation.getByRole('button', { name: 'Confirm payment' }).click();
    await operator.getByText(/by order ord/).waitFor();
    await screenshot(operator, 'free-console-converted');
    expect(operatorErrors).toEqual([]);

    // The converted tenant on its new host: same Skills, same history, a standard plan.
    const { page: owner, errors: ownerErrors } = await page();
    await owner.goto(siteUrl('dana-co.localhost', port, '/'));
    await signIn(owner, 'owner', OWNER_PASSWORD);
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await owner.getByRole('cell', { name: 'succeeded' }).first().waitFor();
    await owner
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Skills' })
      .first()
      .click();
    await owner.getByRole('link', { name: 'Run Word count', exact: true }).waitFor();
    expect(await owner.getByRole('list', { name: 'Plan usage' }).count()).toBe(0);
    expect(ownerErrors).toEqual([]);

    // Signing in again starts on the free entry: the handle leads to the space's own sign-in page.
    const { page: returning, errors: returningErrors } = await page();
    await returning.goto(siteUrl('free.localhost', port, '/'));
    const find = returning.getByRole('form', { name: 'Sign in' });
    await find.getByLabel('Your handle').fill('DANA');
    await find.getByRole('button', { name: 'Go to my space' }).click();
    await returning.waitForURL((url) => url.hostname === 'dana.free.localhost');
    await signIn(returning, 'dana', SPACE_PASSWORD);
    expect(returningErrors).toEqual([]);
  }, 180_000);
});
