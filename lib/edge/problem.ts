/**
 * A problem+json body as the edge answers it itself (the local edge's 408, 413, 429, 503, 504, and
 * the WAF's 429 body): the same `type` prefix and members as the API's problems
 * (functions/http/problem.ts), built in one place for both edges.
 */
import { PROBLEM_TYPE_PREFIX } from '../../functions/contract/headers.ts';

export function edgeProblem(
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return { type: `${PROBLEM_TYPE_PREFIX}${code}`, title, status, detail, ...extra };
}
