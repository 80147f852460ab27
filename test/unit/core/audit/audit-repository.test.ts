/**
 * The audit chain's store against a real local store (dynalite), as an attacker who can write the
 * table behind the chain's back would try it: a head or a seal rewritten into something that is not
 * one is reported and never built on, a cursor of another listing or range is refused before any
 * read, and a keyed entry written twice is one entry — even when its first writer stopped between
 * claiming the fact and writing it, and the chain was sealed meanwhile.
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditRepository } from '../../../../functions/core/audit/audit-repository.ts';
import { AuditLog } from '../../../../functions/core/audit/chain.ts';
import { entrySk, factClaimKey, headKey, sealSk } from '../../../../functions/core/audit/keys.ts';
import type { Table } from '../../../../functions/core/db.ts';
import { ValidationError } from '../../../../functions/core/errors.ts';
import { sha256 } from '../../../../functions/core/hashing.ts';
import { domainPk } from '../../../../functions/core/keys.ts';
import type { TenantContext } from '../../../../functions/core/tenancy/domain.ts';
import { ACME, localTable } from '../../../support/unit-table.ts';

const localStore = localTable();
let table: Table;

let tenant = 0;
let domain: TenantContext = ACME;
const actor = { username: 'alice', via: 'session' };

beforeEach(() => {
  table = localStore();
  // Each test its own chain.
  tenant++;
  domain = { ...ACME, tenant: { ...ACME.tenant, id: `acme${tenant}` } };
});

/** A log whose clock runs a second ahead, so that everything written is settled. */
function sealer(): AuditLog {
  return new AuditLog({ table, settleMs: 0, now: () => new Date(Date.now() + 1000) });
}

async function recordSome(log: AuditLog, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.record(domain, { actor, action: 'test.mark', target: `x:${i}` });
}

const put = (item: Record<string, unknown>) =>
  table.client.send(new PutCommand({ TableName: table.name, Item: item }));
const get = async (key: { PK: string; SK: string }) =>
  (await table.client.send(new GetCommand({ TableName: table.name, Key: key, ConsistentRead: true }))).Item;

describe('the audit chain’s store', () => {
  it('a head rewritten into something that is not a head is reported, and nothing is sealed onto it', async () => {
    const log = sealer();
    await recordSome(log, 2);
    expect(await log.seal(domain)).toBe(2);
    const pk = domainPk(domain);
    const head = (await get(headKey(pk))) as Record<string, unknown>;
    await put({ ...head, seq: String(head.seq) });
    await recordSome(log, 1);

    expect(await log.seal(domain)).toBe(0);
    expect(await get({ PK: pk, SK: sealSk(2) })).toBeUndefined();
    const report = await log.verify(domain);
    expect(report.valid).toBe(false);
    expect(report.problems.map((problem) => problem.kind)).toContain('head-mismatch');

    await put(head);
    expect(await log.seal(domain)).toBe(1);
    expect(await log.verify(domain)).toMatchObject({ valid: true, seals: 2, problems: [] });
  });

  it('a forged next seal not shaped like one is not followed by the head', async () => {
    const log = sealer();
    await recordSome(log, 2);
    expect(await log.seal(domain)).toBe(2);
    const pk = domainPk(domain);
    // What a crashed sealer would leave, but rewritten: no range, no number.
    await put({ PK: pk, SK: sealSk(2), type: 'AUDITSEAL', hash: 'f'.repeat(64), prev: 'x' });
    await recordSome(log, 1);

    expect(await log.seal(domain)).toBe(0);
    expect(await new AuditRepository(table).head(pk)).toMatchObject({ seq: 1 });
    const report = await log.verify(domain);
    expect(report.problems.map((problem) => problem.kind)).toEqual(
      expect.arrayContaining(['seal-altered', 'head-mismatch']),
    );

    await table.client.send(new DeleteCommand({ TableName: table.name, Key: { PK: pk, SK: sealSk(2) } }));
    expect(await log.seal(domain)).toBe(1);
    expect(await log.verify(domain)).toMatchObject({ valid: true, seals: 2, problems: [] });
  });

  it('a crashed sealer’s genuine seal is taken into the head by the next sealer', async () => {
    const log = sealer();
    await recordSome(log, 2);
    expect(await log.seal(domain)).toBe(2);
    const pk = domainPk(domain);
    const head = (await get(headKey(pk))) as Record<string, unknown>;
    await recordSome(log, 1);
    expect(await log.seal(domain)).toBe(1);
    // The head as it was before the second seal: as if its sealer died between seal and head.
    await put(head);

    await recordSome(log, 1);
    expect(await log.seal(domain)).toBe(1);
    expect(await new AuditRepository(table).head(pk)).toMatchObject({ seq: 3 });
    expect(await log.verify(domain)).toMatchObject({ valid: true, seals: 3, sealedEntries: 4, problems: [] });
  });

  it('a cursor of another range, index or domain is refused before any read', async () => {
    const log = sealer();
    await recordSome(log, 3);
    const first = await log.list(domain, 1, undefined, {}, 'oldest');
    expect(first.items).toHaveLength(1);
    const cursor = first.cursor as string;
    expect(cursor).toBeDefined();
    expect((await log.list(domain, 1, cursor, {}, 'oldest')).items).toHaveLength(1);

    const later = new Date(Date.now() + 60_000).toISOString();
    const refusals = [
      // The same chain, but a range that starts after the cursor's entry.
      log.list(domain, 1, cursor, { from: later }, 'oldest'),
      // Another listing of the same domain: the actor index.
      log.list(domain, 1, cursor, { actor: 'alice' }),
      // Another domain's chain.
      log.list({ ...domain, tenant: { ...domain.tenant, id: 'globex' } }, 1, cursor),
    ];
    for (const refusal of refusals) {
      await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    }
    const byActor = await log.list(domain, 1, undefined, { actor: 'alice' });
    await expect(log.list(domain, 1, byActor.cursor, { target: 'x:0' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect((await log.list(domain, 1, byActor.cursor, { actor: 'alice' })).items).toHaveLength(1);
  });

  it('a keyed entry recorded twice is one entry, listed once and verified', async () => {
    const log = sealer();
    const input = { actor, action: 'security.token-refused', target: 'token:1' };
    const once = await log.record(domain, input, { key: 'fact-1' });
    expect(await log.seal(domain)).toBe(1);
    // Recorded again seconds later (a redelivered message), after the seal: the same entry, nothing new.
    const later = new AuditLog({ table, settleMs: 0, now: () => new Date(Date.now() + 5000) });
    const twice = await later.record(domain, input, { key: 'fact-1' });
    expect(twice).toEqual(once);
    expect((await log.list(domain, 10)).items).toEqual([once]);
    expect((await log.list(domain, 10, undefined, { category: 'security' })).items).toEqual([once]);
    expect(await log.seal(domain)).toBe(0);
    expect(await log.verify(domain)).toMatchObject({ valid: true, sealedEntries: 1, problems: [] });
  });

  it('a keyed fact claimed by a writer that stopped before its entry is written now, after the sealed range', async () => {
    const log = sealer();
    const pk = domainPk(domain);
    const keyHash = sha256('fact-2');
    // What a writer leaves that claimed the fact a minute ago and died before writing the entry.
    const lost = `${new Date(Date.now() - 60_000).toISOString()}#${keyHash.slice(0, 16)}`;
    await put({ ...factClaimKey(pk, keyHash), type: 'AUDITKEY', entryId: lost });
    await recordSome(log, 2);
    expect(await log.seal(domain)).toBe(2);
    const sealedTo = (await new AuditRepository(table).head(pk)) as { toSk: string };

    const input = { actor, action: 'test.fact', target: 'x:fact', details: { usedAt: lost.slice(0, 24) } };
    const entry = await log.record(domain, input, { key: 'fact-2' });
    expect(entrySk(entry.id) > sealedTo.toSk).toBe(true);
    expect(entry.at > lost).toBe(true);
    expect(await get(factClaimKey(pk, keyHash))).toMatchObject({ entryId: entry.id });
    expect(await log.record(domain, input, { key: 'fact-2' })).toEqual(entry);
    expect(await log.seal(domain)).toBe(1);
    expect(await log.verify(domain)).toMatchObject({ valid: true, seals: 2, sealedEntries: 3, problems: [] });
  });
});
