/**
 * Conditional writes as repositories send them: the table's name filled in, and a write refused by
 * its condition — the one failure a conditional step expects — answered as `null` for the
 * repository to turn into its own error or answer. Any other failure is thrown as it came.
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

/** What a conditional write answers, or null when its condition refused it. */
export async function unlessRefused<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) return null;
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
  return (
    (await unlessRefused(table.client.send(new PutCommand({ TableName: table.name, ...input })))) !== null
  );
}

/** A delete; false when its condition refused it. */
export async function deleteItem(
  table: Table,
  input: Omit<DeleteCommandInput, 'TableName'>,
): Promise<boolean> {
  return (
    (await unlessRefused(table.client.send(new DeleteCommand({ TableName: table.name, ...input })))) !== null
  );
}
