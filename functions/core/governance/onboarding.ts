/**
 * Onboarding a host — a customer's or the platform's own — as a state machine kept on its binding:
 *
 *   pending-dns ──DNS points here──▶ provisioning ──edge serves it──▶ active
 *        ▲  │                            │  │
 *        │  └── 14 days without DNS ─────┼──┼──▶ failed (with the reason)
 *        └──── CloudFront: DNS not seen ─┘  └── refused, or 8 passing faults in a row
 *
 * Binding a host answers the DNS records to create; nothing is asked of the edge until the host's
 * DNS points at the platform (a CloudFront tenant with a managed certificate is refused before).
 * Every step is one conditional write on the binding (its `revision`), so a request and the
 * schedule advancing the same host at once never both act on one state; edge calls are idempotent.
 * A state that waits carries `nextAttemptAt` and sits in a sparse index (GSI2 `ONBOARDING`), which
 * the `host-onboarding` scan reads — O(hosts due), never the table. Onboarding never fails the
 * tenant: a tenant is created, and stays usable on its other hosts, whatever its hosts' DNS says.
 */
import type { Table } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type IndexEntry, ONBOARDING_DUE, onboardingDueSort } from '../keys.ts';
import { type BoundHost, HostBindingRepository } from '../tenancy/host-repository.ts';
import type { HostDirectory } from '../tenancy/hosts.ts';
import type { DnsVerifier } from './dns.ts';
import type { CertificateSource, DnsRecord, HostEdge, ProvisionOutcome } from './edge.ts';

export const ONBOARDING_STATES = ['pending-dns', 'provisioning', 'active', 'failed'] as const;
export type OnboardingState = (typeof ONBOARDING_STATES)[number];

/** Explicit limits of the state machine (each tested at its edge). */
export const ONBOARDING_LIMITS = {
  /** First wait after a DNS check that did not find the record; doubles up to the cap. */
  dnsRetryBaseSeconds: 60,
  dnsRetryMaxSeconds: 3600,
  /** First wait after a passing edge fault; doubles up to the cap. */
  edgeRetryBaseSeconds: 30,
  edgeRetryMaxSeconds: 1800,
  /** Wait between looks at a certificate CloudFront is still validating. */
  pendingPollSeconds: 120,
  /** Passing edge faults in a row before the host is failed. */
  maxEdgeAttempts: 8,
  /** How long a host may wait for its DNS before it is failed (the operator can retry it). */
  dnsDeadlineDays: 14,
  /** Hosts one scan run advances. */
  scanBatch: 50,
} as const;

export interface Onboarding {
  readonly state: OnboardingState;
  /** Stable code of the latest outcome (`dns-missing`, `certificate-validating`, `edge-unavailable`, …). */
  readonly code?: string;
  /** What the operator should know, in words. */
  readonly reason?: string;
  /** Checks made in the current state. */
  readonly attempts: number;
  /** When this onboarding began (the DNS deadline runs from it). */
  readonly since: string;
  readonly updatedAt: string;
  readonly checkedAt?: string;
  /** When the next check is due, while the state waits. */
  readonly nextAttemptAt?: string;
  readonly revision: number;
}

export type HostOwner =
  | { readonly domain: 'tenant'; readonly tenantId: string }
  | { readonly domain: 'public'; readonly surface: string };

export interface HostOnboardingView extends Onboarding {
  readonly host: string;
  readonly owner: HostOwner;
  readonly certificate: CertificateSource;
  /** The CNAME target. */
  readonly target: string;
  /** The records to create so the host reaches the platform. */
  readonly dns: readonly DnsRecord[];
}

/** The onboarding a freshly claimed binding starts with (written only if it has none). */
export function initialOnboarding(now: Date): Onboarding {
  const at = now.toISOString();
  return { state: 'pending-dns', attempts: 0, since: at, updatedAt: at, nextAttemptAt: at, revision: 0 };
}

/** The sparse index entry of a waiting onboarding, or null for a settled one. */
export function onboardingIndex(host: string, onboarding: Onboarding): IndexEntry | null {
  if (onboarding.nextAttemptAt === undefined) return null;
  if (onboarding.state === 'active' || onboarding.state === 'failed') return null;
  return { partition: ONBOARDING_DUE, sort: onboardingDueSort(onboarding.nextAttemptAt, host) };
}

function backoff(attempts: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, attempts - 1), maxSeconds);
}

function later(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

type Step =
  | { readonly kind: 'dns'; readonly verdict: Awaited<ReturnType<DnsVerifier['verify']>> }
  | { readonly kind: 'edge'; readonly outcome: ProvisionOutcome };

/** The next onboarding after one check; pure, so every transition and limit is unit-tested. */
export function nextOnboarding(current: Onboarding, step: Step, now: Date): Onboarding {
  const at = now.toISOString();
  const base = { since: current.since, updatedAt: at, checkedAt: at, revision: current.revision + 1 };
  const limits = ONBOARDING_LIMITS;
  if (step.kind === 'dns') {
    const { verdict } = step;
    if (verdict.ok) {
      return {
        ...base,
        state: 'provisioning',
        attempts: 0,
        code: 'dns-verified',
        reason: `DNS points at the platform (${verdict.via})`,
        nextAttemptAt: at,
      };
    }
    const deadline = new Date(current.since).getTime() + limits.dnsDeadlineDays * 24 * 3600 * 1000;
    if (now.getTime() >= deadline) {
      return {
        ...base,
        state: 'failed',
        attempts: current.attempts + 1,
        code: 'dns-timeout',
        reason: `DNS did not point at the platform within ${limits.dnsDeadlineDays} days: ${verdict.reason}`,
      };
    }
    const attempts = current.state === 'pending-dns' ? current.attempts + 1 : 1;
    return {
      ...base,
      state: 'pending-dns',
      attempts,
      code: verdict.code,
      reason: verdict.reason,
      nextAttemptAt: later(now, backoff(attempts, limits.dnsRetryBaseSeconds, limits.dnsRetryMaxSeconds)),
    };
  }
  const { outcome } = step;
  switch (outcome.kind) {
    case 'active':
      return { ...base, state: 'active', attempts: 0, code: 'served', reason: 'The host is served' };
    case 'pending':
      return {
        ...base,
        state: 'provisioning',
        attempts: current.attempts,
        code: outcome.code,
        reason: outcome.reason,
        nextAttemptAt: later(now, limits.pendingPollSeconds),
      };
    case 'dns-not-ready':
      return {
        ...base,
        state: 'pending-dns',
        attempts: 1,
        code: 'edge-sees-no-dns',
        reason: outcome.reason,
        nextAttemptAt: later(now, limits.dnsRetryBaseSeconds),
      };
    case 'transient': {
      const attempts = current.attempts + 1;
      if (attempts >= limits.maxEdgeAttempts) {
        return {
          ...base,
          state: 'failed',
          attempts,
          code: outcome.code,
          reason: `The edge kept failing (${attempts} tries): ${outcome.reason}`,
        };
      }
      return {
        ...base,
        state: 'provisioning',
        attempts,
        code: outcome.code,
        reason: `${outcome.reason}; retrying`,
        nextAttemptAt: later(now, backoff(attempts, limits.edgeRetryBaseSeconds, limits.edgeRetryMaxSeconds)),
      };
    }
    case 'failed':
      return {
        ...base,
        state: 'failed',
        attempts: current.attempts + 1,
        code: outcome.code,
        reason: outcome.reason,
      };
  }
}

export interface OnboardingChange {
  readonly host: string;
  readonly owner: HostOwner;
  readonly from: OnboardingState;
  readonly to: OnboardingState;
}

export interface HostOnboardingOptions {
  readonly table: Table;
  readonly edge: HostEdge;
  readonly verifier: DnsVerifier;
  /** This process's host cache, told when a binding's state changes. */
  readonly hosts?: HostDirectory;
  readonly now?: () => Date;
}

export class HostOnboarding {
  readonly #store: HostBindingRepository;
  readonly #edge: HostEdge;
  readonly #verifier: DnsVerifier;
  readonly #hosts: HostDirectory | undefined;
  readonly #now: () => Date;

  constructor(options: HostOnboardingOptions) {
    this.#store = new HostBindingRepository(options.table);
    this.#edge = options.edge;
    this.#verifier = options.verifier;
    this.#hosts = options.hosts;
    this.#now = options.now ?? (() => new Date());
  }

  get edge(): HostEdge {
    return this.#edge;
  }

  /** A host's onboarding with the DNS records it needs; NotFoundError for a host bound to nothing. */
  async get(host: string): Promise<HostOnboardingView> {
    const bound = await this.#store.findOnboarding(host);
    if (bound === null) throw new NotFoundError(`Host ${host} is not bound`);
    return this.#view(bound);
  }

  /** The onboarding of each bound host among `hosts` (unbound ones are left out). */
  async list(hosts: readonly string[]): Promise<HostOnboardingView[]> {
    const views: HostOnboardingView[] = [];
    for (const host of hosts) {
      const bound = await this.#store.findOnboarding(host);
      if (bound !== null) views.push(this.#view(bound));
    }
    return views;
  }

  /** The platform's own hosts (the console's and the free entry's), from their sparse listing. */
  async listPublic(): Promise<HostOnboardingView[]> {
    return this.list(await this.#store.publicHosts(100));
  }

  /**
   * One step for a host: a DNS check while it waits for DNS (straight on to the edge when DNS
   * points here), an edge call while provisioning. A step not yet due is skipped unless `force`d;
   * settled hosts (active, failed) are left as they are.
   */
  async advance(host: string, options: { readonly force?: boolean } = {}): Promise<HostOnboardingView> {
    for (let step = 0; step < 2; step++) {
      const bound = await this.#store.findOnboarding(host);
      if (bound === null) throw new NotFoundError(`Host ${host} is not bound`);
      const current = this.#onboarding(bound);
      if (current.state === 'active' || current.state === 'failed') return this.#view(bound);
      const now = this.#now();
      const due = current.nextAttemptAt === undefined || Date.parse(current.nextAttemptAt) <= now.getTime();
      if (!due && options.force !== true && step === 0) return this.#view(bound);
      const certificate = this.#edge.certificate(host);
      const next =
        current.state === 'pending-dns'
          ? nextOnboarding(
              current,
              {
                kind: 'dns',
                verdict: await this.#verifier.verify(host, { managedCertificate: certificate === 'managed' }),
              },
              now,
            )
          : nextOnboarding(current, { kind: 'edge', outcome: await this.#edge.provision(host) }, now);
      const written = await this.#write(host, current, next);
      if (written === null) return this.get(host); // someone else advanced it meanwhile
      // DNS just got verified: provision in the same step rather than a tick later.
      if (!(current.state === 'pending-dns' && next.state === 'provisioning')) return this.#view(written);
    }
    return this.get(host);
  }

  /** Starts a failed host over (and checks it now); for a waiting host, checks it now. */
  async retry(host: string): Promise<HostOnboardingView> {
    const bound = await this.#store.findOnboarding(host);
    if (bound === null) throw new NotFoundError(`Host ${host} is not bound`);
    const current = this.#onboarding(bound);
    if (current.state === 'active') {
      throw new ConflictError(`Host ${host} is already served`, { extra: { host, state: current.state } });
    }
    if (current.state === 'failed') {
      const restarted = { ...initialOnboarding(this.#now()), revision: current.revision + 1 };
      if ((await this.#write(host, current, restarted)) === null) return this.get(host);
    }
    return this.advance(host, { force: true });
  }

  /** Advances every host whose check is due (the `host-onboarding` scan); at most `scanBatch` a run. */
  async advanceDue(): Promise<{ scanned: number; changed: OnboardingChange[] }> {
    const items = await this.#store.dueOnboardings(this.#now().toISOString(), ONBOARDING_LIMITS.scanBatch);
    const changed: OnboardingChange[] = [];
    let firstError: unknown;
    for (const due of items) {
      const host = due.host;
      const before = due.onboarding?.state ?? 'pending-dns';
      try {
        const after = await this.advance(host);
        if (after.state !== before) changed.push({ host, owner: after.owner, from: before, to: after.state });
      } catch (error) {
        // Released meanwhile: nothing to do. Anything else is reported once every other host had
        // its turn, so one host's fault never holds the others back.
        if (!(error instanceof NotFoundError)) firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
    return { scanned: items.length, changed };
  }

  /** A binding made before onboarding existed counts as served: it was attached when it was bound. */
  #onboarding(bound: BoundHost): Onboarding {
    return (
      bound.onboarding ?? {
        state: 'active',
        attempts: 0,
        since: bound.boundAt ?? new Date(0).toISOString(),
        updatedAt: bound.boundAt ?? new Date(0).toISOString(),
        revision: 0,
      }
    );
  }

  #view(bound: BoundHost): HostOnboardingView {
    const binding = bound.binding;
    const host = binding.host;
    const owner: HostOwner =
      binding.domain === 'tenant'
        ? { domain: 'tenant', tenantId: binding.tenantId }
        : { domain: 'public', surface: binding.surface };
    return {
      host,
      owner,
      ...this.#onboarding(bound),
      certificate: this.#edge.certificate(host),
      target: this.#edge.target,
      dns: this.#edge.records(host),
    };
  }

  /** Writes `next` if the binding still holds `current` (its revision); null when it changed. */
  async #write(host: string, current: Onboarding, next: Onboarding): Promise<BoundHost | null> {
    const written = await this.#store.writeOnboarding(
      host,
      current.revision,
      next,
      onboardingIndex(host, next),
    );
    if (written !== null && current.state !== next.state) this.#hosts?.invalidate(host);
    return written;
  }
}
