/**
 * JSON.parse source text access (TC39, shipped in V8 11.4 / Node.js 21+): `JSON.rawJSON`,
 * `JSON.isRawJSON` and the reviver's third `context` argument. TypeScript's es2023 lib does not
 * declare them yet.
 */
interface RawJSON {
  readonly rawJSON: string;
}

interface JSONReviverContext {
  /** The source text of a primitive value (absent for objects and arrays). */
  readonly source?: string;
}

interface JSON {
  rawJSON(text: string): RawJSON;
  isRawJSON(value: unknown): value is RawJSON;
  parse(
    text: string,
    reviver: (this: unknown, key: string, value: unknown, context: JSONReviverContext) => unknown,
  ): unknown;
}
