/**
 * The execution queues from `topology.queues`, each with its dead-letter queue: SQS-managed
 * encryption, TLS-only access, visibility and retention from the topology, redrive after the
 * topology's `maxReceiveCount`. Every dead-letter queue is alarmed on visible messages, so a dead
 * job is never silently dropped even where no function reads that queue.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  deadLetterQueueName,
  functions,
  type QueueName,
  type QueueSpec,
  queues,
  VISIBILITY_FACTOR,
} from '../topology.ts';
import { mapRecord } from './record.ts';

/** The longest SQS retention: a dead letter keeps its original enqueue time, so its queue must outlive the source. */
const DEAD_LETTER_RETENTION = Duration.days(14);

export interface ExecutionQueue {
  readonly spec: QueueSpec;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
}

export class ExecutionQueues extends Construct {
  readonly byName: Readonly<Record<QueueName, ExecutionQueue>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const build = (spec: QueueSpec): ExecutionQueue => {
      const deadLetterName = deadLetterQueueName(spec.name);
      const deadLetterConsumer = spec.deadLetterConsumer;
      const deadLetterQueue = new Queue(this, deadLetterName, {
        queueName: `${stackName}-${deadLetterName}`,
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DEAD_LETTER_RETENTION,
        // A dead letter is the message that died: as large as its queue takes.
        maxMessageSizeBytes: spec.maxMessageBytes,
        ...(deadLetterConsumer === null
          ? {}
          : {
              visibilityTimeout: Duration.seconds(
                functions[deadLetterConsumer].timeoutSeconds * VISIBILITY_FACTOR,
              ),
            }),
      });
      const queue = new Queue(this, spec.name, {
        queueName: `${stackName}-${spec.name}`,
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(spec.retentionSeconds),
        maxMessageSizeBytes: spec.maxMessageBytes,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
      });
      const deadLetterAlarm = new Alarm(this, `${deadLetterName}-visible`, {
        alarmDescription: `Dead jobs are waiting in ${deadLetterName}${
          deadLetterConsumer === null ? '' : ` (${deadLetterConsumer} is not draining it)`
        }`,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      return { spec, queue, deadLetterQueue, deadLetterAlarm };
    };
    this.byName = mapRecord(queues, build);
  }
}
