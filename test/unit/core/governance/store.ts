/**
 * A real DynamoDB-compatible store (dynalite, in memory) for the governance unit suites, with a
 * crash switch in the SDK client's own middleware: after the n-th write has been applied, the
 * caller gets an error instead of the answer — what a Lambda timing out between two steps sees.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../../../../functions/core/audit/chain.ts';
import type { Table } from '../../../../functions/core/db.ts';
import { BindingOnlyHostEdge } from '../../../../functions/core/governance/edge.ts';
import { createGovernance, type Governance } from '../../../../functions/core/governance/index.ts';
import { HostDirectory } from '../../../../functions/core/tenancy/hosts.ts';
import { type LocalServices, startLocalServices } from '../../../../lib/local/services.ts';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

export class SimulatedCrash extends Error {
  constructor(write: number) {
    super(`simulated crash after write ${write}`);
    this.name = 'SimulatedCrash';
  }
}

export interface TestStore {
  readonly services: LocalServices;
  readonly table: Table;
  readonly audit: AuditLog;
  readonly governance: Governance;
  /** Writes applied since the last reset. */
  writes(): number;
  /** Crash right after the n-th write from now (1-based); `null` disarms. */
  crashAfter(write: number | null): void;
  stop(): Promise<void>;
}

export async function startTestStore(now?: () => Date): Promise<TestStore> {
  const services = await startLocalServices({ dataDir: null, visibilityTimeoutSeconds: null });
  const client = DynamoDBDocumentClient.from(services.dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  let writes = 0;
  let crashAt: number | null = null;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (WRITES.has(String(context.commandName))) {
        writes++;
        if (crashAt !== null && writes === crashAt) {
          crashAt = null;
          throw new SimulatedCrash(writes);
        }
      }
      return result;
    },
    { step: 'initialize', name: 'simulatedCrash' },
  );
  const table: Table = { client, name: services.tableName };
  const audit = new AuditLog({ table, ...(now === undefined ? {} : { now }) });
  const governance = createGovernance({
    table,
    audit,
    hosts: new HostDirectory({ table }),
    hostEdge: new BindingOnlyHostEdge(),
    ...(now === undefined ? {} : { now }),
  });
  return {
    services,
    table,
    audit,
    governance,
    writes: () => writes,
    crashAfter(write) {
      crashAt = write === null ? null : writes + write;
    },
    stop: () => services.stop(),
  };
}
