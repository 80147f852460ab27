/**
 * Proof on every internal message. Jobs (script and HTTP), egress grants and runtime reports travel
 * through queues and invocations that tenant code must never be able to write to; each carries an
 * HMAC-SHA256 under a key tenant code never sees, so a consumer can refuse what it cannot verify.
 *
 * Two keys, so that each function holds only what it needs: `jobs` (job messages and the egress
 * grants inside script jobs; signed by the dispatchers, verified by the executors and by the recorder
 * for dead letters) and `reports` (started/result reports; signed by the executors, verified by the
 * recorder). The MAC covers a label (what the message is) and the exact body bytes, and travels in
 * the `execfabric-mac` SQS message attribute (or beside the body in a direct invocation), so the body
 * is JSON as before and no canonical form is needed. Replays are refused by the consumers' own state
 * (claims, conditional transitions), not here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from '../zod-mini.ts';

export const MESSAGE_KEY_PURPOSES = ['jobs', 'reports'] as const;
export type MessageKeyPurpose = (typeof MESSAGE_KEY_PURPOSES)[number];

/**
 * What a signed message is; part of the MAC, so a body signed as one cannot pass as another:
 * `grant` is a run's egress grant (ctx.http), `data-grant` its data grant (ctx.data), `schedule` the
 * reference to a tenant schedule that EventBridge Scheduler (or the local ticker) sends with a fire.
 */
export type MessageLabel = 'job' | 'grant' | 'data-grant' | 'schedule' | 'report';

export const LABEL_KEY: Readonly<Record<MessageLabel, MessageKeyPurpose>> = {
  job: 'jobs',
  grant: 'jobs',
  'data-grant': 'jobs',
  schedule: 'jobs',
  report: 'reports',
};

/** The SQS message attribute that carries the MAC. */
export const MAC_ATTRIBUTE = 'execfabric-mac';
const VERSION = 'v1';
/** Keys shorter than this are refused: a guessable key proves nothing. */
export const MIN_KEY_LENGTH = 32;

export class MessageKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageKeyError';
  }
}

function mac(key: string, label: MessageLabel, body: string): Buffer {
  return createHmac('sha256', Buffer.from(key, 'utf8'))
    .update(`execfabric/${label}/${VERSION}\n`, 'utf8')
    .update(body, 'utf8')
    .digest();
}

export class MessageSigner {
  readonly #keys: Partial<Record<MessageKeyPurpose, string>>;

  constructor(keys: Partial<Record<MessageKeyPurpose, string>>) {
    for (const [purpose, key] of Object.entries(keys)) {
      if (key !== undefined && key.length < MIN_KEY_LENGTH) {
        throw new MessageKeyError(`The ${purpose} message key is shorter than ${MIN_KEY_LENGTH} characters`);
      }
    }
    this.#keys = { ...keys };
  }

  holds(purpose: MessageKeyPurpose): boolean {
    return this.#keys[purpose] !== undefined;
  }

  #key(label: MessageLabel): string {
    const key = this.#keys[LABEL_KEY[label]];
    if (key === undefined) {
      throw new MessageKeyError(
        `This function holds no ${LABEL_KEY[label]} key to sign or verify a ${label}`,
      );
    }
    return key;
  }

  /** `v1.<base64url HMAC>` of the body as a message of this kind. */
  sign(label: MessageLabel, body: string): string {
    return `${VERSION}.${mac(this.#key(label), label, body).toString('base64url')}`;
  }

  /** True only for a MAC this signer's key made for exactly this label and body. */
  verify(label: MessageLabel, body: string, signature: string | undefined): boolean {
    if (signature === undefined || !signature.startsWith(`${VERSION}.`)) return false;
    const given = Buffer.from(signature.slice(VERSION.length + 1), 'base64url');
    const expected = mac(this.#key(label), label, body);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** A signed payload that travels inside another message (an egress grant inside a script job). */
export interface Sealed {
  /** The JSON text that was signed. */
  readonly body: string;
  readonly mac: string;
}

/** A sealed value as it travels, its body at most `maxBodyBytes` (checked before its MAC is). */
export function sealedSchema(maxBodyBytes: number) {
  return z.strictObject({
    body: z.string().check(z.maxLength(maxBodyBytes)),
    mac: z.string().check(z.maxLength(128)),
  });
}

export function seal(signer: MessageSigner, label: MessageLabel, value: unknown): Sealed {
  const body = JSON.stringify(value);
  return { body, mac: signer.sign(label, body) };
}

/** The parsed payload of a sealed value, or null when its MAC does not verify. */
export function unseal(signer: MessageSigner, label: MessageLabel, sealed: Sealed): unknown | null {
  if (!signer.verify(label, sealed.body, sealed.mac)) return null;
  try {
    return JSON.parse(sealed.body) as unknown;
  } catch {
    return null;
  }
}
