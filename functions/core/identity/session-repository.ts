/**
 * Where sign-in state is stored, in the domain's own partition: sessions (`SESSION#<sid>`), the
 * instant before which a user's sessions are over (`sessionsValidAfter` on `USER#<name>`), and the
 * per-window counters of failed sign-ins (`LOGINFAIL#<hash>#<window>`). Every DynamoDB call of
 * sessions and sign-in is here; items are parsed at this boundary. Whether a session is still good
 * is decided in auth.ts.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, type Table } from '../db.ts';
import { ITEM_TYPE, itemKey, type Key, TAG } from '../keys.ts';
import { updateItem } from '../store/conditional.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import type { StoredUser } from './directory.ts';
import { userFromItem, userKey } from './directory-repository.ts';

/** A session as stored. */
export interface StoredSession {
  readonly sid: string;
  readonly username: string;
  readonly host: string;
  readonly createdAt: string;
  /** When the session ends, in epoch seconds (also the item's TTL attribute). */
  readonly expiresAtEpoch: number;
  /** Set once the session was signed out. */
  readonly revokedAt: string | null;
}

function sessionKey(domain: DomainContext, sid: string): Key {
  return itemKey(domain, TAG.session, sid);
}

function sessionFromItem(item: Record<string, unknown>): StoredSession {
  return {
    sid: String(item.sid),
    username: String(item.username),
    host: String(item.host),
    createdAt: String(item.createdAt),
    expiresAtEpoch: Number(item.expiresAtEpoch),
    revokedAt: typeof item.revokedAt === 'string' ? item.revokedAt : null,
  };
}

export class SessionRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  async create(domain: DomainContext, session: Omit<StoredSession, 'revokedAt'>): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...sessionKey(domain, session.sid), type: ITEM_TYPE.session, ...session },
      }),
    );
  }

  /**
   * The session and its user, as they are now (one consistent BatchGet): what a request signed in by
   * that session is checked against. Either may be absent.
   */
  async sessionWithUser(
    domain: DomainContext,
    sid: string,
    username: string,
  ): Promise<{ session: StoredSession | null; user: StoredUser | null }> {
    const sKey = sessionKey(domain, sid);
    const uKey = userKey(domain, username);
    const items = await batchGetAll(this.#table, [sKey, uKey], { consistent: true });
    const session = items.find((item) => item.SK === sKey.SK);
    const user = items.find((item) => item.SK === uKey.SK);
    return {
      session: session === undefined ? null : sessionFromItem(session),
      user: user === undefined ? null : userFromItem(user),
    };
  }

  /** Signs one session out (from `at` on). */
  async revoke(domain: DomainContext, sid: string, at: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: sessionKey(domain, sid),
        UpdateExpression: 'SET revokedAt = :now',
        ExpressionAttributeValues: { ':now': at },
      }),
    );
  }

  /** Ends every session `username` started before `at` (the user must exist). */
  async endSessionsOf(domain: DomainContext, username: string, at: string): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: userKey(domain, username),
        UpdateExpression: 'SET sessionsValidAfter = :after',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':after': at },
      }),
    );
  }

  /**
   * Counts one more sign-in attempt of `subject` (a hash of username and host) in `window` unless
   * `max` are counted already; false when they are. The counter outlives its window by one.
   */
  async reserveAttempt(
    domain: DomainContext,
    subject: string,
    window: number,
    windowSeconds: number,
    max: number,
  ): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: attemptsKey(domain, subject, window),
        UpdateExpression: 'ADD failures :one SET expiresAtEpoch = :expires',
        ConditionExpression: 'attribute_not_exists(failures) OR failures < :max',
        ExpressionAttributeValues: { ':one': 1, ':max': max, ':expires': (window + 2) * windowSeconds },
      })) !== null
    );
  }

  /** Gives a reserved attempt back (the sign-in succeeded). */
  async releaseAttempt(domain: DomainContext, subject: string, window: number): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: attemptsKey(domain, subject, window),
        UpdateExpression: 'ADD failures :minusOne',
        ExpressionAttributeValues: { ':minusOne': -1 },
      }),
    );
  }
}

function attemptsKey(domain: DomainContext, subject: string, window: number): Key {
  return itemKey(domain, TAG.loginFailures, subject, String(window));
}
