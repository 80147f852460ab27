/**
 * zod/mini, with zod's English messages: what the functions that do not serve the HTTP API validate
 * with (internal messages, jobs, grants, executor bindings), and in the APIs the pipeline's parse,
 * the free entry's routes and the routes every API serves (health, the OpenAPI document). Classic
 * zod (the tenant and governance APIs' routes) builds every schema's methods and carries its JSON
 * Schema processors (docs/decisions/lambda-bundles.md). zod/mini sets no locale of its own; without
 * one every message would be "Invalid input".
 */

import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// Re-exported name by name: a namespace exported as a value would carry every export of zod/mini
// (its 64 locales among them) into each bundle.
export * from 'zod/mini';
