/**
 * Vitest global setup: a test run leaves nothing in the temp folder. The run gets a temp folder of
 * its own (`TMPDIR`, which the test workers and every child that keeps its environment inherit:
 * `os.tmpdir()`, Python's `tempfile`, aws-cdk-lib's default `cdk.out…`), made like the system's — any
 * user may make entries in it, only their owner removes them (1777), since jobs and an agent run as
 * other users. At the end, what is left in it fails the run, named, and the folder is removed.
 * Before this check, every suite run left ~10 `cdk.out…` folders of ~34 MB in the system temp
 * folder: 792 on one development machine, whose removal freed 15 GB.
 *
 * Kept by design, so not counted: the Python runtime's jobs folders, which a zygote keeps across its
 * starts, and the tools' caches (`KEPT`). Not seen: children started with an environment without
 * `TMPDIR` (the CLI's, a job's: jobs get only PATH and LANG, and their leftovers are the containment
 * tests' to find), and what a run killed before its end leaves.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Not leaks: `execfabric-jobs` and a user's own `execfabric-jobs-<uid>…` (the zygote's, kept across
 * its starts), and the caches of the tools the tests start (tsx's `tsx-<uid>`, Node's
 * `node-compile-cache`). All go with the run's folder.
 */
const KEPT = /^(?:execfabric-jobs(?:$|-\d+)|tsx-\d+$|node-compile-cache$)/;

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const run = mkdtempSync(join(tmpdir(), 'execfabric-test-run-'));
  chmodSync(run, 0o1777);
  process.env.TMPDIR = run;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = readdirSync(run)
      .filter((name) => !KEPT.test(name))
      .sort();
    rmSync(run, { recursive: true, force: true });
    if (left.length === 0) return;
    throw new Error(
      `The test run left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in its temp folder: ` +
        `${left.join(', ')}. A test that makes a temp folder removes it (test/support/scratch.ts); a ` +
        'CDK app in a test is given an `outdir` there.',
    );
  };
}
