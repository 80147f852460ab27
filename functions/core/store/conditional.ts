/**
 * Conditional writes as repositories send and read them: one writer per kind of write, given the
 * table and the command's input (its `TableName` filled in here). A write refused by its condition
 * (`ConditionalCheckFailedException`) is either an answer the caller expects (a log entry taken
 * before, an order that moved, a window that is full: `false` or `null`) or, where the caller names
 * one, the repository's own typed error, the refusal as its cause (a name taken, a revision changed).
 * Any other failure passes through unchanged.
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

/** What a repository makes of a refused write: its own typed error, with the refusal as its cause. */
export type Refusal = (cause: unknown) => Error;

/** The write's answer; a refusal is null, or `refused(cause)` thrown when the caller names one. */
async function conditional<T>(write: Promise<T>, refused: Refusal | undefined): Promise<T | null> {
  try {
    return await write;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    if (refused !== undefined) throw refused(error);
    return null;
  }
}

/** A put: true when made; false when its condition refused it (with `refused`, that error is thrown). */
export async function putItem(
  table: Table,
  input: Omit<PutCommandInput, 'TableName'>,
  refused?: Refusal,
): Promise<boolean> {
  const result = await conditional(
    table.client.send(new PutCommand({ TableName: table.name, ...input })),
    refused,
  );
  return result !== null;
}

/**
 * A delete: the item's attributes it returns (`{}` when it asks for none), or null when its
 * condition refused it (or, with `refused`, that error thrown).
 */
export async function deleteItem(
  table: Table,
  input: Omit<DeleteCommandInput, 'TableName'>,
): Promise<Record<string, unknown> | null>;
export async function deleteItem(
  table: Table,
  input: Omit<DeleteCommandInput, 'TableName'>,
  refused: Refusal,
): Promise<Record<string, unknown>>;
export async function deleteItem(
  table: Table,
  input: Omit<DeleteCommandInput, 'TableName'>,
  refused?: Refusal,
): Promise<Record<string, unknown> | null> {
  const result = await conditional(
    table.client.send(new DeleteCommand({ TableName: table.name, ...input })),
    refused,
  );
  return result === null ? null : (result.Attributes ?? {});
}

/**
 * An update: the item's attributes it returns (`{}` when it asks for none), or null when its
 * condition refused it (or, with `refused`, that error thrown).
 */
export async function updateItem(
  table: Table,
  input: Omit<UpdateCommandInput, 'TableName'>,
): Promise<Record<string, unknown> | null>;
export async function updateItem(
  table: Table,
  input: Omit<UpdateCommandInput, 'TableName'>,
  refused: Refusal,
): Promise<Record<string, unknown>>;
export async function updateItem(
  table: Table,
  input: Omit<UpdateCommandInput, 'TableName'>,
  refused?: Refusal,
): Promise<Record<string, unknown> | null> {
  const result = await conditional(
    table.client.send(new UpdateCommand({ TableName: table.name, ...input })),
    refused,
  );
  return result === null ? null : (result.Attributes ?? {});
}
