/**
 * A throttled worker never dead-letters a job: when Lambda answers an invoke with 429
 * (`TooManyRequestsException`, after the SDK's own retries), the dispatcher puts the job back on the
 * queue as a new message — same body, same MAC, one more deferral — and reports no batch failure,
 * so the receive count that leads to the dead-letter queue never grows. A dispatcher of its own is
 * configured from the platform's environment and runs for real against the local queues and claims
 * table; only its Lambda endpoint is a loopback stand-in that throttles, driven through the real
 * Lambda SDK client.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, queueUrlEnv } from '../../functions/core/env.ts';
import { MAC_ATTRIBUTE } from '../../functions/core/messages/signing.ts';
import { createHandler, DEFERRALS_ATTRIBUTE } from '../../functions/script-dispatcher/handler.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

let platform: TestPlatform;
let throttler: Server;
let invokes = 0;
let waiting = '';
let dispatchBatch: (event: SQSEvent) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  platform = await startTestPlatform('dispatcher-throttle-password');
  throttler = createServer((request, response) => {
    request.resume();
    invokes++;
    response.writeHead(429, {
      'content-type': 'application/json',
      'x-amzn-errortype': 'TooManyRequestsException',
    });
    response.end(
      JSON.stringify({
        message: 'Rate Exceeded.',
        Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      }),
    );
  });
  throttler.listen(0, '127.0.0.1');
  await once(throttler, 'listening');
  const { sqs } = platform.platform.services;
  // A queue nobody polls stands for the script queue, so the test sees what the dispatcher puts back.
  waiting = (await sqs.send(new CreateQueueCommand({ QueueName: 'throttled-jobs' }))).QueueUrl ?? '';
  // A dispatcher of its own, configured like the platform's but for the throttler and the waiting queue
  // (the platform's own dispatcher keeps its configuration).
  const handler = await createHandler({
    ...platform.platform.env,
    [ENV.lambdaEndpoint]: `http://127.0.0.1:${(throttler.address() as AddressInfo).port}`,
    [queueUrlEnv('script-executions')]: waiting,
  });
  dispatchBatch = (event) => handler(event, {} as Context);
}, 120_000);

afterAll(async () => {
  throttler?.close();
  await platform?.stop();
});

describe('a throttled script worker', () => {
  it('puts the job back as a new message instead of counting toward the dead-letter limit', async () => {
    const body = JSON.stringify({
      kind: 'python-script',
      jobId: 'acme:ex-throttled',
      executionId: 'ex-throttled',
      tenantId: 'acme',
      concurrency: 2,
      limits: { timeoutSeconds: 5 },
    });
    const mac = platform.platform.signer.sign('job', body);
    const answer = await dispatchBatch({
      Records: [
        {
          messageId: 'throttled-1',
          receiptHandle: 'unused',
          body,
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: { [MAC_ATTRIBUTE]: { stringValue: mac, dataType: 'String' } },
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:script-executions',
          awsRegion: 'us-east-1',
        },
      ],
    });
    expect(answer.batchItemFailures).toEqual([]);
    expect(invokes).toBeGreaterThanOrEqual(1);
    const back = await platform.platform.services.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: waiting,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 5,
      }),
    );
    const message = back.Messages?.[0];
    expect(message?.Body).toBe(body);
    expect(message?.MessageAttributes?.[MAC_ATTRIBUTE]?.StringValue).toBe(mac);
    expect(message?.MessageAttributes?.[DEFERRALS_ATTRIBUTE]?.StringValue).toBe('1');
  }, 60_000);
});
