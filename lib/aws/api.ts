/**
 * The HTTP API (API Gateway v2) behind the edge: one `ANY <path>` route per `topology.routes` entry
 * to that route's function (payload 2.0), a `$default` stage with throttling and JSON access logs.
 * Routes carry no API Gateway authorizer: each API authenticates its bearer token and rejects any
 * request without the edge's origin secret, so only CloudFront-forwarded traffic is served.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type FunctionName, routes } from '../topology.ts';
import type { PlatformFunctions } from './functions.ts';

export interface ApiThrottle {
  /** Steady-state requests per second across the API. */
  readonly rateLimit: number;
  /** Burst bucket size. */
  readonly burstLimit: number;
}

export interface PlatformApiProps {
  readonly functions: PlatformFunctions;
  /** Retention of the access-log group. */
  readonly logRetention: RetentionDays;
  /** Stage-wide throttling. */
  readonly throttle: ApiThrottle;
}

const NO_AUTHORIZER_REASON =
  'Authentication is the handler’s job: the API checks the x-execfabric-origin secret (only CloudFront has it) and the bearer token bound to the request’s host, which an API Gateway authorizer cannot see.';

export class PlatformApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: PlatformApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-api`,
      description: 'ExecFabric APIs, reached through the CloudFront edge',
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of routes) {
      let integration = integrations.get(route.function);
      if (integration === undefined) {
        integration = new HttpLambdaIntegration(
          `${route.function}-integration`,
          props.functions.get(route.function),
        );
        integrations.set(route.function, integration);
      }
      for (const httpRoute of this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod.ANY],
        integration,
      })) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: NO_AUTHORIZER_REASON });
      }
    }
  }
}
