/**
 * Where the platform keeps state about itself, in the public partition: the lifecycle scans' state
 * (`SCANSTATE#<name>`: the last day each scan finished, the version of the lifecycle index every
 * tenant record was placed in) and the marker of a deployment's first super-admin
 * (`BOOTSTRAP#super-admin`). Every DynamoDB call of that state is here; a finish recorded by a later
 * run and a marker claimed before are answers, not errors. What a scan does stays in lifecycle.ts,
 * what bootstrapping does in bootstrap.ts.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { ITEM_TYPE, publicItemKey, TAG } from '../keys.ts';
import { putItem, updateItem } from '../store/conditional.ts';
import { scanStateKey } from './keys.ts';

export class PlatformStateRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** The version a state item records (strongly consistent), or undefined. */
  async version(name: string): Promise<unknown> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: scanStateKey(name), ConsistentRead: true }),
    );
    return result.Item?.version;
  }

  async setVersion(name: string, version: number): Promise<void> {
    await this.#table.client.send(
      new UpdateCommand({
        TableName: this.#table.name,
        Key: scanStateKey(name),
        UpdateExpression: 'SET version = :version, #type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':version': version, ':type': ITEM_TYPE.scanState },
      }),
    );
  }

  /** The day a scan last finished (strongly consistent), or undefined. */
  async lastDay(scan: string): Promise<string | undefined> {
    const result = await this.#table.client.send(
      new GetCommand({ TableName: this.#table.name, Key: scanStateKey(scan), ConsistentRead: true }),
    );
    const lastDay = result.Item?.lastDay;
    return typeof lastDay === 'string' ? lastDay : undefined;
  }

  /** Records a finished run; false when a run of a later day recorded one already (the day only moves forward). */
  async finished(scan: string, day: string, at: string): Promise<boolean> {
    return (
      (await updateItem(this.#table, {
        Key: scanStateKey(scan),
        UpdateExpression: 'SET lastDay = :today, lastRunAt = :now, #type = :type',
        ConditionExpression: 'attribute_not_exists(lastDay) OR lastDay <= :today',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':today': day, ':now': at, ':type': ITEM_TYPE.scanState },
      })) !== null
    );
  }

  /** Claims the first super-admin marker for `username`; false when a call before claimed it. */
  async claimBootstrap(username: string, at: string): Promise<boolean> {
    return putItem(this.#table, {
      Item: { ...publicItemKey(TAG.bootstrap, 'super-admin'), username, at },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  }
}
