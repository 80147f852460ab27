/**
 * Temp folders for tests, each removed when what made it ends, pass or fail: a suite run leaves
 * nothing in the system temp folder (a cdk home with its cdk.out is ~38 MB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

export interface TempDir {
  readonly path: string;
  /** Deletes the folder and all it holds; does nothing when it is already gone. */
  readonly remove: () => void;
}

/** A new folder in the system temp folder, for a caller that removes it itself (in `afterAll`). */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A new temp folder for the running test, removed when the test ends. Only inside a test. */
export function scratchDir(prefix: string): string {
  const dir = tempDir(prefix);
  onTestFinished(dir.remove);
  return dir.path;
}
