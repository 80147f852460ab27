/**
 * The platform templates offered to new personal spaces: a super-admin picks them in the console,
 * the sign-up form lists them, and the person's chosen ones are pre-installed in their space so a
 * first run works at once. Only a template a one-person space can actually run is offered: no
 * approvals (nobody may approve their own run) and a script within the free plan's size.
 */
import { counted } from '../../contract/wording.ts';
import type { AuditLog } from '../audit/chain.ts';
import { APPROVAL_COUNT, MIN_APPROVALS } from '../catalog/rules.ts';
import type { Table } from '../db.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { type Acting, recordPublic } from '../governance/acting.ts';
import { TEMPLATE_ID_PATTERN, type Templates } from '../templates/templates.ts';
import { FREE_PLAN, planLimits } from '../tenancy/plans.ts';
import { OfferRepository } from './offer-repository.ts';

export interface FreeOffer {
  readonly templateId: string;
  readonly name: string;
  readonly description: string;
  readonly offeredAt: string;
  readonly offeredBy: string;
}

/** Most templates offered at once (the sign-up form lists them all). */
export const MAX_OFFERS = 20;

export class FreeOffers {
  readonly #store: OfferRepository;
  readonly #templates: Templates;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: {
    readonly table: Table;
    readonly templates: Templates;
    readonly audit: AuditLog;
    readonly now?: () => Date;
  }) {
    this.#store = new OfferRepository(options.table);
    this.#templates = options.templates;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  /** Every offered template, by name. */
  async list(): Promise<FreeOffer[]> {
    return (await this.#store.all(MAX_OFFERS)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Offers a template's latest version to new personal spaces (again: refreshes its name). */
  async offer(templateId: string, by: Acting): Promise<FreeOffer> {
    const template = await this.#templates.get(templateId);
    const latest = await this.#templates.version(template.id, template.latestVersion);
    const approval = latest.skill.approval ?? 'none';
    const needs = Math.max(APPROVAL_COUNT[approval], MIN_APPROVALS[latest.skill.risk]);
    const issues: { path: string; message: string }[] = [];
    if (needs > 0) {
      issues.push({
        path: 'templateId',
        message: `its Skill needs ${counted(needs, 'approval')}, and a personal space has one person, who may not approve their own runs`,
      });
    }
    const bytes = Buffer.byteLength(latest.source, 'utf8');
    const limit = planLimits(FREE_PLAN).scriptBytes;
    if (bytes > limit) {
      issues.push({
        path: 'templateId',
        message: `its script has ${bytes} bytes; the free plan allows ${limit}`,
      });
    }
    if (issues.length > 0)
      throw new ValidationError('This template cannot be offered to personal spaces', issues);
    const existing = await this.list();
    if (existing.length >= MAX_OFFERS && !existing.some((offer) => offer.templateId === template.id)) {
      throw new ValidationError('Too many offered templates', [
        { path: 'templateId', message: `at most ${MAX_OFFERS}; withdraw one first` },
      ]);
    }
    const offer: FreeOffer = {
      templateId: template.id,
      name: template.name,
      description: template.description,
      offeredAt: this.#now().toISOString(),
      offeredBy: by.actor.username,
    };
    await this.#store.put(offer);
    await recordPublic(this.#audit, by, 'free.offer.added', `template:${template.id}`, {
      name: template.name,
      version: template.latestVersion,
    });
    return offer;
  }

  async withdraw(templateId: string, by: Acting): Promise<void> {
    if (!TEMPLATE_ID_PATTERN.test(templateId))
      throw new NotFoundError(`Template ${templateId} is not offered`);
    await this.#store.delete(templateId);
    await recordPublic(this.#audit, by, 'free.offer.withdrawn', `template:${templateId}`);
  }
}
