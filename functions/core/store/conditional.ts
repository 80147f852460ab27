/**
 * Conditional writes as repositories send and read them. A write refused by its condition
 * (`ConditionalCheckFailedException`) is either an answer the caller expects (a log entry taken
 * before, an order that moved, a window that is full) or the repository's own typed error (a name
 * taken, a revision changed); any other failure passes through unchanged.
 */
import {
  DeleteCommand,
  type DeleteCommandInput,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, type Table } from '../db.ts';

/** The write's answer, or null when its condition refused it. */
export async function unlessRefused<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}

/** Whether the write was made: false when its condition refused it. */
export async function written(write: Promise<unknown>): Promise<boolean> {
  return (await unlessRefused(write.then(() => true))) ?? false;
}

/** The write's answer; a refusal by its condition comes out as `refused(cause)`. */
export async function refusedAs<T>(write: Promise<T>, refused: (cause: unknown) => Error): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) throw refused(error);
    throw error;
  }
}

/** An update; the item's attributes it returns (`{}` when it asks for none), or null when refused. */
export async function updateItem(
  table: Table,
  input: Omit<UpdateCommandInput, 'TableName'>,
): Promise<Record<string, unknown> | null> {
  const result = await unlessRefused(
    table.client.send(new UpdateCommand({ TableName: table.name, ...input })),
  );
  return result === null ? null : (result.Attributes ?? {});
}

/** A put; false when its condition refused it. */
export async function putItem(table: Table, input: Omit<PutCommandInput, 'TableName'>): Promise<boolean> {
  return written(table.client.send(new PutCommand({ TableName: table.name, ...input })));
}

/** A delete; false when its condition refused it. */
export async function deleteItem(
  table: Table,
  input: Omit<DeleteCommandInput, 'TableName'>,
): Promise<boolean> {
  return written(table.client.send(new DeleteCommand({ TableName: table.name, ...input })));
}
