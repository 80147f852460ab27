/** Shapes of the governance API's answers (functions/http/routes/governance*.ts). */
import type { Branding } from '../shared/api.ts';

export const TENANT_STATUSES = ['trial', 'active', 'grace', 'suspended', 'archived'] as const;

/** A DNS record an operator creates so a host reaches the platform. */
export interface DnsRecord {
  readonly type: string;
  readonly name: string;
  readonly value: string;
  readonly required: boolean;
  readonly purpose: string;
}

/** A host's onboarding: `pending-dns → provisioning → active | failed` (functions/core/governance/onboarding.ts). */
export interface HostOnboarding {
  readonly host: string;
  readonly state: 'pending-dns' | 'provisioning' | 'active' | 'failed';
  readonly code?: string;
  readonly reason?: string;
  readonly attempts: number;
  readonly since: string;
  readonly checkedAt?: string;
  readonly nextAttemptAt?: string;
  readonly certificate: string;
  readonly target: string;
  readonly dns: readonly DnsRecord[];
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly status: string;
  readonly expiresAt: string;
  readonly hosts: readonly string[];
  readonly deliveryMode?: string;
  readonly branding?: Branding;
  readonly customerId?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  /** Each host's onboarding, on the single-tenant answers. */
  readonly domains?: readonly HostOnboarding[];
}

export interface Contact {
  readonly name: string;
  readonly email?: string;
  readonly phone?: string;
  readonly role?: string;
}

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly contacts: readonly Contact[];
  readonly notes?: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly tenants?: readonly Tenant[];
}

export interface LedgerEntry {
  readonly id: string;
  readonly kind: string;
  readonly at: string;
  readonly summary: string;
  readonly tenantId?: string;
  readonly orderId?: string;
  readonly amount?: number;
  readonly currency?: string;
}

export interface Order {
  readonly id: string;
  readonly tenantId: string;
  readonly customerId?: string;
  readonly plan: string;
  readonly months: number;
  readonly amount: number;
  readonly currency: string;
  readonly status: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly confirmedAt?: string;
  readonly confirmedBy?: string;
  readonly newExpiry?: string;
}

export interface ScanResult {
  readonly scan: string;
  readonly now: string;
  readonly scanned: number;
  readonly changed: readonly {
    readonly tenantId?: string;
    readonly host?: string;
    readonly action: string;
    readonly executionId?: string;
  }[];
}

export interface PlatformAnnouncement {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly severity: string;
  readonly audience: readonly string[];
  readonly tenants: 'all' | readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly delivered: number;
}

export interface HttpResource {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly baseUrl: string;
  readonly methods: readonly string[];
  readonly paths: readonly string[];
  readonly writeAllowed: boolean;
  readonly auth?: { readonly scheme: string; readonly header?: string };
  readonly localDevelopment?: boolean;
  readonly version?: number;
  readonly state?: 'active' | 'disabled' | 'archived';
  /** The credential's state only — its value is never returned. */
  readonly credential?: {
    readonly configured: boolean;
    readonly version?: string;
    readonly confirmed?: boolean;
    readonly previousKept?: boolean;
    readonly rotatedAt?: string;
    readonly rotatedBy?: string;
  };
  readonly grants?: readonly string[];
  readonly createdAt?: string;
}

export interface TrialResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly truncated: boolean;
  readonly bytes: number;
  readonly durationMs: number;
}

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TemplateSkill {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
  readonly risk: string;
  readonly approval?: string;
  readonly limits?: { readonly timeoutSeconds?: number; readonly memoryMb?: number };
}

export interface TemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly skill: TemplateSkill;
  readonly source: string;
  readonly note: string;
  readonly createdAt: string;
  readonly createdBy: string;
}
