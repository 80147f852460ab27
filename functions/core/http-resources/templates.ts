/**
 * Request templates and path allowances of HTTP resources.
 *
 * A Skill's request names `{input.field}` (or `{input.a.b}`) placeholders in its path, query and
 * body; a run substitutes its input (a query parameter that is exactly one placeholder is left out
 * when the input lacks the field). In a path a value is percent-encoded as one segment (it can
 * neither add a segment nor climb out with `..`; a value holding `/`, `\`, `?` or `#` is refused,
 * as a server that decodes the path would read a separator); in the query it is encoded by the
 * query string; in the body a string that is exactly one placeholder takes the input value as it
 * is (any JSON), and a placeholder inside a longer string takes its text.
 *
 * A resource allows paths by patterns, relative to its base URL: `*` matches within one segment
 * (a segment that is only `*` needs at least one character), and a final `/**` matches any number
 * of further segments (none included). Dot segments are never allowed in any spelling a lenient
 * server reads as one: encoded, with a `;` parameter (`..;`, `..` to Tomcat, Spring and Jetty) or a
 * `:` stream name, with a trailing space or NUL (trimmed by IIS and Windows), fullwidth (`．．`,
 * `..` after NFKC), or only dots (`...`). Nor are encoded separators, control characters (`%00`–`%1F`,
 * `%7F`) or double encoding (an escape left once decoded: `%252e`).
 */

import { ValidationError } from '../errors.ts';
import { isRawNumber } from '../json.ts';
import { HttpRequestRefusedError, InputPlaceholderError } from './errors.ts';

/** `{input.a}` or `{input.a.b}`: identifiers joined by dots. */
const PLACEHOLDER_SOURCE = String.raw`\{input((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}`;
const PLACEHOLDER = new RegExp(PLACEHOLDER_SOURCE, 'g');
const WHOLE_PLACEHOLDER = new RegExp(`^${PLACEHOLDER_SOURCE}$`);

/** Characters a path segment may hold as written (RFC 3986 pchar, percent-escapes included). */
const SEGMENT_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
const PATTERN_SEGMENT_CHARS = /^[A-Za-z0-9\-._~!$&'()+,;=:@%*]*$/;
export const MAX_PATH_LENGTH = 2048;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function fieldPath(match: string): string {
  return `input${match}`;
}

/** The input value a placeholder names; refuses a missing one. */
function valueAt(input: unknown, dotted: string): unknown {
  let value: unknown = input;
  for (const name of dotted.split('.').slice(1)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, name)) {
      throw new InputPlaceholderError(`The run input has no ${fieldPath(dotted)}`, fieldPath(dotted));
    }
    value = (value as Record<string, unknown>)[name];
  }
  if (value === undefined)
    throw new InputPlaceholderError(`The run input has no ${fieldPath(dotted)}`, fieldPath(dotted));
  return value;
}

function scalarText(value: unknown, dotted: string, where: string): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean')
    return String(value);
  // A number kept exactly as the client wrote it (beyond what a double holds): its own text.
  if (isRawNumber(value)) return value.rawJSON;
  throw new InputPlaceholderError(
    `${fieldPath(dotted)} must be a string, number or boolean to be used in the ${where}`,
    fieldPath(dotted),
  );
}

function interpolate(template: string, input: unknown, where: string, encode: (text: string) => string) {
  return template.replace(PLACEHOLDER, (_, dotted: string) =>
    encode(scalarText(valueAt(input, dotted), dotted, where)),
  );
}

/** Placeholders a template string names, as `input.a.b`. */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => fieldPath(match[1] ?? ''));
}

/** An encoded `/`, `\`, `?` or `#`: a server that decodes the path reads a separator or its end. */
const ENCODED_SEPARATOR = /%(2f|5c|3f|23)/i;
/** A percent escape. */
const ESCAPE = /%[0-9a-f]{2}/i;
/** A control character (C0, DEL or C1), once decoded: servers cut, trim or refuse names at one. */
const CONTROL = /\p{Cc}/u;
/**
 * What lenient servers drop from a name before they read it: whitespace (IIS and Windows trim a
 * trailing space), NUL (C string ends), characters that print nothing (zero-width, soft hyphen…).
 */
const DROPPED = /[\s\p{Cc}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * Whether a decoded part names `.` or `..` on some server: NFKC-folded (a fullwidth `．` is `.` to
 * a normaliser), cut at a `;` path parameter (Tomcat, Spring, Jetty) or a `:` stream name
 * (Windows), stripped of what lenient servers drop (`DROPPED`), it is only dots (Windows and IIS
 * also trim trailing dots, so `...` is `..` there).
 */
function isDotSegment(part: string): boolean {
  const name = (part.normalize('NFKC').split(/[;:]/, 1)[0] ?? '').replace(DROPPED, '');
  return /^\.+$/.test(name);
}

/**
 * Why a segment could end up outside the path it seems to name on a lenient server, or null. It is
 * decoded once: a malformed escape or one that is not UTF-8 (`%C0%AE`, an overlong `.`) is
 * refused, and so is a double encoding — an escape still there once decoded (`%252e`, `%25%32%65`):
 * what a server that decodes twice reads is not what was checked. As written and decoded, it may
 * not hold an encoded separator (`%2F`, `%5C`, `%3F`, `%23`, any case) or a control character,
 * nor be a dot segment in any spelling (`isDotSegment`), nor be one where a slash or backslash is
 * read as a separator.
 */
function segmentIssue(segment: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return 'holds a malformed percent escape or one that is not UTF-8';
  }
  for (const text of [segment, decoded]) {
    if (ENCODED_SEPARATOR.test(text)) return 'may not hold an encoded /, \\, ? or #';
    if (CONTROL.test(text)) return 'may not hold a control character';
    if (text.split(/[/\\]/).some(isDotSegment)) return 'may not contain . or .. segments';
  }
  // Once decoded, a `%` that starts no escape is only a `%` (a value `50%off` is `50%25off`).
  if (ESCAPE.test(decoded)) return 'may not be double-encoded (an escape left once decoded, as %252e)';
  return null;
}

/**
 * Checks a concrete request path: absolute, no empty inner segment, only path characters, no dot
 * segment in any spelling, no encoded separator, control character or double encoding
 * (`segmentIssue`). Returns its segments (without the leading empty one).
 */
export function checkConcretePath(path: string): string[] {
  const refuse = (reason: string) => new HttpRequestRefusedError(`The request path ${reason}`, 'path');
  if (!path.startsWith('/')) throw refuse('must start with /');
  if (path.length > MAX_PATH_LENGTH) throw refuse(`is longer than ${MAX_PATH_LENGTH} characters`);
  const segments = path.slice(1).split('/');
  segments.forEach((segment, index) => {
    if (segment === '' && index !== segments.length - 1 && segments.length > 1)
      throw refuse('has an empty segment');
    if (!SEGMENT_CHARS.test(segment)) throw refuse('holds characters a path may not');
    const issue = segmentIssue(segment);
    if (issue !== null) throw refuse(issue);
  });
  return segments;
}

/** Substitutes a path template with a run's input and checks the result. */
export function substitutePath(template: string, input: unknown): string {
  const path = template
    .split('/')
    .map((segment) => interpolate(segment, input, 'path', encodeURIComponent))
    .join('/');
  checkConcretePath(path);
  return path;
}

/**
 * Substitutes query templates; values are encoded later, by the query string. A parameter whose
 * value is exactly one placeholder is left out when the input does not have that field (optional
 * parameters); anywhere else a missing field is an error.
 */
export function substituteQuery(
  template: Readonly<Record<string, string>> | undefined,
  input: unknown,
): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(template ?? {})) {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole !== null && !hasField(input, whole[1] ?? '')) continue;
    query[name] = interpolate(value, input, 'query', (text) => text);
  }
  return query;
}

function hasField(input: unknown, dotted: string): boolean {
  try {
    valueAt(input, dotted);
    return true;
  } catch {
    return false;
  }
}

/** Substitutes a JSON body template. */
export function substituteBody(template: unknown, input: unknown): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole !== null) return valueAt(input, whole[1] ?? '');
    return interpolate(template, input, 'body', (text) => text);
  }
  if (Array.isArray(template)) return template.map((item) => substituteBody(item, input));
  if (template !== null && typeof template === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) result[key] = substituteBody(value, input);
    return result;
  }
  return template;
}

// ── allowances ─────────────────────────────────────────────────────────────────────────────

interface CompiledPattern {
  readonly source: string;
  /** Segments before a final `**` (or all of them). */
  readonly segments: readonly string[];
  readonly rest: boolean;
}

function segmentRegex(glob: string): RegExp {
  if (glob === '*') return /^[^/]+$/;
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}$`);
}

/** Checks a path pattern as an administrator writes it; returns the issue or null. */
export function patternIssue(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with /';
  if (pattern.length > 512) return 'is longer than 512 characters';
  const segments = pattern.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '**') {
      if (index !== segments.length - 1) return '** may only be the last segment';
      continue;
    }
    if (segment.includes('**')) return '** must be a whole segment';
    if (segment === '' && index !== segments.length - 1) return 'has an empty segment';
    if (!PATTERN_SEGMENT_CHARS.test(segment)) return 'holds characters a path may not';
    const issue = segmentIssue(segment.replace(/\*/g, 'x'));
    if (issue !== null) return issue;
  }
  return null;
}

function compile(pattern: string): CompiledPattern {
  const segments = pattern.slice(1).split('/');
  const rest = segments[segments.length - 1] === '**';
  return { source: pattern, segments: rest ? segments.slice(0, -1) : segments, rest };
}

/** Whether a concrete path lies within any of the patterns. */
export function pathAllowed(patterns: readonly string[], path: string): boolean {
  let segments: string[];
  try {
    segments = checkConcretePath(path);
  } catch {
    return false;
  }
  return patterns.map(compile).some((pattern) => {
    if (
      pattern.rest ? segments.length < pattern.segments.length : segments.length !== pattern.segments.length
    )
      return false;
    return pattern.segments.every((glob, index) => segmentRegex(glob).test(segments[index] ?? ''));
  });
}

/**
 * Whether every path a template can produce lies within the patterns. Conservative: a segment
 * holding a placeholder is accepted only where the pattern's segment is `*`, the same glob (each
 * placeholder read as `*`), or inside a final `**`. The substituted path is checked again at run time.
 */
export function templateAllowed(patterns: readonly string[], template: string): boolean {
  const segments = template.slice(1).split('/');
  return patterns.map(compile).some((pattern) => {
    if (
      pattern.rest ? segments.length < pattern.segments.length : segments.length !== pattern.segments.length
    )
      return false;
    return pattern.segments.every((glob, index) => {
      const segment = segments[index] ?? '';
      if (placeholdersIn(segment).length === 0) return segmentRegex(glob).test(segment);
      return glob === '*' || glob === segment.replace(PLACEHOLDER, '*');
    });
  });
}

/** Checks a Skill's path template as written; issues name the field. */
export function checkPathTemplate(template: string, field: string): void {
  const issue = (message: string) =>
    new ValidationError('Invalid request path template', [{ path: field, message }]);
  if (!template.startsWith('/')) throw issue('must start with /');
  if (template.length > MAX_PATH_LENGTH) throw issue(`at most ${MAX_PATH_LENGTH} characters`);
  const withoutPlaceholders = template.replace(PLACEHOLDER, 'x');
  if (/[{}]/.test(withoutPlaceholders)) throw issue('placeholders are written {input.field}');
  try {
    checkConcretePath(withoutPlaceholders);
  } catch (error) {
    throw issue((error as Error).message);
  }
}
