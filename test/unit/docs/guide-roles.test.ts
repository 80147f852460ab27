/**
 * The guide names the tenant's built-in roles as the code defines them: a role added to
 * `TENANT_BUILT_IN_ROLES` (as `viewer` was) must be named where a new admin reads which roles exist.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TENANT_BUILT_IN_ROLES } from '../../../functions/core/identity/permissions.ts';
import { REPOSITORY_ROOT } from '../../../lib/local/platform.ts';

describe('docs/guide/onboarding.md', () => {
  it('names every built-in tenant role, and no other, where it lists them', () => {
    const page = readFileSync(resolve(REPOSITORY_ROOT, 'docs', 'guide', 'onboarding.md'), 'utf8');
    const sentence = /built-in roles are ([^,]+(?:, [^,]+)*?), and custom roles/.exec(
      page.replace(/\s+/g, ' '),
    );
    expect(sentence, 'the sentence listing the built-in roles').not.toBeNull();
    const named = [...(sentence?.[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    expect(named.sort()).toEqual(Object.keys(TENANT_BUILT_IN_ROLES).sort());
  });
});
