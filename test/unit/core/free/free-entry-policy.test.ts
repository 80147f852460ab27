/**
 * The free entry's scope policy as an attacker would probe it: only personal spaces may be its
 * scope, host claims only under the free hosts (never a customer's host, the console's, or the free
 * entry's own), nothing of the public domain but point reads and audit appends, and the free
 * edition's own partitions.
 */
import { describe, expect, it } from 'vitest';
import { isPersonalTenantId } from '../../../../functions/core/free/handles.ts';
import { freeRateKey, LEADS_PARTITION, leadKey, offerKey } from '../../../../functions/core/free/keys.ts';
import { hostKey, publicItemKey, TENANT_LISTING, tenantKey } from '../../../../functions/core/keys.ts';
import {
  freeEntryPolicy,
  PartitionScopeError,
  principalFor,
} from '../../../../functions/core/tenancy/tenant-scope.ts';

const policy = freeEntryPolicy({ freeHosts: ['free.localhost'], isPersonal: isPersonalTenantId });
const check = (command: string, input: Record<string, unknown>, scope?: string) =>
  principalFor(command, input, scope, policy);
const get = (key: { PK: string; SK: string }) => ({ TableName: 't', Key: key });
const put = (key: { PK: string; SK: string }) => ({ TableName: 't', Item: { ...key, x: 1 } });

describe('the free entry’s scope policy', () => {
  it('lets a personal space be a scope, and no other tenant', () => {
    expect(check('PutItemCommand', put(tenantKey('p-alice')), 'p-alice')).toBe('tenant');
    expect(() => check('PutItemCommand', put(tenantKey('acme')), 'acme')).toThrow(
      /not a scope the free entry/,
    );
    expect(() => check('GetItemCommand', get(tenantKey('acme')), 'acme')).toThrow(PartitionScopeError);
    expect(() => check('PutItemCommand', put(tenantKey('p-bob')), 'p-alice')).toThrow(PartitionScopeError);
    expect(() => check('GetItemCommand', get(tenantKey('p-alice')), undefined)).toThrow(PartitionScopeError);
  });

  it('claims and releases hosts under the free hosts only', () => {
    expect(check('PutItemCommand', put(hostKey('alice.free.localhost')))).toBe('function');
    expect(check('DeleteItemCommand', get(hostKey('alice.free.localhost')))).toBe('function');
    for (const host of [
      'acme.localhost',
      'admin.localhost',
      'free.localhost',
      'evilfree.localhost',
      'x.free.localhost.evil',
    ]) {
      expect(() => check('PutItemCommand', put(hostKey(host))), host).toThrow(PartitionScopeError);
      expect(() => check('DeleteItemCommand', get(hostKey(host))), host).toThrow(PartitionScopeError);
    }
    // Reading any binding is fine (resolving the entry's own host, checking a handle).
    expect(check('GetItemCommand', get(hostKey('acme.localhost')))).toBe('function');
  });

  it('reads and writes the free edition’s own partitions', () => {
    for (const key of [leadKey('lead_x'), offerKey('tpl-1'), freeRateKey('signup-address', 'ab', 1)]) {
      expect(check('PutItemCommand', put(key))).toBe('function');
      expect(check('UpdateItemCommand', get(key))).toBe('function');
    }
    const leads = {
      TableName: 't',
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': LEADS_PARTITION },
    };
    expect(check('QueryCommand', leads)).toBe('function');
  });

  it('refuses every other write to the public domain, and whole-table reads', () => {
    expect(check('GetItemCommand', get(publicItemKey('TEMPLATE', 't1')))).toBe('function');
    expect(() => check('PutItemCommand', put(publicItemKey('TEMPLATE', 't1')))).toThrow(PartitionScopeError);
    expect(() => check('PutItemCommand', put(publicItemKey('USER', 'admin')))).toThrow(PartitionScopeError);
    expect(() => check('PutItemCommand', put(tenantKey('acme')))).toThrow(PartitionScopeError);
    expect(() => check('ScanCommand', { TableName: 't' })).toThrow(PartitionScopeError);
    const listing = {
      TableName: 't',
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': TENANT_LISTING },
    };
    expect(() => check('QueryCommand', listing)).toThrow(PartitionScopeError);
  });
});
