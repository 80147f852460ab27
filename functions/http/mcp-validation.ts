/**
 * The JSON Schema validator the MCP SDK's `Server` is given. The SDK validates only one thing with
 * it: the answer to an elicitation (`elicitInput`, a form the server asks the client's user to fill
 * in), against the schema the server sent. This server never elicits, so nothing reaches it; should
 * the SDK ever validate with it, every value is refused (fail closed), never accepted unchecked.
 *
 * It is not backed by the platform's schema validator (core/catalog/schemas.ts): the SDK's interface
 * is synchronous, and that validator compiles asynchronously. Passing it keeps the SDK's default
 * (Ajv with its formats and fast-uri, ~130 KiB) out of the tenant API's bundle: the Lambda build
 * swaps those packages for a stub that throws (lib/aws/functions.ts, BUNDLE_ALIASES).
 */
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';

export const REFUSED_ELICITATION =
  'This server asks for no elicitation: nothing is validated against a schema it did not send';

export const refusingSchemaValidator: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: REFUSED_ELICITATION }),
};
