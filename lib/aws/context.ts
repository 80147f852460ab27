/**
 * The CDK context keys the stack is configured by, and their validation. `bin/cdk.ts` reads the keys
 * with `tryGetContext`; values come from `cdk.json` (JSON arrays) or from `-c key=a,b` on the command
 * line (a comma-separated string or a JSON array string).
 */
import { normaliseHost } from '../edge/viewer-request.ts';
import { InvalidContextError } from './errors.ts';

export const CONTEXT = {
  adminHosts: 'execfabric:adminHosts',
  freeHosts: 'execfabric:freeHosts',
  tenantHosts: 'execfabric:tenantHosts',
  superAdmins: 'execfabric:superAdmins',
  certificateArn: 'execfabric:certificateArn',
} as const;

/** A list of non-empty strings; `undefined` (key not set) is the empty list. */
export function stringListContext(key: string, value: unknown): readonly string[] {
  if (value === undefined || value === null) return [];
  let list: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return [];
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text);
      } catch (cause) {
        throw new InvalidContextError(key, `is not a valid JSON array: ${(cause as Error).message}`);
      }
    } else {
      list = text.split(',').map((item) => item.trim());
    }
  }
  if (!Array.isArray(list)) throw new InvalidContextError(key, 'must be a list of strings');
  const items: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string' || item.trim() === '') {
      throw new InvalidContextError(key, 'must contain only non-empty strings');
    }
    items.push(item.trim());
  }
  return items;
}

const HOST_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A list of DNS host names, normalised the way the edge compares them (lower case, no port). */
export function hostListContext(key: string, value: unknown): readonly string[] {
  return stringListContext(key, value).map((raw) => {
    const host = normaliseHost(raw);
    if (!HOST_PATTERN.test(host)) throw new InvalidContextError(key, `contains an invalid host name: ${raw}`);
    return host;
  });
}

/** An optional single string. */
export function optionalStringContext(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidContextError(key, 'must be a string');
  return value.trim();
}

/** The stack properties the context configures, validated; `read` is `app.node.tryGetContext`. */
export interface ContextStackProps {
  readonly adminHosts: readonly string[];
  readonly freeHosts: readonly string[];
  readonly tenantHosts: readonly string[];
  readonly superAdmins: readonly string[];
  readonly certificateArn?: string;
}

export function stackPropsFromContext(read: (key: string) => unknown): ContextStackProps {
  const certificateArn = optionalStringContext(CONTEXT.certificateArn, read(CONTEXT.certificateArn));
  return {
    adminHosts: hostListContext(CONTEXT.adminHosts, read(CONTEXT.adminHosts)),
    freeHosts: hostListContext(CONTEXT.freeHosts, read(CONTEXT.freeHosts)),
    tenantHosts: hostListContext(CONTEXT.tenantHosts, read(CONTEXT.tenantHosts)),
    superAdmins: stringListContext(CONTEXT.superAdmins, read(CONTEXT.superAdmins)),
    ...(certificateArn === undefined ? {} : { certificateArn }),
  };
}
