/**
 * The Lambda client of a Node function, and invocations in a tenant's execution environment.
 *
 * The client is the runtime's (`@aws-sdk/client-lambda` is left external in every bundle): plain
 * `Invoke` is long-stable. Tenant isolation needs `X-Amz-Tenant-Id` on the request, which the
 * runtime's SDK copy may predate (an unknown `TenantId` input member would be dropped silently, and the
 * tenant-isolated worker would refuse the call). So the header is written by a build-step middleware
 * on the command, before signing: the same request whatever the runtime's SDK version, and the client
 * is not bundled (~420 KiB with its Smithy core; see docs/decisions/lambda-bundles.md).
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { awsClientSettings, ENV, type Environment } from '../core/env.ts';
import { platformClient } from '../core/sdk-clients.ts';
import { observed } from '../core/sdk-requests.ts';

/** The header Lambda reads the tenant of a tenant-isolated invocation from. */
export const TENANT_ID_HEADER = 'X-Amz-Tenant-Id';

/** The Lambda client, pointed at the local stand-in when the environment names one. */
export function lambdaClientFromEnv(env: Environment): LambdaClient {
  const settings = awsClientSettings(env, ENV.lambdaEndpoint);
  return observed(platformClient(settings, (config) => new LambdaClient(config)));
}

export interface TenantInvocation {
  readonly functionName: string;
  readonly tenantId: string;
  readonly payload: Uint8Array;
}

/** A synchronous invocation (`RequestResponse`) in an execution environment of `tenantId`. */
export function invokeInTenant(
  client: LambdaClient,
  invocation: TenantInvocation,
): Promise<InvokeCommandOutput> {
  const command = new InvokeCommand({
    FunctionName: invocation.functionName,
    InvocationType: 'RequestResponse',
    Payload: invocation.payload,
  });
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers !== undefined) {
        // One spelling only, whatever a newer SDK may already have written.
        for (const name of Object.keys(request.headers)) {
          if (name.toLowerCase() === TENANT_ID_HEADER.toLowerCase()) delete request.headers[name];
        }
        request.headers[TENANT_ID_HEADER] = invocation.tenantId;
      }
      return next(args);
    },
    { step: 'build', name: 'execfabricTenantIdHeader' },
  );
  return client.send(command);
}
