/**
 * The data-relay function: answers the `ctx.data` calls script workers relay to it (a direct
 * invocation, `{ action: 'data', grant, call }`, allowed only to the script worker). It holds table
 * access and the jobs key, verifies the run's data grant and serves only its tenant's partition and
 * the collections it names (see core/data/relay.ts). Configuration only: the Lambda entry (index.ts)
 * passes its execution environment, the local platform its own.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tableFromEnv } from '../clients/dynamodb.ts';
import { loggerFromEnv } from '../clients/logger.ts';
import { messageSignerFromEnv } from '../clients/message-keys.ts';
import { AuditLog } from '../core/audit/chain.ts';
import { Collections } from '../core/data/collections.ts';
import { Records } from '../core/data/records.ts';
import { type DataRelayPorts, type DataReply, relayDataCall } from '../core/data/relay.ts';
import type { Environment } from '../core/env.ts';
import { executionStatusOf, TERMINAL } from '../core/executions/executions.ts';
import { tenantContext } from '../core/tenancy/hosts.ts';
import { scopeTableClient, tenantClientsFromEnv, withTenantScope } from '../core/tenancy/tenant-scope.ts';

export async function createHandler(env: Environment) {
  const logger = loggerFromEnv('data-relay', env);
  const table = tableFromEnv(env);
  // Every table request of a relayed call runs in its grant's tenant scope (that tenant's STS session in AWS).
  scopeTableClient(table.client, tenantClientsFromEnv(env));
  const signer = await messageSignerFromEnv(['jobs'], { env });

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

  return middy<unknown, DataReply, Error, Context>().handler(async (event) => relayDataCall(event, ports));
}
