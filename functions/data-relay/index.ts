/**
 * The data-relay function: answers the `ctx.data` calls script workers relay to it (a direct
 * invocation, `{ action: 'data', grant, call }`, allowed only to the script worker). It holds table
 * access and the jobs key, verifies the run's data grant and serves only its tenant's partition and
 * the collections it names (see core/data/relay.ts). Wiring only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { AuditLog } from '../core/audit/chain.ts';
import { Collections } from '../core/data/collections.ts';
import { Records } from '../core/data/records.ts';
import { type DataRelayPorts, type DataReply, relayDataCall } from '../core/data/relay.ts';
import { executionStatusOf, TERMINAL } from '../core/executions/executions.ts';
import { tenantContext } from '../core/tenancy/hosts.ts';
import { scopeTableClient, tenantClientsFromEnv, withTenantScope } from '../core/tenancy/tenant-scope.ts';

const logger = new Logger({ serviceName: 'data-relay' });
const table = tableFromEnv();
// Every table request of a relayed call runs in its grant's tenant scope (that tenant's STS session in AWS).
scopeTableClient(table.client, tenantClientsFromEnv(process.env));
const signer = await messageSignerFromEnv(['jobs']);

const ports: DataRelayPorts = {
  signer,
  collections: new Collections({ table, audit: new AuditLog({ table }) }),
  records: new Records({ table }),
  tenant: (tenantId) => tenantContext(table, tenantId),
  async runIsLive(domain, executionId) {
    const status = await executionStatusOf(table, domain, executionId);
    return status !== null && !TERMINAL.has(status);
  },
  log: (level, message, fields) => logger[level](message, fields),
  inTenant: withTenantScope,
};

export const handler = middy<unknown, DataReply, Error, Context>().handler(async (event) =>
  relayDataCall(event, ports),
);
