/**
 * The one-time sign-in that carries a person from the free entry, where they signed up, into their
 * new personal space on its own host. Sessions are host-only cookies, so the sign-up cannot set the
 * space's cookie; instead it mints a handoff in the space's own partition — a 256-bit secret kept as
 * its SHA-256, bound to the space's host and user, valid for two minutes — and the page carries it
 * to the space in the URL fragment (never sent to a server, never logged). The space's API trades it
 * for a session exactly once: the handoff is deleted by the same conditional write that checks it.
 *
 * It is also bound to the browser that signed up: the sign-up answer sets a second secret in an
 * HttpOnly cookie on the free domain (sent to the space's host, which is under it), and the handoff
 * keeps its hash. A link carrying someone's handoff, opened in another browser, signs nobody in —
 * so nobody can sign another person into a space they control (login CSRF).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Table } from '../db.ts';
import { AuthenticationError } from '../errors.ts';
import { sha256 } from '../hashing.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import { HandoffRepository } from './handoff-repository.ts';

/** How long a handoff may wait to be used. */
export const HANDOFF_SECONDS = 120;

const HANDOFF_PREFIX = 'efh';
const HANDOFF_PATTERN = /^efh_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const REFUSED =
  'This sign-in link is invalid, used, expired or made for another browser; sign in with your password';

/** The cookie that binds a handoff to the browser that signed up. */
export const HANDOFF_BROWSER_COOKIE = 'efhb';

/** A fresh browser binding (the cookie's value). */
export function newBrowserBinding(): string {
  return randomBytes(32).toString('base64url');
}

export interface Handoff {
  /** `efh_<id>_<secret>`: shown once, to the browser that signed up. */
  readonly token: string;
  readonly expiresAt: string;
}

export class Handoffs {
  readonly #store: HandoffRepository;
  readonly #now: () => Date;

  constructor(options: { readonly table: Table; readonly now?: () => Date }) {
    this.#store = new HandoffRepository(options.table);
    this.#now = options.now ?? (() => new Date());
  }

  /** A handoff to `username` on the space's host (`domain.host`), for the browser holding `browser`. */
  async create(domain: TenantContext, username: string, browser: string): Promise<Handoff> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.#now();
    const expiresAtEpoch = Math.floor(now.getTime() / 1000) + HANDOFF_SECONDS;
    await this.#store.create(domain, id, {
      username,
      secretHash: sha256(secret),
      browserHash: sha256(browser),
      createdAt: now.toISOString(),
      expiresAtEpoch,
    });
    return {
      token: `${HANDOFF_PREFIX}_${id}_${secret}`,
      expiresAt: new Date(expiresAtEpoch * 1000).toISOString(),
    };
  }

  /**
   * The user a handoff names, once: the handoff is deleted on the condition that its secret, host,
   * browser binding and expiry all match, so a second use, another host, another browser or a late
   * use finds nothing (and a wrong one does not spend it).
   */
  async consume(domain: TenantContext, token: string, browser: string | undefined): Promise<string> {
    const match = HANDOFF_PATTERN.exec(token);
    if (match === null) throw new AuthenticationError(REFUSED);
    const [, id = '', secret = ''] = match;
    if (browser === undefined || browser === '') throw new AuthenticationError(REFUSED);
    const hash = sha256(secret);
    const spent = await this.#store.consume(domain, id, {
      secretHash: hash,
      browserHash: sha256(browser),
      nowEpoch: Math.floor(this.#now().getTime() / 1000),
    });
    if (spent === null) throw new AuthenticationError(REFUSED);
    const stored = spent.secretHash;
    // The store compared the hashes; compare again in constant time before believing it.
    if (stored.length !== hash.length || !timingSafeEqual(Buffer.from(stored), Buffer.from(hash))) {
      throw new AuthenticationError(REFUSED);
    }
    return spent.username;
  }
}
