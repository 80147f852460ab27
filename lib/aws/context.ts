/**
 * The CDK context keys the stack is configured by, and their validation. `bin/cdk.ts` reads the keys
 * with `tryGetContext`; values come from `cdk.json` (JSON arrays) or from `-c key=a,b` on the command
 * line (a comma-separated string or a JSON array string).
 */
import { normaliseHost } from '../edge/viewer-request.ts';
import { type FunctionName, functions } from '../topology.ts';
import { InvalidContextError } from './errors.ts';

export const CONTEXT = {
  /** A deployment's name: the stack becomes `ExecFabric-<stage>`, and every physical name follows. */
  stage: 'execfabric:stage',
  adminHosts: 'execfabric:adminHosts',
  freeHosts: 'execfabric:freeHosts',
  /** Hosts of the documentation site. */
  docsHosts: 'execfabric:docsHosts',
  superAdmins: 'execfabric:superAdmins',
  certificateArn: 'execfabric:certificateArn',
  /** Host names (a leading `*.` covers one label) the certificate covers. */
  certificateHosts: 'execfabric:certificateHosts',
  /**
   * ACM certificate (us-east-1, DNS-validated) covering `*.<free host>` for every free host: serves the
   * personal spaces' hosts through one wildcard distribution tenant per free host.
   */
  personalHostsCertificateArn: 'execfabric:personalHostsCertificateArn',
  /** Route 53 hosted zone (id and name, both or neither) in which the stack creates the personal-host records. */
  hostedZoneId: 'execfabric:hostedZoneId',
  hostedZoneName: 'execfabric:hostedZoneName',
  /** `{ "<function>": n }`: reserved concurrency, only where configured. */
  reservedConcurrency: 'execfabric:reservedConcurrency',
  /**
   * A WAFv2 web ACL (scope CLOUDFRONT, us-east-1) for the distribution, instead of the one the stack
   * makes when it deploys in us-east-1 (lib/aws/host-rate-limit.ts): for a stack in another region.
   */
  webAclArn: 'execfabric:webAclArn',
} as const;

/** Keys an earlier version read; setting one now is refused rather than silently ignored. */
export const RETIRED_CONTEXT: Readonly<Record<string, string>> = {
  'execfabric:tenantHosts':
    'is no longer read: customer hosts are bound at run time, when a tenant is given them (docs/deploy.md, "DNS for each customer")',
};

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,23}$/;

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

/** Host names a certificate covers: exact names, or `*.` followed by a name (one label). */
export function certificateHostsContext(key: string, value: unknown): readonly string[] {
  return stringListContext(key, value).map((raw) => {
    const wildcard = raw.startsWith('*.');
    const host = normaliseHost(wildcard ? raw.slice(2) : raw);
    if (!HOST_PATTERN.test(host)) throw new InvalidContextError(key, `contains an invalid host name: ${raw}`);
    return wildcard ? `*.${host}` : host;
  });
}

/** `{ "<function>": n }` with topology function names and whole numbers ≥ 1. */
export function reservedConcurrencyContext(
  key: string,
  value: unknown,
): Readonly<Partial<Record<FunctionName, number>>> {
  if (value === undefined || value === null || value === '') return {};
  let map: unknown = value;
  if (typeof value === 'string') {
    try {
      map = JSON.parse(value);
    } catch (cause) {
      throw new InvalidContextError(key, `is not a valid JSON object: ${(cause as Error).message}`);
    }
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new InvalidContextError(key, 'must be an object of function name to reserved concurrency');
  }
  const out: Partial<Record<FunctionName, number>> = {};
  for (const [name, count] of Object.entries(map)) {
    if (!(name in functions)) {
      throw new InvalidContextError(
        key,
        `names no function "${name}"; functions are ${Object.keys(functions).join(', ')}`,
      );
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      throw new InvalidContextError(key, `must give "${name}" a whole number of at least 1`);
    }
    out[name as FunctionName] = count;
  }
  return out;
}

/** The deployment's stage name, or undefined for the default stack. */
export function stageContext(key: string, value: unknown): string | undefined {
  const stage = optionalStringContext(key, value);
  if (stage === undefined) return undefined;
  if (!STAGE_PATTERN.test(stage)) {
    throw new InvalidContextError(key, 'must be 1-24 of a-z, 0-9 and hyphens, starting with a letter');
  }
  return stage;
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
  readonly docsHosts: readonly string[];
  readonly superAdmins: readonly string[];
  readonly certificateArn?: string;
  readonly certificateHosts?: readonly string[];
  readonly personalHostsCertificateArn?: string;
  readonly hostedZone?: HostedZoneContext;
  readonly reservedConcurrency: Readonly<Partial<Record<FunctionName, number>>>;
  readonly webAclArn?: string;
}

/** A Route 53 public hosted zone the stack may write records into. */
export interface HostedZoneContext {
  readonly id: string;
  /** The zone's domain, normalised (lower case, no trailing dot). */
  readonly name: string;
}

const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,31}$/;

/** An ARN CloudFront reads from us-east-1: its shape, and what a wrong value is told. */
interface ArnKind {
  readonly pattern: RegExp;
  readonly expected: string;
}

const CERTIFICATE_ARN: ArnKind = {
  pattern: /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/,
  expected: 'must be an ACM certificate ARN in us-east-1 (CloudFront reads certificates only from there)',
};

/** A WAFv2 web ACL for CloudFront: scope CLOUDFRONT (`global/`), in us-east-1. */
const WEB_ACL_ARN: ArnKind = {
  pattern: /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]{1,128}\/[a-f0-9-]{36}$/,
  expected:
    'must be the ARN of a WAFv2 web ACL of scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)',
};

/** An optional ARN of one kind. */
function arnContext(kind: ArnKind, key: string, value: unknown): string | undefined {
  const arn = optionalStringContext(key, value);
  if (arn !== undefined && !kind.pattern.test(arn)) throw new InvalidContextError(key, kind.expected);
  return arn;
}

/** The hosted zone from its two keys: both or neither, a Route 53 zone id and a host name. */
export function hostedZoneContext(idValue: unknown, nameValue: unknown): HostedZoneContext | undefined {
  const id = optionalStringContext(CONTEXT.hostedZoneId, idValue);
  const rawName = optionalStringContext(CONTEXT.hostedZoneName, nameValue);
  if (id === undefined && rawName === undefined) return undefined;
  if (id === undefined)
    throw new InvalidContextError(CONTEXT.hostedZoneId, `is needed with ${CONTEXT.hostedZoneName}`);
  if (rawName === undefined) {
    throw new InvalidContextError(CONTEXT.hostedZoneName, `is needed with ${CONTEXT.hostedZoneId}`);
  }
  if (!HOSTED_ZONE_ID_PATTERN.test(id)) {
    throw new InvalidContextError(CONTEXT.hostedZoneId, `is not a Route 53 hosted zone id: ${id}`);
  }
  const name = normaliseHost(rawName).replace(/\.$/, '');
  if (!HOST_PATTERN.test(name)) {
    throw new InvalidContextError(CONTEXT.hostedZoneName, `is not a domain name: ${rawName}`);
  }
  return { id, name };
}

export function stackPropsFromContext(read: (key: string) => unknown): ContextStackProps {
  for (const [key, why] of Object.entries(RETIRED_CONTEXT)) {
    if (read(key) !== undefined) throw new InvalidContextError(key, why);
  }
  const certificateArn = arnContext(CERTIFICATE_ARN, CONTEXT.certificateArn, read(CONTEXT.certificateArn));
  const personalHostsCertificateArn = arnContext(
    CERTIFICATE_ARN,
    CONTEXT.personalHostsCertificateArn,
    read(CONTEXT.personalHostsCertificateArn),
  );
  const hostedZone = hostedZoneContext(read(CONTEXT.hostedZoneId), read(CONTEXT.hostedZoneName));
  const webAclArn = arnContext(WEB_ACL_ARN, CONTEXT.webAclArn, read(CONTEXT.webAclArn));
  const certificateHosts = certificateHostsContext(CONTEXT.certificateHosts, read(CONTEXT.certificateHosts));
  if (certificateArn === undefined && certificateHosts.length > 0) {
    throw new InvalidContextError(CONTEXT.certificateHosts, `needs ${CONTEXT.certificateArn}`);
  }
  return {
    adminHosts: hostListContext(CONTEXT.adminHosts, read(CONTEXT.adminHosts)),
    freeHosts: hostListContext(CONTEXT.freeHosts, read(CONTEXT.freeHosts)),
    docsHosts: hostListContext(CONTEXT.docsHosts, read(CONTEXT.docsHosts)),
    superAdmins: stringListContext(CONTEXT.superAdmins, read(CONTEXT.superAdmins)),
    ...(certificateArn === undefined ? {} : { certificateArn }),
    ...(certificateHosts.length === 0 ? {} : { certificateHosts }),
    ...(personalHostsCertificateArn === undefined ? {} : { personalHostsCertificateArn }),
    ...(hostedZone === undefined ? {} : { hostedZone }),
    reservedConcurrency: reservedConcurrencyContext(
      CONTEXT.reservedConcurrency,
      read(CONTEXT.reservedConcurrency),
    ),
    ...(webAclArn === undefined ? {} : { webAclArn }),
  };
}
