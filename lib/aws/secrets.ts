/**
 * The platform's deploy-time secrets: the origin secret (CloudFront sends it in `x-execfabric-origin`,
 * the APIs compare it), the token-signing secret, and the two message keys (`jobs`, `reports`) every
 * internal message is signed with. Secrets Manager generates all of them at deploy time; the stack
 * hands out the first two as `{{resolve:secretsmanager:…}}` dynamic references, and the message keys
 * not at all: a function reads the keys its topology lists, at cold start, by ARN — so no value is in
 * the template, the cloud assembly, a function's configuration or the repository.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { MessageKeyPurpose } from '../topology.ts';

/** Generated length; alphanumeric only, so the value is safe in an HTTP header. */
const SECRET_LENGTH = 64;

const NO_ROTATION_REASON =
  'Consumers receive this value as a CloudFormation dynamic reference (CloudFront origin header, Lambda environment), which only refreshes on deploy; automatic rotation would desynchronise them. Rotate by regenerating the value and redeploying.';

const MESSAGE_KEY_ROTATION_REASON =
  'Every function reads its message keys once per cold start; a rotated key would refuse messages signed with the old one that are still on the queues. Rotate by regenerating the value, redeploying, and letting the queues drain (see docs/decisions/message-signing.md).';

export class PlatformSecrets extends Construct {
  readonly originSecret: ISecret;
  readonly tokenSecret: ISecret;
  readonly messageKeys: Readonly<Record<MessageKeyPurpose, ISecret>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.originSecret = this.generated('OriginSecret', 'Proves a request came through the ExecFabric edge');
    this.tokenSecret = this.generated('TokenSecret', 'Signs ExecFabric access tokens');
    this.messageKeys = {
      jobs: this.generated(
        'JobsKey',
        'Signs ExecFabric job messages and egress grants (HMAC key)',
        MESSAGE_KEY_ROTATION_REASON,
      ),
      reports: this.generated(
        'ReportsKey',
        'Signs ExecFabric runtime reports (HMAC key)',
        MESSAGE_KEY_ROTATION_REASON,
      ),
    };
  }

  private generated(id: string, description: string, rotation = NO_ROTATION_REASON): ISecret {
    const secret = new Secret(this, id, {
      description,
      generateSecretString: { passwordLength: SECRET_LENGTH, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotation });
    return secret;
  }
}
