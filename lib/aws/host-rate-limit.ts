/**
 * The per-host API rate limit in AWS (the rule: lib/edge/rate-limit.ts; the local edge counts the
 * same): a WAFv2 web ACL on the CloudFront distribution whose rate-based rule aggregates API requests
 * by their Host header, lower-cased, and the client's address, and answers a pair past the rule 429
 * with the platform's problem body. Every host is one tenant, console or personal space, so one tenant's flood
 * meets its own limit before it reaches the API stage's throttle, which every tenant shares; the
 * answer says, in `Retry-After` and the body, to wait one window. Its
 * blocked requests are logged to `aws-waf-logs-<stack>` (only those: an allowed request is in the
 * distribution's and the API's access logs already).
 *
 * A web ACL for CloudFront exists only in us-east-1, so the stack makes it (and its log group) only
 * when it deploys there: a CloudFormation condition, so one template serves every region. In another
 * region the operator makes the same web ACL in us-east-1 and names it in context
 * `execfabric:webAclArn` (docs/deploy.md); that ARN, when given, is used in every region instead.
 */
import { ArnFormat, Aws, CfnCondition, CfnOutput, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type CfnLogGroup, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnLoggingConfiguration, CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { HOST_API_RATE, type HostRateRule, rateLimitedProblem } from '../edge/rate-limit.ts';
import { apiPaths } from '../topology.ts';

/** The region where CloudFront's web ACLs live. */
export const CLOUDFRONT_WAF_REGION = 'us-east-1';
const BODY_KEY = 'rate-limited';

/**
 * What a refused host is told to wait. WAF blocks a host while its count over the trailing window is
 * past the rule and says nothing of when that ends; a host that sends nothing for one window has a
 * count of zero, so the window is the one wait that is always enough.
 */
export function retryAfterSeconds(rule: HostRateRule): number {
  return rule.windowSeconds;
}

export interface HostRateLimitProps {
  /** A web ACL (scope CLOUDFRONT) made elsewhere; the stack then makes none. @default - made in us-east-1 */
  readonly webAclArn?: string;
  /** @default HOST_API_RATE */
  readonly rule?: HostRateRule;
  /** Retention of the blocked requests' log. @default one year */
  readonly logRetention?: RetentionDays;
}

/** The scope of the count: the viewer paths that reach an API (WAF sees them before the edge function). */
function apiPathStatements(): CfnWebACL.StatementProperty[] {
  return apiPaths.map((spec) => ({
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: spec.match === 'subtree' ? 'STARTS_WITH' : 'EXACTLY',
      searchString: spec.match === 'subtree' ? `${spec.prefix}/` : spec.prefix,
      textTransformations: [{ priority: 0, type: 'NONE' }],
    },
  }));
}

export class HostRateLimit extends Construct {
  /** The web ACL's ARN for the distribution's `webAclId` (no value where none applies). */
  readonly webAclId: string;
  /** The web ACL this stack makes (absent when one is named). */
  readonly webAcl?: CfnWebACL;

  constructor(scope: Construct, id: string, props: HostRateLimitProps = {}) {
    super(scope, id);
    if (props.webAclArn !== undefined) {
      this.webAclId = props.webAclArn;
      return;
    }
    const stack = Stack.of(this);
    const rule = props.rule ?? HOST_API_RATE;
    const inWafRegion = new CfnCondition(this, 'InCloudFrontWafRegion', {
      expression: Fn.conditionEquals(Aws.REGION, CLOUDFRONT_WAF_REGION),
    });
    const metric = (name: string) => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${stack.stackName}-${name}`.slice(0, 128),
      sampledRequestsEnabled: true,
    });

    const webAcl = new CfnWebACL(this, 'WebAcl', {
      name: `${stack.stackName}-edge`.slice(0, 128),
      description: 'ExecFabric: API requests per host, each host one tenant',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: metric('edge'),
      customResponseBodies: {
        [BODY_KEY]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify(rateLimitedProblem(rule, retryAfterSeconds(rule))),
        },
      },
      rules: [
        {
          name: 'api-requests-per-host',
          priority: 0,
          statement: {
            rateBasedStatement: {
              limit: rule.requests,
              evaluationWindowSec: rule.windowSeconds,
              aggregateKeyType: 'CUSTOM_KEYS',
              // Host and client address together: anyone may send any Host, so counted by the
              // Host alone an outsider with no credential could spend a tenant's whole budget.
              customKeys: [
                { header: { name: 'host', textTransformations: [{ priority: 0, type: 'LOWERCASE' }] } },
                { ip: {} },
              ],
              scopeDownStatement: { orStatement: { statements: apiPathStatements() } },
            },
          },
          // A Block's custom response headers are sent as named (only headers WAF inserts into a
          // request it lets through get the `x-amzn-waf-` prefix); Content-Type is the one WAF keeps.
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: BODY_KEY,
                responseHeaders: [{ name: 'Retry-After', value: String(retryAfterSeconds(rule)) }],
              },
            },
          },
          visibilityConfig: metric('api-requests-per-host'),
        },
      ],
    });
    webAcl.cfnOptions.condition = inWafRegion;
    this.webAcl = webAcl;

    const logGroupName = `aws-waf-logs-${stack.stackName}`;
    const log = new LogGroup(this, 'BlockedRequests', {
      logGroupName,
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (log.node.defaultChild as CfnLogGroup).cfnOptions.condition = inWafRegion;
    const logging = new CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: webAcl.attrArn,
      // WAF takes the log group's ARN without the `:*` CloudFormation's Arn attribute ends with.
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }],
          },
        ],
      },
    });
    logging.cfnOptions.condition = inWafRegion;
    logging.addDependency(log.node.defaultChild as CfnLogGroup);

    this.webAclId = Fn.conditionIf(inWafRegion.logicalId, webAcl.attrArn, Aws.NO_VALUE).toString();

    // Elsewhere the stack deploys with no count per host: the operator is told so after the deploy,
    // as the personal-hosts outputs tell what is not served, not left to find it in a flood.
    new CfnOutput(this, 'Unset', {
      description: `No per-host API rate limit in this region: make the web ACL in ${CLOUDFRONT_WAF_REGION} and set execfabric:webAclArn (docs/deploy.md); until then the API stage's throttle, shared by every tenant, is the only bound`,
      value: Aws.REGION,
      condition: new CfnCondition(this, 'OutsideCloudFrontWafRegion', {
        expression: Fn.conditionNot(inWafRegion),
      }),
    });
  }
}
