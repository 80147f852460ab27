/**
 * The platform's queues as the core sees them: an SQS client, the URL of each queue it was wired to
 * (from the topology, through the function's environment) and the signer every message is signed
 * with: a consumer refuses any message whose MAC does not verify (see messages/signing.ts).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, queueUrlEnv } from './env.ts';
import { MAC_ATTRIBUTE, type MessageLabel, type MessageSigner } from './messages/signing.ts';
import { observed } from './sdk-requests.ts';

export type QueueUrls = Readonly<Partial<Record<string, string>>>;

/** What each queue carries, so a message is signed as what its consumer expects. */
export const QUEUE_MESSAGES: Readonly<Record<string, MessageLabel>> = {
  'script-executions': 'job',
  'http-executions': 'job',
  'execution-results': 'report',
};

export class Queues {
  readonly #client: SQSClient | undefined;
  readonly #urls: QueueUrls;
  readonly #signer: MessageSigner | undefined;

  /** A function wired to no queue passes no client: every send is refused. */
  constructor(client: SQSClient | undefined, urls: QueueUrls, signer?: MessageSigner) {
    this.#client = client;
    this.#urls = urls;
    this.#signer = signer;
  }

  /** Sends one signed JSON message; `group` becomes the MessageGroupId (fair queues: the tenant). */
  async send(queue: string, body: unknown, group?: string): Promise<void> {
    const url = this.#urls[queue];
    const label = QUEUE_MESSAGES[queue];
    if (url === undefined || this.#client === undefined || label === undefined) {
      throw new Error(`This function is not wired to the ${queue} queue`);
    }
    if (this.#signer === undefined) throw new Error(`This function holds no key to sign ${queue} messages`);
    const text = JSON.stringify(body);
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: text,
        MessageAttributes: {
          [MAC_ATTRIBUTE]: { DataType: 'String', StringValue: this.#signer.sign(label, text) },
        },
        ...(group === undefined ? {} : { MessageGroupId: group }),
      }),
    );
  }
}

/** The queues a function was wired to, from its environment. */
export function queuesFromEnv(
  names: readonly string[],
  signer: MessageSigner,
  env: NodeJS.ProcessEnv = process.env,
): Queues {
  const endpoint = env[ENV.sqsEndpoint];
  const client = observed(new SQSClient(endpoint === undefined || endpoint === '' ? {} : { endpoint }));
  const urls: Record<string, string> = {};
  for (const name of names) {
    const url = env[queueUrlEnv(name)];
    if (url !== undefined && url !== '') urls[name] = url;
  }
  return new Queues(client, urls, signer);
}

/** The MAC a received SQS record carries (Lambda's event shape), if any. */
export function macOf(record: {
  readonly messageAttributes?: Readonly<Record<string, { readonly stringValue?: string | undefined }>>;
}): string | undefined {
  return record.messageAttributes?.[MAC_ATTRIBUTE]?.stringValue;
}
