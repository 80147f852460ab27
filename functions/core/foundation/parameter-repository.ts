/**
 * Where a domain's parameters are stored (`PARAM#<key>` in its partition). Every DynamoDB call of
 * the parameters is here; items are parsed at this boundary and a removal of a parameter that is not
 * there comes out as a NotFoundError. Key rules, value limits and the count stay in parameters.ts.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import { domainPk, ITEM_TYPE, itemKey, TAG, typePrefix } from '../keys.ts';
import { deleteItem } from '../store/conditional.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import type { Parameter } from './parameters.ts';

function toParameter(item: Record<string, unknown>): Parameter {
  return {
    key: String(item.key),
    value: String(item.value),
    description: String(item.description ?? ''),
    updatedAt: String(item.updatedAt),
    updatedBy: String(item.updatedBy),
  };
}

export class ParameterRepository {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  /** At most `limit` parameters of the domain, in key order. */
  async list(domain: DomainContext, limit: number): Promise<Parameter[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.parameter) },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map(toParameter);
  }

  async put(domain: DomainContext, parameter: Parameter): Promise<void> {
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...itemKey(domain, TAG.parameter, parameter.key), type: ITEM_TYPE.parameter, ...parameter },
      }),
    );
  }

  async remove(domain: DomainContext, key: string): Promise<void> {
    await deleteItem(
      this.#table,
      { Key: itemKey(domain, TAG.parameter, key), ConditionExpression: 'attribute_exists(PK)' },
      (error) => new NotFoundError(`Parameter ${key} not found`, { cause: error }),
    );
  }
}
