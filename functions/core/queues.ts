/**
 * The platform's queues as the core sees them: an SQS client plus the URL of each queue it was
 * wired to (from the topology, through the function's environment).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, queueUrlEnv } from './env.ts';

export type QueueUrls = Readonly<Partial<Record<string, string>>>;

export class Queues {
  readonly #client: SQSClient | undefined;
  readonly #urls: QueueUrls;

  /** A function wired to no queue passes no client: every send is refused. */
  constructor(client: SQSClient | undefined, urls: QueueUrls) {
    this.#client = client;
    this.#urls = urls;
  }

  /** Sends one JSON message; `group` becomes the MessageGroupId (fair queues: the tenant). */
  async send(queue: string, body: unknown, group?: string): Promise<void> {
    const url = this.#urls[queue];
    if (url === undefined || this.#client === undefined) {
      throw new Error(`This function is not wired to the ${queue} queue`);
    }
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify(body),
        ...(group === undefined ? {} : { MessageGroupId: group }),
      }),
    );
  }
}

/** The queues a function was wired to, from its environment. */
export function queuesFromEnv(names: readonly string[], env: NodeJS.ProcessEnv = process.env): Queues {
  const endpoint = env[ENV.sqsEndpoint];
  const client = new SQSClient(endpoint === undefined || endpoint === '' ? {} : { endpoint });
  const urls: Record<string, string> = {};
  for (const name of names) {
    const url = env[queueUrlEnv(name)];
    if (url !== undefined && url !== '') urls[name] = url;
  }
  return new Queues(client, urls);
}
