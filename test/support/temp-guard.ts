/**
 * Vitest global setup: a test run leaves nothing of ours in the system temp folder. What the run
 * created there under our prefixes (`execfabric-…`, and `cdk.out…`, the folder a CDK app given no
 * `outdir` makes and never removes, ~34 MB each) and did not remove fails the run, named. Before
 * this check, every suite run left ~10 of those: 792 folders on one development machine, whose
 * removal freed 15 GB.
 *
 * Only names that appear during the run count, so what was there before (a platform started by
 * hand, an earlier run's leftovers) does not fail it; the Python runtime's jobs folders are kept by
 * design. What it cannot tell apart: a folder another process makes under these prefixes while the
 * run goes on (a second test run at the same time, a platform started in memory meanwhile) is
 * named as this run's — run one suite at a time. Not seen: other names (Python's `tmp…`), what a
 * run killed before its end leaves, and children given another TMPDIR.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

const OURS = /^(?:execfabric-|cdk\.out)/;
/** `/tmp/execfabric-jobs` and a user's own `execfabric-jobs-<uid>…`: the zygote's, shared across runs. */
const KEPT = /^execfabric-jobs(?:$|-\d+)/;

/** Names in the temp folder under our prefixes. */
function ourEntries(dir: string): Set<string> {
  return new Set(readdirSync(dir).filter((name) => OURS.test(name) && !KEPT.test(name)));
}

export default function setup(): () => void {
  const dir = tmpdir();
  const before = ourEntries(dir);
  return () => {
    const left = [...ourEntries(dir)].filter((name) => !before.has(name)).sort();
    if (left.length === 0) return;
    throw new Error(
      `The test run left ${left.length} folder(s) in ${dir}: ${left.join(', ')}. A test that makes a temp ` +
        'folder removes it (test/support/scratch.ts); a CDK app in a test is given an `outdir` there. ' +
        '(A folder another process made meanwhile, such as a second test run, is named too.)',
    );
  };
}
