/**
 * The OpenAPI 3.1 description of an API, generated from its route table: every route's method,
 * path, auth, permission, query parameters, body schema and declared responses (zod 4 schemas,
 * rendered to JSON Schema 2020-12 by zod-openapi). Nothing here lists a route by hand, so a route
 * added to a table is in the document the moment it is served. Each API serves its own document at
 * `GET /api/openapi.json` (the pipeline adds that route to every table it serves), rendered by
 * openapi-document.ts, which the route loads on its first request (zod-openapi is no part of a cold
 * start).
 * See docs/decisions/openapi.md.
 */
import * as z from '../core/zod-mini.ts';
import { PROBLEM_TYPE_PREFIX } from './problem.ts';
import { loadRoutes, media, type Route, type RouteEntry, route } from './router.ts';

/** The API's version (the platform's release, as in package.json; a unit test keeps them equal). */
export const API_VERSION = '0.1.0';

/** Where every API serves its own description. */
export const OPENAPI_PATH = '/api/openapi.json';

/** The APIs there are, by the surface a host reaches. */
export type ApiSurface = 'tenant' | 'governance' | 'free';

export function isApiSurface(surface: string): surface is ApiSurface {
  return surface === 'tenant' || surface === 'governance' || surface === 'free';
}

/** RFC 9457 problem details, as every error of the platform is answered (functions/http/problem.ts). */
export const problemSchema = z
  .looseObject({
    type: z.string().check(z.startsWith(PROBLEM_TYPE_PREFIX), z.meta({ description: 'Stable problem type' })),
    title: z.string(),
    status: z.number().check(z.int(), z.minimum(400), z.maximum(599)),
    detail: z.string(),
    instance: z.optional(z.string()).check(z.meta({ description: 'The request id' })),
    errors: z
      .optional(
        z.array(
          z.object({
            path: z.string(),
            message: z.string(),
            line: z
              .optional(z.number().check(z.int(), z.minimum(1)))
              .check(z.meta({ description: "The line, in a source field's text (1-based)" })),
            column: z
              .optional(z.number().check(z.int(), z.minimum(1)))
              .check(z.meta({ description: "The column, in a source field's text (1-based)" })),
          }),
        ),
      )
      .check(z.meta({ description: 'The invalid fields, for a validation failure' })),
  })
  .check(
    z.meta({
      id: 'Problem',
      description: `An error: \`type\` is \`${PROBLEM_TYPE_PREFIX}<slug>\`; extension members may follow.`,
    }),
  );

/** Any OpenAPI 3.1 document (what `GET /api/openapi.json` answers). */
export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().check(z.startsWith('3.1')),
    info: z.looseObject({ title: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .check(z.meta({ id: 'OpenApiDocument', description: 'This API described in OpenAPI 3.1.' }));

/**
 * A table with its own description added: `GET /api/openapi.json`, answering the document of the
 * whole table (itself included, every group loaded), generated on first request and kept for the
 * process's life.
 */
export function withOpenApi(surface: ApiSurface, routes: readonly RouteEntry[]): RouteEntry[] {
  let text: string | undefined;
  const served: Route = route({
    method: 'GET',
    path: OPENAPI_PATH,
    // Each API describes itself on its own hosts only.
    serves: surface,
    auth: 'anonymous',
    summary: 'This API described in OpenAPI 3.1',
    responses: { 200: media('application/json', { schema: openApiDocumentSchema }) },
    handle: async () => {
      if (text === undefined) {
        const { openApiDocument } = await import('./openapi-document.ts');
        text = JSON.stringify(openApiDocument(surface, await loadRoutes(all)));
      }
      return { status: 200, raw: { contentType: 'application/json', text } };
    },
  });
  const all = [...routes, served];
  return all;
}
