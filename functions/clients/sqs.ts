/**
 * The SQS client of a function and the queues it was wired to (URLs from its environment), pointed
 * at the local SQS-compatible server when the environment names one.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientSettings, ENV, type Environment, optionalEnv, queueUrlEnv } from '../core/env.ts';
import type { MessageSigner } from '../core/messages/signing.ts';
import { Queues } from '../core/queues.ts';
import { platformClient, sqsSettings } from '../core/sdk-clients.ts';
import { observed } from '../core/sdk-requests.ts';

/** The SQS client, at the configured endpoint or AWS's. */
export function sqsClientFromEnv(env: Environment): SQSClient {
  const settings = sqsSettings(awsClientSettings(env, ENV.sqsEndpoint));
  return observed(platformClient(settings, (config) => new SQSClient(config)));
}

/** The queues a function was wired to, from its environment. */
export function queuesFromEnv(names: readonly string[], signer: MessageSigner, env: Environment): Queues {
  const client = sqsClientFromEnv(env);
  const urls: Record<string, string> = {};
  for (const name of names) {
    const url = optionalEnv(queueUrlEnv(name), env);
    if (url !== undefined) urls[name] = url;
  }
  return new Queues(client, urls, signer);
}
