/**
 * The domain's audit chain (filtered, paged — all of it, or one category such as `security`), its
 * verification, and its export as JSON Lines.
 */
import * as z from 'zod';
import { AUDIT_CATEGORIES, type AuditCategory, type AuditFilter } from '../../core/audit/chain.ts';
import { ValidationError } from '../../core/errors.ts';
import { pageSize } from '../../core/pagination.ts';
import type { SignedInCore } from '../../core/platform.ts';
import type { DomainContext } from '../../core/tenancy/domain.ts';
import { auditEntrySchema, auditVerificationSchema, filterText, page, pageQuery } from '../responses.ts';
import { media, type Route, route } from '../router.ts';

/** Entries per export answer (each a line; a `next` line carries the cursor of the rest). */
export const MAX_EXPORT_ENTRIES = 1000;
export const EXPORT_CONTENT_TYPE = 'application/jsonl; charset=utf-8';

/** `?actor=&action=&target=&from=&to=`, checked field by field. */
export function auditFilter(query: Readonly<Record<string, string>>): AuditFilter {
  const issues: { path: string; message: string }[] = [];
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  for (const name of ['actor', 'action', 'target'] as const) {
    const value = query[name]?.trim();
    if (value === undefined || value === '') continue;
    if (value.length > 256) issues.push({ path: name, message: 'at most 256 characters' });
    else filter[name] = name === 'actor' ? value.toLowerCase() : value;
  }
  for (const name of ['from', 'to'] as const) {
    const value = query[name];
    if (value === undefined || value === '') continue;
    const time = Date.parse(value);
    if (Number.isNaN(time) || time < 0 || time > Date.parse('9999-12-31T23:59:59Z')) {
      issues.push({ path: name, message: 'an ISO 8601 date or date-time' });
    } else filter[name] = new Date(time).toISOString();
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    issues.push({ path: 'to', message: 'must be on or after `from`' });
  }
  const category = query.category;
  if (category !== undefined && category !== '') {
    if ((AUDIT_CATEGORIES as readonly string[]).includes(category))
      filter.category = category as AuditCategory;
    else issues.push({ path: 'category', message: `one of: ${AUDIT_CATEGORIES.join(', ')}` });
  }
  if (issues.length > 0) throw new ValidationError('Invalid audit filter', issues);
  return filter;
}

/** The query of a filtered audit listing (checked by auditFilter). */
const auditQuery = {
  ...pageQuery,
  category: z.enum(AUDIT_CATEGORIES).optional(),
  actor: filterText('Entries by this username'),
  action: filterText('Entries of this action'),
  target: filterText('Entries about this target'),
  from: filterText('ISO 8601: entries at or after'),
  to: filterText('ISO 8601: entries at or before'),
};

function exportSize(raw: string | undefined): number {
  if (raw === undefined) return MAX_EXPORT_ENTRIES;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_EXPORT_ENTRIES) {
    throw new ValidationError('Invalid export size', [
      { path: 'limit', message: `1 to ${MAX_EXPORT_ENTRIES}` },
    ]);
  }
  return size;
}

function domainName(domain: DomainContext): string {
  return domain.kind === 'public' ? 'public' : `tenant:${domain.tenant.id}`;
}

export function auditRoutes(core: SignedInCore): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/audit',
      serves: 'consoles',
      auth: 'caller',
      summary: "The domain's audit entries, newest first",
      query: z.object(auditQuery),
      responses: { 200: page(auditEntrySchema) },
      permission: 'audit:read',
      handle: async ({ domain, request }) => {
        // Windows of suppressed security events that are over get their summary first.
        await core.securityEvents.flush(domain);
        return {
          status: 200,
          body: await core.audit.list(
            domain,
            pageSize(request.query.limit),
            request.query.cursor,
            auditFilter(request.query),
          ),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/audit/verify',
      // It seals the chain it verifies: no HEAD, which would write for an answer nobody reads.
      head: false,
      serves: 'consoles',
      auth: 'caller',
      summary: "Seal and verify the domain's audit chain",
      responses: { 200: auditVerificationSchema },
      permission: 'audit:read',
      handle: async ({ domain }) => {
        // Seal what has settled first, so the answer covers the chain as of now.
        await core.audit.seal(domain);
        return { status: 200, body: await core.audit.verify(domain) };
      },
    }),
    route({
      /**
       * JSON Lines, oldest first: a `header` line (the domain, the filter and, with `verify=true` on
       * the first answer, the chain's verification as of now — which reads the whole chain), one
       * `entry` line per entry (with its hash), and a `next` line with the cursor of the rest.
       */
      method: 'GET',
      path: '/api/audit/export',
      // With `verify` it seals the chain (as /api/audit/verify): no HEAD.
      head: false,
      serves: 'consoles',
      auth: 'caller',
      summary: 'Export the audit chain as JSON Lines, oldest first',
      query: z.object({
        ...auditQuery,
        verify: z
          .enum(['true', 'false'])
          .optional()
          .meta({ description: 'Verify the chain in the header line (first page)' }),
      }),
      responses: {
        200: media(EXPORT_CONTENT_TYPE, {
          description:
            'A `header` line, one `entry` line per entry, and a `next` line with the cursor when more follow',
        }),
      },
      permission: 'audit:read',
      handle: async ({ domain, request }) => {
        const filter = auditFilter(request.query);
        const cursor = request.query.cursor;
        let verification: Awaited<ReturnType<typeof core.audit.verify>> | undefined;
        if (cursor === undefined && request.query.verify === 'true') {
          await core.audit.seal(domain);
          verification = await core.audit.verify(domain);
        }
        const page = await core.audit.list(domain, exportSize(request.query.limit), cursor, filter, 'oldest');
        const lines = [
          JSON.stringify({
            kind: 'header',
            format: 'execfabric-audit-export/1',
            domain: domainName(domain),
            exportedAt: core.now().toISOString(),
            filter,
            ...(cursor === undefined ? {} : { continues: true }),
            ...(verification === undefined ? {} : { verification }),
          }),
          ...page.items.map((entry) => JSON.stringify({ kind: 'entry', ...entry })),
          ...(page.cursor === undefined ? [] : [JSON.stringify({ kind: 'next', cursor: page.cursor })]),
        ];
        const day = core.now().toISOString().slice(0, 10);
        return {
          status: 200,
          raw: { contentType: EXPORT_CONTENT_TYPE, text: `${lines.join('\n')}\n` },
          headers: {
            'content-disposition': `attachment; filename="audit-${domainName(domain).replace(':', '-')}-${day}.jsonl"`,
          },
        };
      },
    }),
  ];
}
