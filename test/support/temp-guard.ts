/**
 * Vitest global setup: a test run leaves nothing of ours in the system temp folder. What the run
 * created there under our prefixes (`execfabric-…`, and `cdk.out…`, the folder a CDK app given no
 * `outdir` makes and never removes, ~34 MB each) and did not remove fails the run, named. Before
 * this check, every suite run left ~10 of those: 792 folders on one development machine, whose
 * removal freed 15 GB.
 *
 * Only folders created during the run count, so what other processes keep there (a platform started
 * by hand) does not fail it; the Python runtime's shared jobs folder is kept by design.
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
        'folder removes it (test/support/scratch.ts); a CDK app in a test is given an `outdir` there.',
    );
  };
}
