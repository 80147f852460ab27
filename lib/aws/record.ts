/** Typed helpers for the topology's `Record<Name, Spec>` maps. */

/** Maps every entry of a record keyed by a string union, keeping the keys' type. */
export function mapRecord<K extends string, V, W>(
  record: Readonly<Record<K, V>>,
  map: (value: V, key: K) => W,
): Record<K, W> {
  const out = {} as Record<K, W>;
  for (const key of Object.keys(record) as K[]) out[key] = map(record[key], key);
  return out;
}
