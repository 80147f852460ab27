/** Tenant parameters: key/value settings admins keep for their users and scripts. Not for secrets. */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { NotFoundError, QuotaExceededError, ValidationError } from '../errors.ts';
import type { Caller } from '../identity/caller.ts';
import { domainPk, ITEM_TYPE, itemKey, TAG, typePrefix } from '../keys.ts';
import type { DomainContext } from '../tenancy/domain.ts';

export const PARAMETER_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const MAX_PARAMETER_VALUE_BYTES = 4096;
export const MAX_PARAMETERS = 500;

export interface Parameter {
  readonly key: string;
  readonly value: string;
  readonly description: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export class Parameters {
  readonly #table: Table;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#table = options.table;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  async list(domain: DomainContext): Promise<Parameter[]> {
    const result = await this.#table.client.send(
      new QueryCommand({
        TableName: this.#table.name,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': domainPk(domain), ':prefix': typePrefix(TAG.parameter) },
        Limit: MAX_PARAMETERS,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      key: String(item.key),
      value: String(item.value),
      description: String(item.description ?? ''),
      updatedAt: String(item.updatedAt),
      updatedBy: String(item.updatedBy),
    }));
  }

  async set(
    domain: DomainContext,
    input: { key: string; value: string; description?: string },
    actor: Caller,
  ) {
    if (!PARAMETER_KEY_PATTERN.test(input.key)) {
      throw new ValidationError('Invalid parameter key', [
        { path: 'key', message: 'a letter, then letters, digits, _ . - (max 64)' },
      ]);
    }
    if (Buffer.byteLength(input.value, 'utf8') > MAX_PARAMETER_VALUE_BYTES) {
      throw new ValidationError('Parameter value too long', [
        { path: 'value', message: `at most ${MAX_PARAMETER_VALUE_BYTES} bytes` },
      ]);
    }
    const existing = await this.list(domain);
    if (existing.length >= MAX_PARAMETERS && !existing.some((parameter) => parameter.key === input.key)) {
      throw new QuotaExceededError(`A tenant keeps at most ${MAX_PARAMETERS} parameters`);
    }
    const parameter: Parameter = {
      key: input.key,
      value: input.value,
      description: input.description ?? '',
      updatedAt: this.#now().toISOString(),
      updatedBy: actor.username,
    };
    await this.#table.client.send(
      new PutCommand({
        TableName: this.#table.name,
        Item: { ...itemKey(domain, TAG.parameter, input.key), type: ITEM_TYPE.parameter, ...parameter },
      }),
    );
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'parameter.set',
      target: `parameter:${input.key}`,
      details: { bytes: Buffer.byteLength(input.value, 'utf8') },
    });
    return parameter;
  }

  async remove(domain: DomainContext, key: string, actor: Caller): Promise<void> {
    try {
      await this.#table.client.send(
        new DeleteCommand({
          TableName: this.#table.name,
          Key: itemKey(domain, TAG.parameter, key),
          ConditionExpression: 'attribute_exists(PK)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new NotFoundError(`Parameter ${key} not found`);
      throw error;
    }
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'parameter.removed',
      target: `parameter:${key}`,
    });
  }
}
