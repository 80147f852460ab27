/**
 * What the Lambda build puts in place of a package it leaves out (BUNDLE_ALIASES in
 * lib/aws/functions.ts): any use throws, naming the package's absence, so a code path that was
 * thought unreachable fails loudly instead of silently doing nothing.
 */
export default function unbundled(): never {
  throw new Error(
    'This package is not bundled into the Lambda functions (lib/aws/functions.ts, BUNDLE_ALIASES); its caller must be given an alternative',
  );
}
