/**
 * The SigV4 check in front of the local internal servers (lib/local/sigv4.ts), per request: CPU of
 * one verification of a GetItem as the SDK client signs it, against the baseline in the same
 * process — the SDK's own signer re-signing the same request from scratch (a new SignatureV4 per
 * request, as the check did before it kept its derived keys and computed the canonical request
 * itself).
 *
 *   npx tsx bench/sigv4-guard.ts [requests = 20000]
 */
import { loadavg } from 'node:os';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../functions/core/sdk-clients.ts';
import { type ReceivedRequest, SigV4Verifier } from '../lib/local/sigv4.ts';
import { machine } from './support.ts';

const REQUESTS = Number(process.argv[2] ?? '20000');
const credentials = {
  accessKeyId: 'LOCAL0123456789ABCDEF',
  secretAccessKey: 'bench-secret-0123456789abcdef',
};
const body = Buffer.from(
  JSON.stringify({
    TableName: 'execfabric',
    Key: { PK: { S: 'T#acme' }, SK: { S: 'EXEC#ex-0000000001abcdef0123' } },
    ConsistentRead: true,
  }),
);
const signed = await new SignatureV4({
  credentials,
  region: 'us-east-1',
  service: 'dynamodb',
  sha256: Sha256,
}).sign(
  {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    path: '/',
    query: {},
    headers: {
      host: '127.0.0.1:40000',
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.GetItem',
      'content-length': String(body.length),
      'amz-sdk-invocation-id': '00000000-0000-4000-8000-000000000000',
      'amz-sdk-request': 'attempt=1; max=3',
      'x-amz-user-agent': 'aws-sdk-js/3',
    },
    body,
  },
  { signingDate: new Date() },
);
const request: ReceivedRequest = { method: 'POST', url: '/', headers: signed.headers, body };

/** Re-signs the request with a fresh SDK signer and compares (the baseline). */
async function resigned(): Promise<boolean> {
  const headers = { ...signed.headers };
  delete headers.authorization;
  const again = await new SignatureV4({
    credentials,
    region: 'us-east-1',
    service: 'dynamodb',
    sha256: Sha256,
    applyChecksum: false,
  }).sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/', query: {}, headers, body },
    {
      signingDate: new Date(
        String(signed.headers['x-amz-date']).replace(
          /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
          '$1-$2-$3T$4:$5:$6Z',
        ),
      ),
    },
  );
  return again.headers.authorization === signed.headers.authorization;
}

const verifier = new SigV4Verifier(credentials);
if (verifier.problem(request) !== null || !(await resigned()))
  throw new Error('the bench request does not verify');

async function cpuPerCall(run: () => unknown): Promise<number> {
  for (let warm = 0; warm < 2000; warm++) await run();
  const before = process.cpuUsage();
  for (let index = 0; index < REQUESTS; index++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / REQUESTS;
}

// Alternated, three rounds each, so that warm-up and the machine's load fall on both alike.
const baselines: number[] = [];
const verifies: number[] = [];
for (let round = 0; round < 3; round++) {
  baselines.push(await cpuPerCall(resigned));
  verifies.push(await cpuPerCall(() => verifier.problem(request)));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? Number.NaN;
const baseline = median(baselines);
const verify = median(verifies);
process.stdout.write(
  [
    `SigV4 check per request, ${new Date().toISOString()}, ${machine()}; ${REQUESTS} requests per row; load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at the end`,
    '',
    '| check | CPU µs per request |',
    '| --- | ---: |',
    `| baseline: the SDK's signer re-signs the request (a new signer per request) | ${baseline.toFixed(1)} (rounds: ${baselines.map((value) => value.toFixed(1)).join(', ')}) |`,
    `| \`SigV4Verifier.problem\` (kept derived keys, canonical request computed here, body hashed) | ${verify.toFixed(1)} (rounds: ${verifies.map((value) => value.toFixed(1)).join(', ')}) |`,
    '',
    `Ratio (medians): **${(verify / baseline).toFixed(2)}×** the baseline.`,
  ]
    .join('\n')
    .concat('\n'),
);
