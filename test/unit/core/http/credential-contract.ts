/**
 * The behaviour every credential store must show, run against each adapter by its own test file:
 * versions and stages through create, rotation (previous kept, or kept unchanged), read, and
 * dropping the previous version.
 */
import { expect } from 'vitest';
import type { CredentialStore } from '../../../../functions/core/secrets/store.ts';

export const CONTRACT_VALUES = [
  'contract-value-one-1a2b3c',
  'contract-value-two-4d5e6f',
  'contract-value-three-7a8b9c',
  'contract-value-four-0d1e2f',
] as const;

export async function exerciseCredentialStore(store: CredentialStore, key: string): Promise<void> {
  const [one, two, three, four] = CONTRACT_VALUES;
  expect(await store.read(key, 'current')).toBeNull();
  expect(await store.read(key, 'previous')).toBeNull();
  expect(await store.versions(key)).toEqual({});

  // Create.
  const first = await store.put(key, one, 'current');
  expect(first.previous).toBeUndefined();
  expect(await store.read(key, 'current')).toEqual({
    value: one,
    versionId: first.current,
    stage: 'current',
  });
  expect(await store.read(key, 'previous')).toBeNull();

  // Rotate: the old current is kept as previous.
  const second = await store.put(key, two, 'current');
  expect(second).toEqual({ current: expect.any(String), previous: first.current });
  expect(second.current).not.toBe(first.current);
  expect(await store.read(key, 'current')).toMatchObject({ value: two, versionId: second.current });
  expect(await store.read(key, 'previous')).toEqual({
    value: one,
    versionId: first.current,
    stage: 'previous',
  });
  expect(await store.versions(key)).toEqual(second);

  // Rotate again while the new one is unproven: the previous stays what it was.
  const third = await store.put(key, three, 'unchanged');
  expect(third).toEqual({ current: expect.any(String), previous: first.current });
  expect(await store.read(key, 'current')).toMatchObject({ value: three, versionId: third.current });
  expect(await store.read(key, 'previous')).toMatchObject({ value: one, versionId: first.current });
  expect(await store.versions(key)).toEqual(third);

  // The current one worked: the previous is forgotten.
  await store.dropPrevious(key);
  expect(await store.versions(key)).toEqual({ current: third.current });
  expect(await store.read(key, 'previous')).toBeNull();
  await store.dropPrevious(key); // nothing to drop: harmless

  // With no previous, `unchanged` keeps none.
  const fourth = await store.put(key, four, 'unchanged');
  expect(fourth).toEqual({ current: expect.any(String) });
  expect(await store.read(key, 'current')).toMatchObject({ value: four });
  expect(await store.read(key, 'previous')).toBeNull();
}
