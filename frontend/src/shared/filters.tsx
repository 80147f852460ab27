/**
 * A list's filters kept in the page's address (`/executions?status=failed`, `/free?source=ads`): a
 * filtered view survives a reload, goes back and forward with the browser, and can be shared as a
 * link. The form edits a draft; applying it writes the address, which is what the list reads. The
 * runs list and the leads list both use it, with the one "Clear filters" control below.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { withQuery } from './api.ts';
import { navigate, useLocation } from './router.tsx';

export type FilterValues<Name extends string> = Readonly<Record<Name, string>>;

export interface AddressFilters<Name extends string> {
  /** The filters the address holds (empty strings for those it does not): what the list shows. */
  readonly current: FilterValues<Name>;
  /** What the form shows: the address's filters, as the user edits them before applying. */
  readonly draft: FilterValues<Name>;
  /** Edits one filter of the draft. */
  readonly set: (name: Name) => (value: string) => void;
  /** Whether the address holds any filter. */
  readonly filtered: boolean;
  /** Writes the draft into the address (a form's submit). */
  readonly apply: (event?: FormEvent) => void;
  /** Empties the draft and the address. */
  readonly clear: () => void;
}

/** `names` are the page's own constants (never read from the address), one per query parameter. */
export function useAddressFilters<Name extends string>(names: readonly Name[]): AddressFilters<Name> {
  const { path, query } = useLocation();
  const read = (value: (name: Name) => string) =>
    Object.fromEntries(names.map((name) => [name, value(name)])) as FilterValues<Name>;
  const current = read((name) => query.get(name) ?? '');
  const [draft, setDraft] = useState(current);
  // The form shows the address's filters: again when the address changes (back, forward, a link).
  const search = query.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `current` is read from the address, which `search` is
  useEffect(() => setDraft(current), [search]);
  return {
    current,
    draft,
    set: (name) => (value) => setDraft((previous) => ({ ...previous, [name]: value })),
    filtered: names.some((name) => current[name] !== ''),
    apply: (event) => {
      event?.preventDefault();
      navigate(withQuery(path, draft));
    },
    clear: () => {
      setDraft(read(() => ''));
      navigate(path);
    },
  };
}

/** "Clear filters", shown while the address holds a filter. */
export function ClearFilters<Name extends string>({ filters }: { readonly filters: AddressFilters<Name> }) {
  if (!filters.filtered) return null;
  return (
    <button type="button" className="secondary" onClick={filters.clear}>
      Clear filters
    </button>
  );
}
