/**
 * The label rule (`displayText`, `displayName`: functions/http/routes/domains.ts, on the contract's
 * `NOT_DISPLAYABLE`): each class of character a reader cannot see as it is, or that drives a
 * terminal, is refused wherever it sits in the name, with the rule's message; every other character
 * a name may need is taken.
 */
import { describe, expect, it } from 'vitest';
import { isDisplayable, NOT_DISPLAYABLE_MESSAGE } from '../../../../functions/contract/names.ts';
import { displayName, displayText } from '../../../../functions/http/routes/domains.ts';

/** One character of each class, with the class it stands for. */
const REFUSED: readonly (readonly [string, string])[] = [
  ['\u0000', 'C0 control (NUL)'],
  ['\u001b', 'C0 control (ESC)'],
  ['\u007f', 'DEL'],
  ['\u0085', 'C1 control (NEL)'],
  ['\u009b', 'C1 control (CSI)'],
  ['\u00ad', 'soft hyphen'],
  ['\u061c', 'Arabic letter mark'],
  ['\u180e', 'Mongolian vowel separator'],
  ['\u200b', 'zero-width space'],
  ['\u200c', 'zero-width non-joiner'],
  ['\u200d', 'zero-width joiner'],
  ['\u200e', 'left-to-right mark'],
  ['\u200f', 'right-to-left mark'],
  ['\u202a', 'left-to-right embedding'],
  ['\u202c', 'pop directional formatting'],
  ['\u202e', 'right-to-left override'],
  ['\u2060', 'word joiner'],
  ['\u2064', 'invisible plus'],
  ['\u2066', 'left-to-right isolate'],
  ['\u2069', 'pop directional isolate'],
  ['\ufeff', 'byte-order mark'],
  ['\ufff9', 'interlinear annotation anchor'],
  ['\u{e0001}', 'language tag'],
  ['\u{e0041}', 'tag letter A'],
  ['\u{e007f}', 'cancel tag'],
  ['\u2028', 'line separator'],
  ['\u2029', 'paragraph separator'],
  ['\ud800', 'unpaired high surrogate'],
  ['\udfff', 'unpaired low surrogate'],
  ['\ufdd0', 'noncharacter U+FDD0'],
  ['\ufffe', 'noncharacter U+FFFE'],
  ['\u{10ffff}', 'noncharacter U+10FFFF'],
  // Default-ignorable outside Cf, and private use (the last attack pass named Skills with each).
  ['\u034f', 'combining grapheme joiner'],
  ['\u115f', 'Hangul choseong filler'],
  ['\u3164', 'Hangul filler'],
  ['\uffa0', 'halfwidth Hangul filler'],
  ['\ufe00', 'variation selector 1'],
  ['\u{e0100}', 'variation selector 17'],
  ['\ue000', 'private use U+E000'],
  ['\u{f0000}', 'private use plane 15'],
];

const ACCEPTED = [
  'report',
  'Payroll export',
  'Café crème – été 2026',
  'Ærøskøbing naïve façade',
  '名前のスクリプト',
  '보고서',
  'Отчёт',
  'تقرير الرواتب',
  'דוח שכר',
  'नमस्ते',
  'Coffee ☕ ☕️ 🚀 👍🏽 🇫🇷',
  'I \u2764\ufe0f text \u2764\ufe0e (the emoji variation selectors)',
  'e\u0301 (a combining accent)',
  '\u{1f600}',
];

function refusal(result: ReturnType<typeof displayName.safeParse>) {
  expect(result.success).toBe(false);
  return result.error?.issues.map((issue) => issue.message);
}

describe('a display name', () => {
  it.each(REFUSED)('refuses %j (%s) at the start, in the middle and at the end', (char) => {
    for (const name of [`${char}name`, `na${char}me`, `name${char}`]) {
      expect(isDisplayable(name), JSON.stringify(name)).toBe(false);
      if (char.trim() === '' && name !== `na${char}me`) {
        // JavaScript's trim takes the byte-order mark and the separators for white space: at an edge
        // they are trimmed away with it, and what is kept holds none.
        expect(displayName.parse(name)).toBe('name');
      } else {
        expect(refusal(displayName.safeParse(name)), JSON.stringify(name)).toEqual([NOT_DISPLAYABLE_MESSAGE]);
      }
    }
  });

  it('refuses the names of the attack pass', () => {
    for (const name of [
      'inv\u200fo\u2028ice\u061c\ufeff\u200b\u{e0041}x',
      'a\u200fb',
      'Payroll\u200b export',
    ]) {
      expect(refusal(displayName.safeParse(name)), JSON.stringify(name)).toEqual([NOT_DISPLAYABLE_MESSAGE]);
    }
  });

  it.each(ACCEPTED)('takes %j as it is', (name) => {
    expect(isDisplayable(name)).toBe(true);
    expect(displayName.parse(name)).toBe(name);
    expect(displayName.parse(`  ${name}\t`)).toBe(name);
  });

  it('keeps its bounds: 1 to 120 characters once trimmed', () => {
    expect(displayName.safeParse('   ').success).toBe(false);
    expect(displayName.safeParse('x'.repeat(121)).success).toBe(false);
    expect(displayName.parse('x'.repeat(120))).toHaveLength(120);
  });
});

describe('a label of another length', () => {
  it('applies the same rule under its own bound', () => {
    const title = displayText(200);
    expect(title.parse('x'.repeat(200))).toHaveLength(200);
    expect(title.safeParse('x'.repeat(201)).success).toBe(false);
    expect(refusal(title.safeParse('t\u001b]8;;http://evil/\u0007click\u001b]8;;\u0007\u202eevil'))).toEqual([
      NOT_DISPLAYABLE_MESSAGE,
    ]);
    expect(refusal(title.safeParse('Maintenance\u2028tonight'))).toEqual([NOT_DISPLAYABLE_MESSAGE]);
    expect(title.parse('Maintenance tonight 🌙')).toBe('Maintenance tonight 🌙');
  });
});
