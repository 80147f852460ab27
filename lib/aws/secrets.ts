/**
 * The platform's deploy-time secrets: the origin secret (CloudFront sends it in `x-execfabric-origin`,
 * the APIs compare it) and the token-signing secret. Secrets Manager generates both at deploy time;
 * the stack only ever hands out their values as `{{resolve:secretsmanager:…}}` dynamic references,
 * so no value is in the template, the cloud assembly or the repository.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Generated length; alphanumeric only, so the value is safe in an HTTP header. */
const SECRET_LENGTH = 64;

const NO_ROTATION_REASON =
  'Consumers receive this value as a CloudFormation dynamic reference (CloudFront origin header, Lambda environment), which only refreshes on deploy; automatic rotation would desynchronise them. Rotate by regenerating the value and redeploying.';

export class PlatformSecrets extends Construct {
  readonly originSecret: ISecret;
  readonly tokenSecret: ISecret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.originSecret = this.generated('OriginSecret', 'Proves a request came through the ExecFabric edge');
    this.tokenSecret = this.generated('TokenSecret', 'Signs ExecFabric access tokens');
  }

  private generated(id: string, description: string): ISecret {
    const secret = new Secret(this, id, {
      description,
      generateSecretString: { passwordLength: SECRET_LENGTH, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: NO_ROTATION_REASON });
    return secret;
  }
}
