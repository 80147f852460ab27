/**
 * Prints every route of the APIs from the route tables themselves (the API reference that cannot
 * drift): `npx tsx scripts/routes.ts`.
 */

import { documentClient } from '../functions/clients/dynamodb.ts';
import { builtCore } from '../functions/core/assembly/sign-in.ts';
import { ENV } from '../functions/core/env.ts';
import { createCore } from '../functions/core/platform.ts';
import { freeRoutes } from '../functions/free-api/routes.ts';
import { governanceRoutes } from '../functions/governance-api/routes.ts';
import { loadRoutes, type Route } from '../functions/http/router.ts';
import { tenantRoutes } from '../functions/tenant-api/routes.ts';

// Building the tables touches no database; the core only needs a table to exist in name.
const core = createCore({
  table: { client: documentClient({ [ENV.dynamodbEndpoint]: 'http://127.0.0.1:1' }), name: 'routes' },
});

function print(title: string, routes: readonly Route[]) {
  process.stdout.write(`\n${title}\n`);
  for (const route of routes) {
    const who =
      route.auth === 'anonymous'
        ? 'anyone'
        : route.auth === 'mcp-client'
          ? 'an AI client token (MCP)'
          : route.auth === 'agent'
            ? "a local agent's token"
            : (route.permission ?? 'any signed-in user');
    process.stdout.write(`  ${route.method.padEnd(6)} ${route.path.padEnd(48)} ${who}\n`);
  }
}

print('Tenant API (every tenant host, e.g. acme.localhost)', await loadRoutes(tenantRoutes(builtCore(core))));
print(
  'Governance API (the console host, e.g. admin.localhost)',
  await loadRoutes(governanceRoutes(builtCore(core))),
);
print(
  'Free entry API (the free host, e.g. free.localhost)',
  await loadRoutes(freeRoutes(async () => core.free)),
);
