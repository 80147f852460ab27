/** Lambda entry: this function configured from its execution environment (see handler.ts). */
import { createHandler } from './handler.ts';

export const handler = await createHandler(process.env);
