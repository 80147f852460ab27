/**
 * The contract between the platform and its clients: statuses, risks and approval rules, permission
 * ids, header names, route paths and the shapes of the APIs' answers. Plain TypeScript with no
 * imports outside this folder, so the core, the handlers, the CLI and the fronts (bundled by Vite)
 * all read the one declaration.
 */
export * from './catalog.ts';
export * from './dates.ts';
export * from './executions.ts';
export * from './headers.ts';
export * from './identity.ts';
export * from './names.ts';
export * from './paths.ts';
export * from './permissions.ts';
export * from './responses.ts';
export * from './tenancy.ts';
export * from './wording.ts';
