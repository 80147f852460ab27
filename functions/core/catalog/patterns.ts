/**
 * The regular-expression engine of Skill schemas (`pattern`, `patternProperties`, and the property
 * names `additionalProperties` skips): RE2 semantics through re2js, which matches in time linear in
 * the input whatever the pattern — a `^(a+)+$` costs what `^a+$` costs. Patterns are written in
 * ECMA-262 syntax (what JSON Schema specifies); they are translated to RE2 syntax, and the
 * constructs no linear-time engine can run — backreferences and lookaround — are refused when the
 * schema is saved, with the reason. See docs/decisions/skill-schemas.md.
 */
import { RE2JS } from 're2js';

export interface CompiledPattern {
  /** Whether the pattern matches anywhere in `text` (JSON Schema patterns are not anchored). */
  test(text: string): boolean;
}

/** A pattern the linear-time engine cannot run, or that is not a regular expression at all. */
export class UnsupportedPatternError extends Error {
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`The pattern ${JSON.stringify(pattern.slice(0, 200))} cannot be used: ${reason}`);
    this.name = 'UnsupportedPatternError';
    this.pattern = pattern;
  }
}

/** ECMA-262 General_Category long names → the short names RE2 knows. */
const GENERAL_CATEGORIES: Readonly<Record<string, string>> = {
  Letter: 'L',
  Cased_Letter: 'LC',
  Uppercase_Letter: 'Lu',
  Lowercase_Letter: 'Ll',
  Titlecase_Letter: 'Lt',
  Modifier_Letter: 'Lm',
  Other_Letter: 'Lo',
  Mark: 'M',
  Combining_Mark: 'M',
  Nonspacing_Mark: 'Mn',
  Spacing_Mark: 'Mc',
  Enclosing_Mark: 'Me',
  Number: 'N',
  Decimal_Number: 'Nd',
  digit: 'Nd',
  Letter_Number: 'Nl',
  Other_Number: 'No',
  Punctuation: 'P',
  punct: 'P',
  Connector_Punctuation: 'Pc',
  Dash_Punctuation: 'Pd',
  Open_Punctuation: 'Ps',
  Close_Punctuation: 'Pe',
  Initial_Punctuation: 'Pi',
  Final_Punctuation: 'Pf',
  Other_Punctuation: 'Po',
  Symbol: 'S',
  Math_Symbol: 'Sm',
  Currency_Symbol: 'Sc',
  Modifier_Symbol: 'Sk',
  Other_Symbol: 'So',
  Separator: 'Z',
  Space_Separator: 'Zs',
  Line_Separator: 'Zl',
  Paragraph_Separator: 'Zp',
  Other: 'C',
  Control: 'Cc',
  cntrl: 'Cc',
  Format: 'Cf',
  Surrogate: 'Cs',
  Private_Use: 'Co',
  Unassigned: 'Cn',
};

/** `General_Category=Letter`, `gc=L`, `Letter`, `Script=Greek`, `sc=Greek` → the RE2 name. */
function propertyName(name: string): string {
  const [key, value] = name.includes('=') ? name.split('=', 2) : [undefined, name];
  const bare = value ?? '';
  if (key === undefined || key === 'General_Category' || key === 'gc')
    return GENERAL_CATEGORIES[bare] ?? bare;
  if (key === 'Script' || key === 'sc') return bare;
  return name; // Script_Extensions and the like: RE2 refuses them with its own message
}

/**
 * Checks what RE2 would silently read differently and rewrites Unicode property names; one pass
 * over the text, tracking escapes and character classes.
 */
function prepare(source: string): string {
  let out = '';
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const char = source[index] as string;
    if (char === '\\') {
      const next = source[index + 1] ?? '';
      if ((next === 'p' || next === 'P') && source[index + 2] === '{') {
        const close = source.indexOf('}', index + 3);
        if (close < 0) throw new UnsupportedPatternError(source, 'an unterminated \\p{…} escape');
        out += `\\${next}{${propertyName(source.slice(index + 3, close))}}`;
        index = close;
        continue;
      }
      if (!inClass && (next === 'k' || (next >= '1' && next <= '9'))) {
        throw new UnsupportedPatternError(source, 'backreferences need a backtracking engine');
      }
      out += char + next;
      index++;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === ']') inClass = false;
    else if (!inClass && char === '(' && source[index + 1] === '?') {
      const kind = source.slice(index + 2, index + 4);
      if (kind.startsWith('=') || kind.startsWith('!') || kind === '<=' || kind === '<!') {
        throw new UnsupportedPatternError(source, 'lookahead and lookbehind need a backtracking engine');
      }
    }
    out += char;
  }
  return out;
}

/** Compiles an ECMA-262 pattern for the linear-time engine; UnsupportedPatternError when it cannot. */
export function compilePattern(source: string): CompiledPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(prepare(source)));
  } catch (cause) {
    if (cause instanceof UnsupportedPatternError) throw cause;
    throw new UnsupportedPatternError(source, (cause as Error).message);
  }
  return { test: (text) => compiled.test(text) };
}
