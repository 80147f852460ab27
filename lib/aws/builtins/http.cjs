// What a Lambda bundle imports as node:http: Node's module, through the CommonJS loader
// (requiredBuiltinShims, lib/aws/functions.ts). An ES module's `import … from 'node:http'` has Node
// build the builtin's ESM facade, which reads every export, and the lazy ones (WebSocket, EventSource…)
// load undici: ~15 ms of every cold start. The name is a variable so that esbuild leaves the call to
// run time: a literal would be resolved at build time, and its alias would lead back here.
const id = 'node:http';
module.exports = require(id);
