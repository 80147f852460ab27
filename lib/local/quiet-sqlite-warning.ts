/**
 * fauxqs imports `node:sqlite` for its optional persistence, which the local platform does not use
 * (queued work is recovered from the table at start), and Node prints "SQLite is an experimental
 * feature" on that import: the first line a new user saw on every `npm start`. Evaluated before
 * fauxqs is imported (services-worker.ts imports it dynamically, after this module has run), this
 * drops exactly that warning on this thread; every other warning is printed as before.
 */
const emitWarning = process.emitWarning.bind(process);

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const message = typeof warning === 'string' ? warning : warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
