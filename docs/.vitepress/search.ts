/**
 * What the docs site's local search indexes. VitePress ships the whole index as one chunk, fetched
 * the first time a reader opens the search; it had grown to 597 kB, over Vite's 500 kB warning. The
 * words that carry no meaning of their own ("the", "its", "which") were a sixth of it: they are left
 * out of the index, and out of the reader's queries the same way.
 * The changelog is not indexed either: it grows with every change and says again, as history, what
 * the guide and the decisions say as they stand, which is where a search should land.
 */
import type { MarkdownRenderer } from 'vitepress';

/** Pages (relative to `docs/`) the search leaves out. */
const UNSEARCHED = new Set(['changelog.md']);

/**
 * VitePress's `_render` for the search: a page's HTML as the index reads it (VitePress's own
 * rendering, `search: false` in a page's front matter honoured), or nothing for an unsearched page.
 */
export function searchedHtml(
  source: string,
  env: { readonly relativePath: string; frontmatter?: Record<string, unknown> },
  md: MarkdownRenderer,
): string {
  if (UNSEARCHED.has(env.relativePath)) return '';
  const html = md.render(source, env);
  return env.frontmatter?.search === false ? '' : html;
}

/**
 * MiniSearch's `processTerm`, for the index and for the reader's query alike: lower case (its
 * default), English function words dropped. Not "once", "default", "before" or "after": those name
 * things here. VitePress hands `miniSearch.options` to the browser as the function's source text
 * (`serializeFunctions`), so it must close over nothing: the words are a literal in its body.
 */
export const indexedTerm = (term: string): string | null => {
  const lower = term.toLowerCase();
  const stop =
    /^(?:a|about|above|again|against|all|am|an|and|any|are|as|at|be|because|been|being|below|between|both|but|by|can|could|d|did|do|does|doing|don|down|during|each|few|for|from|further|had|has|have|having|he|her|here|hers|herself|him|himself|his|how|i|if|in|into|is|it|its|itself|just|ll|m|me|more|most|my|myself|no|nor|not|now|of|off|on|only|or|other|our|ours|ourselves|out|over|own|re|s|same|she|should|so|some|such|t|than|that|the|their|theirs|them|themselves|then|there|these|they|this|those|through|to|too|under|until|up|ve|very|was|we|were|what|when|where|which|while|who|whom|why|will|with|would|you|your|yours|yourself|yourselves)$/;
  return stop.test(lower) ? null : lower;
};
