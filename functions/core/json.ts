/**
 * Lossless JSON for the values clients and scripts hand the platform (run inputs and outputs, Skill
 * schemas). `JSON.parse` turns every number into a double, so 12345678901234567890, -0 or
 * 1e-400 come back as something else; here a number whose value a double cannot hold exactly is
 * kept as its source text (`JSON.rawJSON`), which `JSON.stringify` writes back unchanged. Every
 * other number stays a plain `number`, so ordinary values behave as before. Keys such as
 * `__proto__`, `constructor` or `toString` are own data properties, never prototypes.
 *
 * Such values are stored as JSON text (never as DynamoDB maps: DynamoDB numbers hold 38 digits
 * between 1e-130 and 1e126, and a marshaller walks objects like class instances) and validated
 * against a schema through `numericView`, where a kept number becomes its nearest double.
 */

export type RawNumber = RawJSON;

/** Whether a value is a number kept as its source text. */
export function isRawNumber(value: unknown): value is RawNumber {
  return JSON.isRawJSON(value);
}

/**
 * `-12.50e3` → `-125e2`: sign, significant digits without leading or trailing zeros, exponent — the
 * same key for the same decimal value, whatever its spelling. Parsed by hand (the text is a valid
 * JSON number: JSON.parse accepted it).
 */
function decimalKey(text: string): string {
  let index = 0;
  const negative = text[0] === '-';
  if (negative) index++;
  let digits = '';
  let fraction = 0;
  let seenPoint = false;
  for (; index < text.length; index++) {
    const char = text[index] as string;
    if (char === '.') seenPoint = true;
    else if (char === 'e' || char === 'E') break;
    else {
      digits += char;
      if (seenPoint) fraction++;
    }
  }
  const exponent = index < text.length ? BigInt(text.slice(index + 1)) : 0n;
  // Plain loops, not regular expressions: a long run of zeros must cost linear time.
  let start = 0;
  while (start < digits.length && digits[start] === '0') start++;
  if (start === digits.length) return negative ? '-0' : '0';
  let end = digits.length;
  while (digits[end - 1] === '0') end--;
  const scale = exponent - BigInt(fraction) + BigInt(digits.length - end);
  return `${negative ? '-' : ''}${digits.slice(start, end)}e${scale}`;
}

/** Whether the double `JSON.parse` made of `source` is exactly the number the text says. */
function exact(value: number, source: string): boolean {
  if (!Number.isFinite(value)) return false;
  if (Object.is(value, -0)) return false;
  // An integer literal beyond ±2^53 comes back as the integer it was, not as `2.384185791015625e+53`.
  if (!Number.isSafeInteger(value) && Number.isInteger(value) && !/[.eE]/.test(source)) return false;
  return decimalKey(String(value)) === decimalKey(source);
}

/**
 * Parses JSON text; numbers a double cannot hold exactly are kept as raw JSON. Throws a
 * SyntaxError like `JSON.parse` on malformed text.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value, context) => {
    if (typeof value !== 'number' || context.source === undefined) return value;
    return exact(value, context.source) ? value : JSON.rawJSON(context.source);
  });
}

/** JSON text of a value; kept numbers are written as they were read. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * Paths of the numbers in `value` (plain or kept as their text) that `test` picks, at most `limit`,
 * each under `path` (`input.a.0`).
 */
export function numbersWhere(
  value: unknown,
  path: string,
  test: (number: number | RawNumber) => boolean,
  limit = 20,
): string[] {
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, path]];
  for (let next = pending.pop(); next !== undefined && found.length < limit; next = pending.pop()) {
    const [item, at] = next;
    if (isRawNumber(item) || typeof item === 'number') {
      if (test(item)) found.push(at);
    } else if (Array.isArray(item)) {
      item.forEach((child, index) => {
        pending.push([child, `${at}.${index}`]);
      });
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) pending.push([child, `${at}.${key}`]);
    }
  }
  return found;
}

/** Values and paths of numbers beyond the range of a double (e.g. 1e400), which no runtime can receive. */
export function overflowingNumbers(value: unknown, path: string, limit = 20): string[] {
  return numbersWhere(
    value,
    path,
    (number) => isRawNumber(number) && !Number.isFinite(Number(number.rawJSON)),
    limit,
  );
}

/**
 * Whether a number can be an attribute of an item as it is (a DynamoDB number, written through the
 * document client): finite, an integer within ±(2^53 − 1) (the client refuses larger ones, which a
 * double may not hold exactly), and no nearer to zero than DynamoDB's 1e-130.
 */
export function isStorableNumber(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (Number.isInteger(value)) return Number.isSafeInteger(value);
  return Math.abs(value) >= 1e-130;
}

/**
 * A copy in which every kept number is its nearest double (what a schema validator compares), with
 * the same own keys — `__proto__` included — as own data properties.
 */
export function numericView(value: unknown): unknown {
  if (isRawNumber(value)) return Number(value.rawJSON);
  if (Array.isArray(value)) return value.map(numericView);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    Object.defineProperty(copy, key, {
      value: numericView(child),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** A plain JSON object (not an array, not null, not a kept number). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isRawNumber(value);
}

/**
 * A value an item keeps as JSON text (its `…Json` attribute), or, in an item written before it was
 * kept so, the map it held then (`legacy`): how every such attribute is read.
 */
export function storedJson(text: unknown, legacy: unknown): unknown {
  return typeof text === 'string' ? parseJson(text) : legacy;
}
