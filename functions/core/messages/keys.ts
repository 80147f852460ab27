/**
 * The environment names of a function's message keys: the value itself (the local platform, which
 * makes fresh keys at every start) or a Secrets Manager secret's id (AWS). Read once per process, at
 * cold start, by functions/clients/message-keys.ts.
 */
import type { MessageKeyPurpose } from './signing.ts';

/** `jobs` → `EXECFABRIC_JOBS_KEY` (the value) and `EXECFABRIC_JOBS_KEY_SECRET` (a secret's id). */
export function messageKeyEnv(purpose: MessageKeyPurpose): { value: string; secret: string } {
  const base = `EXECFABRIC_${purpose.toUpperCase()}_KEY`;
  return { value: base, secret: `${base}_SECRET` };
}
