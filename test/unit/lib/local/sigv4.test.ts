/**
 * The SigV4 check in front of the local internal servers (lib/local/sigv4.ts): requests the real
 * SDK clients sign with this start's credentials pass; anything changed after signing, signed with
 * another secret, too old, or signed without the host is refused — the body included, whose signed
 * hash must be its own. Its canonical form is the SDK signer's: whatever the signer signs for any
 * path and query, the verifier accepts, and a request signed on another day is verified with that
 * day's key.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../../../functions/core/sdk-clients.ts';
import { type ReceivedRequest, SigV4Verifier } from '../../../../lib/local/sigv4.ts';

const credentials = {
  accessKeyId: 'LOCAL0123456789ABCDEF',
  secretAccessKey: 'the-secret-of-this-start-0123456789',
};

/** Requests as the real SDK clients send them to a loopback server (answered with an error). */
async function captured(send: (endpoint: string) => Promise<unknown>): Promise<ReceivedRequest> {
  const seen: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      response.end('{"__type":"ValidationException","message":"captured"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).catch(() => undefined);
  } finally {
    server.close();
  }
  const request = seen[0];
  if (request === undefined) throw new Error('nothing was sent');
  return request;
}

function dynamoGet(key = 'T#acme'): Promise<ReceivedRequest> {
  return captured(async (endpoint) => {
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      await client.send(
        new GetItemCommand({ TableName: 'execfabric', Key: { PK: { S: key }, SK: { S: 'TENANT' } } }),
      );
    } finally {
      client.destroy();
    }
  });
}

function invoke(name: string): Promise<ReceivedRequest> {
  return captured(async (endpoint) => {
    const client = new LambdaClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      await client.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{"a":1}') }));
    } finally {
      client.destroy();
    }
  });
}

const withHeaders = (request: ReceivedRequest, change: IncomingHttpHeaders): ReceivedRequest => ({
  ...request,
  headers: { ...request.headers, ...change },
});

describe('SigV4Verifier', () => {
  it('accepts what the SDK clients sign with this start’s credentials, again and again', async () => {
    const verifier = new SigV4Verifier(credentials);
    const get = await dynamoGet();
    const call = await invoke('script-worker');
    for (let round = 0; round < 3; round++) {
      expect(verifier.problem(get)).toBeNull();
      expect(verifier.problem(call)).toBeNull();
    }
  });

  it('refuses a signed request whose body was changed, whether or not its signed hash was changed too', async () => {
    const verifier = new SigV4Verifier(credentials);
    const get = await dynamoGet('T#acme');
    const other = Buffer.from(get.body.toString('utf8').replace('T#acme', 'T#globex'));
    expect(other.equals(get.body)).toBe(false);
    expect(verifier.problem({ ...get, body: other })).toBe('the body is not the one signed');
    const rehashed = withHeaders(
      { ...get, body: other },
      { 'x-amz-content-sha256': createHash('sha256').update(other).digest('hex') },
    );
    expect(verifier.problem(rehashed)).toBe('the signature does not match');
  });

  it('refuses a changed signed header, path or signature, and another secret behind the same key id', async () => {
    const verifier = new SigV4Verifier(credentials);
    const get = await dynamoGet();
    expect(verifier.problem(withHeaders(get, { 'x-amz-target': 'DynamoDB_20120810.DeleteItem' }))).toBe(
      'the signature does not match',
    );
    const call = await invoke('script-worker');
    expect(verifier.problem({ ...call, url: call.url.replace('script-worker', 'http-executor') })).toBe(
      'the signature does not match',
    );
    const authorization = String(get.headers.authorization);
    const flipped = authorization.replace(/Signature=([0-9a-f])/, (_, digit: string) =>
      digit === '0' ? 'Signature=1' : 'Signature=0',
    );
    expect(verifier.problem(withHeaders(get, { authorization: flipped }))).toBe(
      'the signature does not match',
    );
    // A verifier of another secret (a stranger's start with a guessed key id) refuses, and so does
    // this start's verifier for a request signed with that other secret.
    const stranger = new SigV4Verifier({ ...credentials, secretAccessKey: 'another-secret' });
    expect(stranger.problem(get)).toBe('the signature does not match');
    // An unsigned header may be added (the SDK signs what it signs); the request stays genuine.
    expect(verifier.problem(withHeaders(get, { 'x-extra': 'not signed' }))).toBeNull();
  });

  it('refuses an unsigned, foreign, stale or host-less request', async () => {
    const verifier = new SigV4Verifier(credentials);
    const get = await dynamoGet();
    expect(verifier.problem(withHeaders(get, { authorization: undefined }))).toBe(
      'the request carries no SigV4 signature',
    );
    expect(
      verifier.problem(
        withHeaders(get, {
          authorization: String(get.headers.authorization).replace(credentials.accessKeyId, 'AKIASTRANGER'),
        }),
      ),
    ).toBe('the request is signed with unknown credentials');
    expect(verifier.problem(get, Date.now() + 6 * 60 * 1000)).toBe('the signature has expired');
    expect(
      verifier.problem(
        withHeaders(get, {
          authorization: String(get.headers.authorization).replace('content-type;host;', 'content-type;'),
        }),
      ),
    ).toBe('the signature does not cover the host');
    expect(verifier.problem(withHeaders(get, { 'x-amz-date': '20261202T000000Z' }))).toMatch(
      /no valid x-amz-date|has expired/,
    );
  });

  it('refuses on the headers alone, before any body, what cannot be this start’s — and lets a genuine request on to the body check', async () => {
    const verifier = new SigV4Verifier(credentials);
    const get = await dynamoGet();
    // A genuine request passes the headers' check; a changed body is caught only by the full check.
    expect(verifier.problemBeforeBody(get.headers)).toBeNull();
    expect(verifier.problemBeforeBody({ ...get.headers })).toBeNull();
    const refusedEarly: IncomingHttpHeaders[] = [
      { ...get.headers, authorization: undefined },
      {
        ...get.headers,
        authorization: String(get.headers.authorization).replace(credentials.accessKeyId, 'AKIASTRANGER'),
      },
      {
        ...get.headers,
        authorization: String(get.headers.authorization).replace('content-type;host;', 'content-type;'),
      },
      { ...get.headers, 'x-amz-date': undefined },
      { ...get.headers, host: undefined },
    ];
    for (const headers of refusedEarly) {
      const early = verifier.problemBeforeBody(headers);
      expect(early).not.toBeNull();
      // The same reason the full check gives, whatever the body.
      expect(verifier.problem({ ...get, headers })).toBe(early);
    }
    expect(verifier.problemBeforeBody(get.headers, Date.now() + 6 * 60 * 1000)).toBe(
      'the signature has expired',
    );
  });

  it('verifies each day’s requests with that day’s key, across midnight', async () => {
    const verifier = new SigV4Verifier(credentials);
    const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'sqs', sha256: Sha256 });
    const signedAt = async (at: Date): Promise<ReceivedRequest> => {
      const body = Buffer.from('{"QueueUrl":"q"}');
      const signed = await signer.sign(
        {
          method: 'POST',
          protocol: 'http:',
          hostname: '127.0.0.1',
          path: '/',
          query: {},
          headers: { host: '127.0.0.1:9', 'x-amz-target': 'AmazonSQS.ReceiveMessage' },
          body,
        },
        { signingDate: at },
      );
      return { method: 'POST', url: '/', headers: signed.headers, body };
    };
    const midnight = Date.UTC(2026, 11, 2);
    const before = await signedAt(new Date(midnight - 60_000));
    const after = await signedAt(new Date(midnight + 60_000));
    expect(String(before.headers.authorization)).toContain('/20261201/');
    expect(String(after.headers.authorization)).toContain('/20261202/');
    for (let round = 0; round < 2; round++) {
      expect(verifier.problem(before, midnight)).toBeNull();
      expect(verifier.problem(after, midnight)).toBeNull();
    }
    // A request that names one day in its scope but was signed with the other day's key.
    const mixed = withHeaders(after, {
      authorization: String(after.headers.authorization).replace(
        /Signature=[0-9a-f]+/,
        String(before.headers.authorization).replace(/.*Signature=/, 'Signature='),
      ),
    });
    expect(verifier.problem(mixed, midnight)).toBe('the signature does not match');
  });

  it('accepts exactly what the SDK’s signer signs, for any path and query', async () => {
    const verifier = new SigV4Verifier(credentials);
    const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'lambda', sha256: Sha256 });
    const segment = fc.string({ minLength: 1, maxLength: 12 }).map((text) => encodeURIComponent(text));
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 8 })), {
          maxLength: 4,
        }),
        fc.uint8Array({ maxLength: 64 }),
        async (segments, pairs, bytes) => {
          const path = `/${segments.join('/')}`;
          const search = new URLSearchParams(pairs).toString();
          const query: Record<string, string | string[]> = {};
          for (const [name, value] of new URLSearchParams(search)) {
            const existing = query[name];
            query[name] = existing === undefined ? value : [existing, value].flat();
          }
          const body = Buffer.from(bytes);
          const signed = await signer.sign({
            method: 'POST',
            protocol: 'http:',
            hostname: '127.0.0.1',
            path,
            query,
            headers: { host: '127.0.0.1:9', 'content-type': 'application/octet-stream' },
            body,
          });
          const url = search === '' ? path : `${path}?${search}`;
          expect(verifier.problem({ method: 'POST', url, headers: signed.headers, body })).toBeNull();
          // The same signature over another path is refused.
          expect(verifier.problem({ method: 'POST', url: `${path}x`, headers: signed.headers, body })).toBe(
            'the signature does not match',
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
