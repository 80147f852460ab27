/**
 * The platform table (tenant-partitioned, sparse GSIs) and the small claims table, both from
 * `topology.table` / `topology.claimsTable`: on-demand, point-in-time recovery, TTL; the platform
 * table is also deletion-protected and retained.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { claimsTable, table } from '../topology.ts';

export class DataStores extends Construct {
  readonly table: Table;
  readonly claimsTable: Table;
  /** GSI names of the platform table, in topology order. */
  readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: table.partitionKey, type: AttributeType.STRING },
      sortKey: { name: table.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: table.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of table.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
    this.indexNames = table.indexes.map((index) => index.name);

    this.claimsTable = new Table(this, 'ClaimsTable', {
      partitionKey: { name: claimsTable.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: claimsTable.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** ARNs of the platform table's GSIs (no wildcard, so grants name each index). */
  indexArns(): string[] {
    return this.indexNames.map((name) => `${this.table.tableArn}/index/${name}`);
  }
}
