/**
 * An attacker's pass from inside a tenant's script at its own run's result. The job process holds
 * its result pipe (it must: `ctx` calls and the result travel on it), so a script can find that
 * descriptor and write a result line of its own — any status, any output — and leave before main()
 * returns. The runner's own output limit and JSON checks are then skipped: the script wrote the line.
 * What must hold is what the platform checks after the sandbox, on the recording path: the output
 * size limit (MAX_OUTPUT_BYTES) and the output schema of the Skill revision that ran.
 *
 * The first case shows the forging works (a forged small output that obeys the schema is recorded
 * as the run's output — no more than the script could return anyway), so the other cases cannot pass
 * because the descriptor was not found. Each of them fails if its check on the recording path is
 * removed (`Executions` output size and schema checks): the forged output would be recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_BYTES } from '../../functions/core/executions/recording.ts';
import { HOSTS, startTestPlatform } from '../support/platform.ts';
import { type Runner, runner } from '../support/runs.ts';

const PASSWORD = 'attacks-result-pipe-password';

/** Finds the write-only pipe that is not stdout/stderr, writes the given result line on it, and leaves. */
const FORGER = `import fcntl, json, os

def main(inputs, ctx):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in (0, 1, 2):
            continue
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if flags & os.O_ACCMODE == os.O_WRONLY:
            result = inputs["result"]
            if "blobBytes" in inputs:
                result["output"]["blob"] = "x" * inputs["blobBytes"]
            line = json.dumps(result, separators=(",", ":")) + "\\n"
            data = line.encode("ascii")
            while data:
                data = data[os.write(fd, data):]
            os._exit(0)
    return {"found": False}
`;

const t = await startTestPlatform(PASSWORD);
let acme: Runner;
let forger: string;

beforeAll(async () => {
  const alice = await t.login(HOSTS.acme, 'alice');
  acme = runner(t, HOSTS.acme, alice);
  forger = await acme.skill(FORGER, {
    outputSchema: {
      type: 'object',
      properties: { blob: { type: 'string' }, role: { enum: ['user'] } },
      additionalProperties: false,
    },
  });
});

afterAll(async () => {
  await t.stop();
});

describe('a script that writes its own result line on its result pipe', () => {
  it('can forge only what it could have returned (the descriptor is found and used)', async () => {
    const run = await acme.run(forger, { result: { status: 'succeeded', output: { role: 'user' } } });
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.output).toEqual({ role: 'user' });
  });

  it('cannot record an output over the platform’s output limit', async () => {
    // Made in the script (a run's input is far smaller): a quarter of a MiB and a bit of JSON.
    const run = await acme.run(forger, {
      result: { status: 'succeeded', output: {} },
      blobBytes: MAX_OUTPUT_BYTES + 1024,
    });
    expect(run.status, JSON.stringify(run).slice(0, 500)).not.toBe('succeeded');
    expect(run.output ?? null).toBeNull();
    expect(JSON.stringify(run)).not.toContain('x'.repeat(1024));
  });

  it('cannot record an output its Skill’s output schema refuses', async () => {
    const run = await acme.run(forger, { result: { status: 'succeeded', output: { role: 'super-admin' } } });
    expect(run.status, JSON.stringify(run)).toBe('failed');
    expect(run.output ?? null).toBeNull();
  });

  it('cannot make its run end in a status that is not a script outcome', async () => {
    for (const status of ['cancelled', 'rejected', 'pending_approval', 'queued']) {
      const run = await acme.run(forger, { result: { status, output: { role: 'user' } } });
      // The runner does not know the status: the job process ended without a result it can read.
      expect(run.status, JSON.stringify(run)).toBe('failed');
    }
  });
});
