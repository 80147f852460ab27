/**
 * The edge in the synthesized template: the multi-tenant distribution and its tenants, the viewer
 * function (byte-for-byte the shared source, and behaving as the edge must), the behaviours of the
 * API paths (`/api/*`, `/mcp`, the protected-resource metadata), and the private site bucket that
 * only this distribution may read.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_HEADER, ORIGIN_HEADER, SCHEME_HEADER } from '../../functions/core/headers.ts';
import { builtPages } from '../../lib/aws/edge.ts';
import { REPOSITORY_ROOT } from '../../lib/aws/stack.ts';
import { HOST_API_RATE, rateLimitedProblem } from '../../lib/edge/rate-limit.ts';
import {
  compileDeployedViewerRequest,
  compileViewerRequest,
  compileViewerResponse,
  viewerRequestSource,
  viewerResponseSource,
} from '../../lib/edge/viewer-request.ts';
import { apiPaths, sites } from '../../lib/topology.ts';
import { type TempDir, tempDir } from '../support/scratch.ts';
import { logicalId, onlyResource, type Synthesized, synthesize } from './support.ts';

/** Managed policy ids (AWS-published constants). */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

let synth: Synthesized;

interface DistributionConfig {
  ConnectionMode?: string;
  IPV6Enabled?: unknown;
  Origins: {
    Id: string;
    DomainName: unknown;
    OriginAccessControlId?: unknown;
    S3OriginConfig?: unknown;
    OriginCustomHeaders?: { HeaderName: string; HeaderValue: unknown }[];
  }[];
  DefaultCacheBehavior: Record<string, unknown>;
  CacheBehaviors: Record<string, unknown>[];
  Logging?: Record<string, unknown>;
}

function distributionConfig(): DistributionConfig {
  const distribution = onlyResource(synth.resources, 'AWS::CloudFront::Distribution');
  return distribution.Properties?.DistributionConfig as DistributionConfig;
}

beforeAll(() => {
  synth = synthesize();
});

describe('CloudFront Function', () => {
  it('runs exactly viewerRequestSource() for the configured hosts and built docs pages, on cloudfront-js-2.0', () => {
    const { adminHosts, freeHosts, docsHosts } = synth.context;
    expect(docsHosts.length).toBeGreaterThan(0);
    expect(adminHosts.length).toBeGreaterThan(0);
    const docsPages = builtPages(resolve(REPOSITORY_ROOT, sites.docs.dir));
    expect(docsPages).toContain('/guide/cli.html');
    synth.template.resourceCountIs('AWS::CloudFront::Function', 2);
    synth.template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: viewerRequestSource({ adminHosts, freeHosts, docsHosts }, { docsPages }),
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
      AutoPublish: true,
    });
    synth.template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: viewerResponseSource(),
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
      AutoPublish: true,
    });
  });

  it('is associated as viewer-request with every behaviour, and as viewer-response with the sites’ only', () => {
    const config = distributionConfig();
    const fnId = logicalId(synth.stack, synth.stack.edge.viewerRequest);
    const responseId = logicalId(synth.stack, synth.stack.edge.viewerResponse);
    const association = [
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } },
    ];
    expect(config.DefaultCacheBehavior.FunctionAssociations).toEqual([
      ...association,
      { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': [responseId, 'FunctionARN'] } },
    ]);
    for (const behaviour of config.CacheBehaviors)
      expect(behaviour.FunctionAssociations).toEqual(association);
  });

  it('as deployed, strips client platform headers, binds the host and routes by surface', () => {
    const { adminHosts, freeHosts, docsHosts } = synth.context;
    expect(docsHosts.length).toBeGreaterThan(0);
    const deployed = synth.resources[logicalId(synth.stack, synth.stack.edge.viewerRequest)]?.Properties
      ?.FunctionCode as string;
    const handler = compileViewerRequest(deployed);
    const request = (host: string, uri: string) =>
      handler({
        request: {
          uri,
          method: 'GET',
          headers: {
            host: { value: host },
            [ORIGIN_HEADER]: { value: 'forged' },
            'X-ExecFabric-Host': { value: 'evil.example' },
          },
        },
      });
    const admin = request(`${adminHosts[0]}:443`, '/api/tenants');
    expect(admin.uri).toBe('/governance/api/tenants');
    expect(admin.headers[ORIGIN_HEADER]).toBeUndefined();
    expect(admin.headers['X-ExecFabric-Host']).toBeUndefined();
    expect(admin.headers[HOST_HEADER]).toEqual({ value: adminHosts[0] });
    expect(request(freeHosts[0] ?? '', '/signup').uri).toBe('/free/index.html');
    expect(request('acme.customer.example', '/assets/app.js').uri).toBe('/tenant/assets/app.js');
    expect(request('acme.customer.example', '/mcp').uri).toBe('/tenant/mcp');
  });
});

describe('a missing page of the docs site, as deployed', () => {
  const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';
  let docsSynth: Synthesized;
  let built: TempDir;
  beforeAll(() => {
    built = tempDir('execfabric-site-');
    for (const site of Object.keys(sites)) {
      mkdirSync(join(built.path, site, 'guide'), { recursive: true });
      writeFileSync(join(built.path, site, 'index.html'), `<!doctype html><title>${site}</title>`);
    }
    writeFileSync(join(built.path, 'docs', 'guide', 'cli.html'), '<!doctype html><title>CLI</title>');
    writeFileSync(join(built.path, 'docs', '404.html'), '<!doctype html><title>404</title>');
    docsSynth = synthesize({
      siteDirs: Object.fromEntries(Object.keys(sites).map((site) => [site, join(built.path, site)])),
    });
  }, 120_000);
  afterAll(() => built.remove());

  function deployed(construct: 'viewerRequest' | 'viewerResponse'): string {
    const id = logicalId(docsSynth.stack, docsSynth.stack.edge[construct]);
    return docsSynth.resources[id]?.Properties?.FunctionCode as string;
  }

  function request(uri: string, accept?: string) {
    const docsHost = docsSynth.context.docsHosts[0] ?? '';
    return compileDeployedViewerRequest(deployed('viewerRequest'))({
      request: {
        uri,
        method: 'GET',
        headers: {
          host: { value: docsHost },
          ...(accept === undefined ? {} : { accept: { value: accept } }),
        },
      },
      context: { requestId: 'req-1' },
    });
  }

  it('gives a browser the site’s 404.html, whose 200 the viewer-response function turns into a 404', () => {
    const toBucket = request('/guide/nope', BROWSER_ACCEPT);
    expect(toBucket).toMatchObject({ uri: '/docs/404.html' });
    const viewerResponse = compileViewerResponse(deployed('viewerResponse'));
    if (!('uri' in toBucket)) throw new Error('the 404 page goes to the bucket');
    const answered = viewerResponse({ request: toBucket, response: { statusCode: 200, headers: {} } });
    expect(answered.statusCode).toBe(404);
    // A page that exists keeps the bucket's status.
    const page = request('/guide/cli', BROWSER_ACCEPT);
    expect(page).toMatchObject({ uri: '/docs/guide/cli.html' });
    if (!('uri' in page)) throw new Error('a page goes to the bucket');
    expect(viewerResponse({ request: page, response: { statusCode: 200, headers: {} } }).statusCode).toBe(
      200,
    );
    expect(request('/', BROWSER_ACCEPT)).toMatchObject({ uri: '/docs/index.html' });
  });

  it('answers any other client itself with a problem+json 404 naming its instance', () => {
    const answer = request('/guide/nope', 'application/json');
    expect(answer).toMatchObject({
      statusCode: 404,
      headers: { 'content-type': { value: 'application/problem+json' } },
    });
    if (!('statusCode' in answer) || answer.body === undefined) throw new Error('a generated answer');
    expect(JSON.parse(answer.body.data)).toMatchObject({
      type: 'urn:execfabric:problem:not-found',
      status: 404,
      instance: 'req-1',
    });
  });

  it('uses no custom error responses, which would replace the API’s problems too', () => {
    const config = onlyResource(docsSynth.resources, 'AWS::CloudFront::Distribution').Properties
      ?.DistributionConfig as Record<string, unknown>;
    expect(config).not.toHaveProperty('CustomErrorResponses');
  });
});

describe('multi-tenant distribution', () => {
  it('is tenant-only and leaves IPv6 to the connection group', () => {
    const config = distributionConfig();
    expect(config.ConnectionMode).toBe('tenant-only');
    expect(config).not.toHaveProperty('IPV6Enabled');
    synth.template.resourceCountIs('AWS::CloudFront::ConnectionGroup', 1);
    synth.template.hasResourceProperties('AWS::CloudFront::ConnectionGroup', { Enabled: true });
  });

  it('creates no distribution tenant: every host, the platform’s own too, is onboarded at run time', () => {
    // A tenant with a managed certificate is refused until its DNS points at the connection group
    // this stack creates, so a stack that made one could never deploy the first time.
    synth.template.resourceCountIs('AWS::CloudFront::DistributionTenant', 0);
    synth.template.hasOutput('RoutingEndpoint', {
      Value: { 'Fn::GetAtt': [logicalId(synth.stack, synth.stack.edge.connectionGroup), 'RoutingEndpoint'] },
    });
  });

  it('sends every API path to the HTTP API uncached, with every viewer header but Host, for every method', () => {
    const config = distributionConfig();
    const patterns = [
      '/api/*',
      '/mcp',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ];
    expect(apiPaths).toHaveLength(patterns.length);
    expect(config.CacheBehaviors.map((behaviour) => behaviour.PathPattern).sort()).toEqual(
      [...patterns].sort(),
    );
    for (const pattern of patterns) {
      const api = config.CacheBehaviors.filter((behaviour) => behaviour.PathPattern === pattern);
      expect(api, pattern).toHaveLength(1);
      expect(api[0], pattern).toEqual(
        expect.objectContaining({
          TargetOriginId: 'api',
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          ViewerProtocolPolicy: 'https-only',
        }),
      );
      expect([...((api[0]?.AllowedMethods ?? []) as string[])].sort(), pattern).toEqual(
        ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'].sort(),
      );
    }
    const apiOrigin = config.Origins.find((origin) => origin.Id === 'api');
    const apiId = logicalId(synth.stack, synth.stack.api.httpApi);
    expect(JSON.stringify(apiOrigin?.DomainName)).toContain(`{"Ref":"${apiId}"},".execute-api."`);
  });

  it('tells the API the viewer scheme (https), next to the origin proof', () => {
    const apiOrigin = distributionConfig().Origins.find((origin) => origin.Id === 'api');
    const headers = Object.fromEntries(
      (apiOrigin?.OriginCustomHeaders ?? []).map((header) => [header.HeaderName, header.HeaderValue]),
    );
    expect(headers[SCHEME_HEADER]).toBe('https');
    expect(Object.keys(headers).sort()).toEqual([ORIGIN_HEADER, SCHEME_HEADER].sort());
  });

  it('serves the sites from the private bucket through origin access control, and logs', () => {
    const config = distributionConfig();
    const bucketId = logicalId(synth.stack, synth.stack.edge.siteBucket);
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe('sites');
    const sites = config.Origins.find((origin) => origin.Id === 'sites');
    expect(sites?.DomainName).toEqual({ 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    expect(sites?.OriginAccessControlId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'],
    });
    expect(config.Logging).toEqual(expect.objectContaining({ Prefix: 'cloudfront/' }));
    synth.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
  });

  it('lets only this distribution read the site bucket, which blocks all public access', () => {
    const bucketId = logicalId(synth.stack, synth.stack.edge.siteBucket);
    synth.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'site-bucket-access/' }),
    });
    const policy = onlyResource(
      synth.resources,
      'AWS::S3::BucketPolicy',
      (resource) => JSON.stringify(resource.Properties?.Bucket) === JSON.stringify({ Ref: bucketId }),
    );
    const document = policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] };
    const allows = document.Statement.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toEqual(
      expect.objectContaining({
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      }),
    );
    const distributionId = logicalId(synth.stack, synth.stack.edge.distribution);
    expect(JSON.stringify(allows[0]?.Condition)).toContain(`{"Ref":"${distributionId}"}`);
  });

  it('uploads every site, each under its own prefix', () => {
    synth.template.resourceCountIs('Custom::CDKBucketDeployment', Object.keys(sites).length);
    for (const site of Object.values(sites)) {
      expect(existsSync(resolve(REPOSITORY_ROOT, site.dir, 'index.html')), site.name).toBe(true);
      synth.template.hasResourceProperties('Custom::CDKBucketDeployment', {
        DestinationBucketKeyPrefix: `${site.name}/`,
      });
    }
  });
});

describe('the per-host API rate limit (WAF)', () => {
  const WEB_ACL_ARN =
    'arn:aws:wafv2:us-east-1:123456789012:global/webacl/operator-edge/0f3c2a4e-8d1b-4c7a-9e6f-1a2b3c4d5e6f';

  it('counts each host’s API requests as the local edge does, and answers past the rule 429 with the problem and Retry-After', () => {
    const webAcl = onlyResource(synth.resources, 'AWS::WAFv2::WebACL');
    const props = webAcl.Properties as Record<string, unknown>;
    expect(props.Scope).toBe('CLOUDFRONT');
    expect(props.DefaultAction).toEqual({ Allow: {} });
    const rules = props.Rules as Record<string, unknown>[];
    expect(rules).toHaveLength(1);
    const rule = rules[0] as Record<string, unknown>;
    const statement = (rule.Statement as { RateBasedStatement: Record<string, unknown> }).RateBasedStatement;
    expect(statement).toMatchObject({
      Limit: HOST_API_RATE.requests,
      EvaluationWindowSec: HOST_API_RATE.windowSeconds,
      AggregateKeyType: 'CUSTOM_KEYS',
      // The client's address is part of the key: no one spends another's budget.
      CustomKeys: [
        { Header: { Name: 'host', TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }] } },
        { IP: {} },
      ],
    });
    // Exactly the API paths: `/api/` and below, `/mcp` and the metadata; a site's files do not count.
    const scoped = (
      statement.ScopeDownStatement as {
        OrStatement: { Statements: { ByteMatchStatement: Record<string, unknown> }[] };
      }
    ).OrStatement.Statements.map(({ ByteMatchStatement: match }) => [
      match.PositionalConstraint,
      match.SearchString,
    ]);
    expect(scoped).toEqual(
      apiPaths.map((spec) =>
        spec.match === 'subtree' ? ['STARTS_WITH', `${spec.prefix}/`] : ['EXACTLY', spec.prefix],
      ),
    );
    // The refused client is told when to come back, in the header and in the body, as locally: one
    // window, after which a host that stopped has no count left.
    expect(rule.Action).toEqual({
      Block: {
        CustomResponse: {
          ResponseCode: 429,
          CustomResponseBodyKey: 'rate-limited',
          ResponseHeaders: [{ Name: 'Retry-After', Value: String(HOST_API_RATE.windowSeconds) }],
        },
      },
    });
    const bodies = props.CustomResponseBodies as Record<string, { ContentType: string; Content: string }>;
    expect(bodies['rate-limited']?.ContentType).toBe('APPLICATION_JSON');
    const body = JSON.parse(bodies['rate-limited']?.Content ?? '');
    expect(body).toEqual(rateLimitedProblem(HOST_API_RATE, HOST_API_RATE.windowSeconds));
    expect(body.retryAfterSeconds).toBe(60);
    expect(body.detail).toContain('try again in 60 s');
  });

  it('is made only in us-east-1, where CloudFront’s web ACLs live, with a log of what it blocked; elsewhere an output says there is none', () => {
    const condition = Object.entries(synth.template.toJSON().Conditions as Record<string, unknown>).find(
      ([, expression]) =>
        JSON.stringify(expression) ===
        JSON.stringify({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }),
    )?.[0];
    expect(condition).toBeDefined();
    for (const type of ['AWS::WAFv2::WebACL', 'AWS::WAFv2::LoggingConfiguration', 'AWS::Logs::LogGroup']) {
      const conditioned = Object.values(synth.resources).filter(
        (resource) => resource.Type === type && (resource as { Condition?: string }).Condition === condition,
      );
      expect(conditioned, type).toHaveLength(1);
    }
    const webAclId = Object.entries(synth.resources).find(
      ([, resource]) => resource.Type === 'AWS::WAFv2::WebACL',
    )?.[0];
    expect((distributionConfig() as unknown as Record<string, unknown>).WebACLId).toEqual({
      'Fn::If': [condition, { 'Fn::GetAtt': [webAclId, 'Arn'] }, { Ref: 'AWS::NoValue' }],
    });
    const logging = onlyResource(synth.resources, 'AWS::WAFv2::LoggingConfiguration').Properties as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(logging.LogDestinationConfigs)).toContain(':log-group:aws-waf-logs-');
    // In any other region the deploy's outputs say there is no count per host, and how to get one.
    const template = synth.template.toJSON() as {
      Conditions: Record<string, unknown>;
      Outputs: Record<string, { Condition?: string; Description?: string; Value?: unknown }>;
    };
    const unset = Object.values(template.Outputs).filter((output) =>
      output.Description?.startsWith('No per-host API rate limit'),
    );
    expect(unset).toHaveLength(1);
    expect(unset[0]?.Description).toContain('execfabric:webAclArn');
    expect(unset[0]?.Value).toEqual({ Ref: 'AWS::Region' });
    expect(template.Conditions[unset[0]?.Condition ?? '']).toEqual({ 'Fn::Not': [{ Condition: condition }] });
    expect(logging.LoggingFilter).toEqual({
      DefaultBehavior: 'DROP',
      Filters: [
        {
          Behavior: 'KEEP',
          Requirement: 'MEETS_ANY',
          Conditions: [{ ActionCondition: { Action: 'BLOCK' } }],
        },
      ],
    });
  });

  it('attaches the operator’s web ACL instead, in any region, when context names one', () => {
    const named = synthesize({ webAclArn: WEB_ACL_ARN });
    named.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    const distribution = onlyResource(named.resources, 'AWS::CloudFront::Distribution');
    const config = distribution.Properties?.DistributionConfig as Record<string, unknown> | undefined;
    expect(config?.WebACLId).toBe(WEB_ACL_ARN);
    const outputs = Object.values(
      (named.template.toJSON() as { Outputs: Record<string, { Description?: string }> }).Outputs,
    );
    expect(outputs.filter((output) => output.Description?.startsWith('No per-host API rate limit'))).toEqual(
      [],
    );
  });
});
