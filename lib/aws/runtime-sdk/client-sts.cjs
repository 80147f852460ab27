// What a Lambda bundle imports as @aws-sdk/client-sts: the runtime's copy, through Node's CommonJS
// loader (RUNTIME_SDK_SHIMS, lib/aws/functions.ts). The name is a variable so that esbuild leaves the
// call to run time: a literal would be resolved at build time, and its alias would lead back here.
const id = '@aws-sdk/client-sts';
module.exports = require(id);
