/**
 * The port the local platform listens on: PORT, else DEFAULT_LOCAL_PORT. One place, read by
 * `npm start` (which refuses a PORT that is not a port) and by the CLI (whose hints name the local
 * platform's URLs, so they say the port it would listen on with the same environment).
 */

/** The port of every local host when PORT is not set. */
export const DEFAULT_LOCAL_PORT = 8080;

/** A port number as PORT holds it: digits only, 0–65535 (0: any free port). Null for anything else. */
export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** The port `npm start` listens on with `env`: PORT, else the default; null when PORT is not a port. */
export function localPort(env: NodeJS.ProcessEnv): number | null {
  return env.PORT === undefined ? DEFAULT_LOCAL_PORT : parsePort(env.PORT);
}
