/**
 * Self-serve sign-up on the free entry: one request makes a personal space — a tenant on the free
 * plan, in the shared pool, on its own host under the free domain — with its first admin, the
 * templates the person chose already installed, a one-time handoff into the space, and a lead in
 * the public ledger.
 *
 * Abuse first: every attempt takes its place in the rate windows (per address, per email, per
 * handle, and across the platform) before anything is read or written.
 *
 * No transactions: the steps are ordered so that the space exists only once complete, and a failure
 * (or a crash) at any step leaves nothing anyone can use.
 *
 *   1. claim `<handle>.<free host>`: one conditional write names this attempt (`claimId`), so of two
 *      concurrent sign-ups for one handle exactly one goes on; the other is told the handle is taken;
 *   2. clear the space's partition (a crashed earlier attempt for this handle may have left items);
 *   3. the first admin, the chosen templates, the handoff — inside the space's partition, which
 *      serves nothing yet (no tenant record: its host resolves to nothing);
 *   4. the lead;
 *   5. the tenant record, last: from here the host resolves and the space is live;
 *   6. the audit entries.
 *
 * A failure undoes what the attempt made (lead, partition, claim). A crash leaves a claim without a
 * tenant record, which a later sign-up for the handle takes over once it is older than
 * ABANDONED_CLAIM_MS.
 */
import { randomBytes } from 'node:crypto';
import { PERSONAL_SPACE_EXPIRY } from '../../contract/tenancy.ts';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { ConflictError, unlessNotFound, ValidationError } from '../errors.ts';
import { recordPublic } from '../governance/acting.ts';
import type { Caller } from '../identity/caller.ts';
import { type Directory, validatePassword } from '../identity/directory.ts';
import type { Templates } from '../templates/templates.ts';
import type { PublicContext, TenantContext } from '../tenancy/domain.ts';
import { FREE_PLAN } from '../tenancy/plans.ts';
import { withTenantScope } from '../tenancy/tenant-scope.ts';
import type { TenantRegistry } from '../tenancy/tenants.ts';
import { HandleUnavailableError } from './errors.ts';
import { parseHandle, personalHost, personalTenantId, platformLabelsUnder } from './handles.ts';
import type { Handoff, Handoffs } from './handoffs.ts';
import { type Lead, type Leads, normaliseSource } from './leads.ts';
import type { FreeOffers } from './offers.ts';
import { FixedWindowLimiter, type RateRule } from './rate-limits.ts';
import { DEFAULT_SIGNUP_LIMITS, type SignupLimits } from './signup-limits.ts';
import { SpaceRepository } from './space-repository.ts';

/** A claim whose sign-up never finished (the function died) may be taken over after this long. */
export const ABANDONED_CLAIM_MS = 15 * 60 * 1000;

/** Most templates one sign-up may pre-install. */
export const MAX_SIGNUP_TEMPLATES = 5;

export interface SignupInput {
  readonly handle: string;
  readonly email: string;
  readonly password: string;
  readonly name?: string;
  readonly templates?: readonly string[];
  readonly source?: string;
  readonly campaign?: string;
  /** The host of the page that sent the person here (not the full URL: nothing else is kept). */
  readonly referrer?: string;
}

export interface SignupMeta {
  readonly sourceIp: string;
  readonly requestId?: string;
  /** The browser binding the handoff is made for (the sign-up answer's cookie). */
  readonly browser: string;
}

export interface SignupResult {
  readonly tenantId: string;
  readonly handle: string;
  readonly host: string;
  /** The first admin's username: the handle. */
  readonly username: string;
  readonly plan: string;
  readonly leadId: string;
  readonly templates: readonly {
    readonly id: string;
    readonly name: string;
    readonly skillId: string | null;
  }[];
  readonly handoff: Handoff;
}

export interface FreeSignupsOptions {
  readonly table: Table;
  readonly audit: AuditLog;
  /** A registry without onboarding: personal hosts are served at the edge by the free domain's wildcard. */
  readonly registry: TenantRegistry;
  readonly directory: Directory;
  readonly templates: Templates;
  readonly offers: FreeOffers;
  readonly leads: Leads;
  readonly handoffs: Handoffs;
  /** The platform's own hosts: no handle may name one, or sit above one, under the free domain. */
  readonly platformHosts: readonly string[];
  readonly limits?: SignupLimits;
  readonly now?: () => Date;
}

/** The system caller that installs the chosen templates for the new admin. */
function installer(username: string): Caller {
  return {
    username,
    roles: ['admin'],
    permissions: new Set(['template:install']),
    superAdmin: false,
    via: 'session',
    credentialId: 'signup',
  };
}

export class FreeSignups {
  readonly #spaces: SpaceRepository;
  readonly #audit: AuditLog;
  readonly #registry: TenantRegistry;
  readonly #directory: Directory;
  readonly #templates: Templates;
  readonly #offers: FreeOffers;
  readonly #leads: Leads;
  readonly #handoffs: Handoffs;
  readonly #platformHosts: readonly string[];
  readonly #limiter: FixedWindowLimiter;
  readonly #limits: SignupLimits;
  readonly #now: () => Date;

  constructor(options: FreeSignupsOptions) {
    this.#spaces = new SpaceRepository(options.table);
    this.#audit = options.audit;
    this.#registry = options.registry;
    this.#directory = options.directory;
    this.#templates = options.templates;
    this.#offers = options.offers;
    this.#leads = options.leads;
    this.#handoffs = options.handoffs;
    this.#platformHosts = options.platformHosts.map((host) => host.toLowerCase());
    this.#now = options.now ?? (() => new Date());
    this.#limiter = new FixedWindowLimiter({ table: options.table, now: this.#now });
    this.#limits = options.limits ?? DEFAULT_SIGNUP_LIMITS;
  }

  get limits(): SignupLimits {
    return this.#limits;
  }

  /** Signs a person up on the free entry `domain` (its host is the free domain); see the module comment. */
  async signUp(domain: PublicContext, input: SignupInput, meta: SignupMeta): Promise<SignupResult> {
    // The shape of the request first (nothing counted for a form that cannot be sent as is).
    const handle = parseHandle(input.handle);
    const email = input.email.trim().toLowerCase();
    validatePassword(input.password, 'password', { name: handle, email });
    const chosen = [...new Set(input.templates ?? [])];
    if (chosen.length > MAX_SIGNUP_TEMPLATES) {
      throw new ValidationError('Too many templates', [
        { path: 'templates', message: `at most ${MAX_SIGNUP_TEMPLATES}` },
      ]);
    }

    // Abuse limits: every attempt counts, whatever happens next.
    await this.#take(
      'signup-address',
      this.#limits.perAddressPerHour,
      3600,
      'sign-ups from this address',
      meta.sourceIp,
    );
    await this.#take('signup-platform', this.#limits.platformPerHour, 3600, 'sign-ups right now', 'all');
    await this.#take(
      'signup-email',
      this.#limits.perEmailPerDay,
      86_400,
      'sign-ups for this email address',
      email,
    );
    await this.#take(
      'signup-handle',
      this.#limits.perHandlePerHour,
      3600,
      'sign-ups for this handle',
      handle,
    );

    const offered = await this.#offers.list();
    const unknown = chosen.filter((id) => !offered.some((offer) => offer.templateId === id));
    if (unknown.length > 0) {
      throw new ValidationError(
        'Templates not offered to personal spaces',
        unknown.map((id) => ({ path: 'templates', message: `${id} is not offered` })),
      );
    }
    const host = personalHost(handle, domain.host);
    if (
      this.#platformHosts.includes(host) ||
      platformLabelsUnder(domain.host, this.#platformHosts).has(handle)
    ) {
      throw this.#unavailable(handle);
    }
    const tenantId = personalTenantId(handle);
    const space: TenantContext = {
      kind: 'tenant',
      host,
      tenant: {
        id: tenantId,
        name: input.name?.trim() || handle,
        status: 'active',
        plan: FREE_PLAN,
        expiresAt: PERSONAL_SPACE_EXPIRY,
      },
    };

    // Everything from here touches the new space's partitions only through its own scope.
    return withTenantScope(tenantId, async () => {
      const claimId = randomBytes(12).toString('hex');
      const claim = await this.#registry.claimPersonalHost(host, tenantId, claimId, ABANDONED_CLAIM_MS);
      if (claim === 'taken') throw this.#unavailable(handle);
      let lead: Lead | undefined;
      let live = false;
      try {
        await this.#clearPartition(tenantId);
        const user = await this.#directory.createUser(space, {
          username: handle,
          password: input.password,
          roles: ['admin'],
        });
        const installed: { id: string; name: string; skillId: string | null }[] = [];
        for (const templateId of chosen) {
          await this.#templates.grantTo(space, templateId, 'free-signup');
          const result = await this.#templates.install(space, templateId, installer(user.username));
          installed.push({ id: result.id, name: result.name, skillId: result.skillId });
        }
        const handoff = await this.#handoffs.create(space, user.username, meta.browser);
        lead = await this.#leads.create({
          handle,
          tenantId,
          host,
          email,
          ...(input.name?.trim() ? { name: input.name.trim() } : {}),
          source: normaliseSource(input.source),
          ...(input.campaign?.trim() ? { campaign: input.campaign.trim().slice(0, 80) } : {}),
          ...(input.referrer?.trim() ? { referrer: input.referrer.trim().toLowerCase().slice(0, 253) } : {}),
          templates: installed.map((template) => template.id),
          sourceIp: meta.sourceIp,
        });
        await this.#registry.create({
          id: tenantId,
          name: space.tenant.name,
          plan: FREE_PLAN,
          hosts: [host],
          expiresAt: PERSONAL_SPACE_EXPIRY,
          status: 'active',
          personal: { handle, leadId: lead.id },
        });
        live = true;
        const acting = {
          actor: { username: handle, via: 'self-signup' },
          ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
        };
        await recordPublic(this.#audit, acting, 'free.signup', `tenant:${tenantId}`, {
          handle,
          host,
          leadId: lead.id,
          source: lead.source,
          templates: lead.templates,
          sourceIp: meta.sourceIp,
        });
        await this.#audit.record(space, {
          actor: acting.actor,
          action: 'space.created',
          target: `tenant:${tenantId}`,
          details: { plan: FREE_PLAN, host, templates: lead.templates },
          ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
        });
        return {
          tenantId,
          handle,
          host,
          username: user.username,
          plan: FREE_PLAN,
          leadId: lead.id,
          templates: installed,
          handoff,
        };
      } catch (error) {
        // A space that is live stays (only its audit failed: the person signs in with their password).
        if (live) throw error;
        // Nothing half-made: what this attempt wrote goes, and the handle is free again. Each undo
        // is best effort; what one leaves behind, a later sign-up for the handle clears (step 2).
        await this.#undo(tenantId, host, claimId, lead);
        if (error instanceof ConflictError && !(error instanceof HandleUnavailableError))
          throw this.#unavailable(handle);
        throw error;
      }
    });
  }

  /** The host of an existing personal space (the free entry's sign-in sends people there). */
  async lookup(
    domain: PublicContext,
    rawHandle: string,
    sourceIp: string,
  ): Promise<{ handle: string; host: string }> {
    await this.#take(
      'lookup-address',
      this.#limits.lookupsPerAddressPerHour,
      3600,
      'look-ups from this address',
      sourceIp,
    );
    const handle = parseHandle(rawHandle);
    const tenantId = personalTenantId(handle);
    const host = personalHost(handle, domain.host);
    const tenant = await withTenantScope(tenantId, () => unlessNotFound(this.#registry.get(tenantId)));
    if (tenant === null || !tenant.hosts.includes(host) || tenant.status === 'archived') {
      throw new ValidationError('No personal space has this handle', [
        { path: 'handle', message: `no personal space is called ${handle}; check the spelling, or sign up` },
      ]);
    }
    return { handle, host };
  }

  async #undo(tenantId: string, host: string, claimId: string, lead: Lead | undefined): Promise<void> {
    const settle = async (step: () => Promise<unknown>) => {
      try {
        await step();
      } catch {
        // Left for the next sign-up of this handle (it clears the partition and takes the claim over).
      }
    };
    if (lead !== undefined) await settle(() => this.#leads.withdraw(lead.id));
    await settle(async () => {
      // Another tenant of this id (a converted space whose personal host was removed) is never touched.
      if ((await unlessNotFound(this.#registry.get(tenantId))) === null) await this.#clearPartition(tenantId);
    });
    await settle(() => this.#registry.releasePersonalHost(host, claimId));
  }

  #take(name: string, limit: number, windowSeconds: number, what: string, subject: string): Promise<void> {
    const rule: RateRule = { name, limit, windowSeconds, what };
    return this.#limiter.take(rule, subject);
  }

  #unavailable(handle: string): HandleUnavailableError {
    return new HandleUnavailableError(`The handle “${handle}” is not available; choose another`, {
      extra: { handle },
    });
  }

  /**
   * Deletes every item of a personal space's partition — only ever one without a tenant record
   * (the caller holds the space's host claim, and checks; the repository checks again, page by page).
   */
  #clearPartition(tenantId: string): Promise<void> {
    return this.#spaces.clearPartition(tenantId);
  }
}
