/**
 * What a label people read (a name, a title) may not hold, for the API that refuses it, the fronts
 * and the CLI that prints any an older item still has as `\u{…}`.
 *
 * - control characters (`Cc`: C0, DEL, C1): printed as they are they drive a terminal (colours,
 *   titles, links), and a name the CLI prints reaches another admin's;
 * - format characters (`Cf`): the bidirectional marks, embeddings, overrides and isolates, which
 *   reorder what a reader sees, and the invisible ones (zero-width space and joiners, word joiner,
 *   byte-order mark, soft hyphen, the tag characters U+E0000–U+E007F), which make a name that looks
 *   like another without being it (the duplicate-name warning, `sameNameAs`, compares what is stored);
 * - the line and paragraph separators (`Zl`, `Zp`), which break a one-line label;
 * - unpaired surrogates (`Cs`) and noncharacters, which no text means;
 * - the other default-ignorable code points, which render as nothing (the combining grapheme
 *   joiner, the Hangul fillers, which make a name that looks blank, the variation selectors past
 *   the emoji ones), and private-use characters (`Co`), which have no agreed look: the last attack
 *   pass named Skills with each. Kept: U+FE0E and U+FE0F, which choose an emoji's text or colour
 *   look (`❤️`).
 *
 * Any other character is taken: accents, every script, emoji (but not one joined by U+200D: the
 * joiner is a format character).
 */
export const NOT_DISPLAYABLE =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]|(?![\uFE0E\uFE0F])\p{Default_Ignorable_Code_Point}/u;

/** The problem a refused label is answered with, beside the field's name. */
export const NOT_DISPLAYABLE_MESSAGE =
  'must not contain control characters, invisible or bidirectional formatting characters, or line separators';

/** Whether a label holds none of `NOT_DISPLAYABLE`. */
export function isDisplayable(text: string): boolean {
  return !NOT_DISPLAYABLE.test(text);
}
