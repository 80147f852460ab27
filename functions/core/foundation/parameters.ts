/** Tenant parameters: key/value settings admins keep for their users and scripts. Not for secrets. */

import { PARAMETER_KEY_PATTERN } from '../../contract/catalog.ts';
import type { Parameter } from '../../contract/responses.ts';
import type { AuditLog } from '../audit/chain.ts';
import type { Table } from '../db.ts';
import { QuotaExceededError, ValidationError } from '../errors.ts';
import type { Caller } from '../identity/caller.ts';
import type { DomainContext } from '../tenancy/domain.ts';
import { ParameterRepository } from './parameter-repository.ts';

// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Parameter };

export { PARAMETER_KEY_PATTERN };
export const MAX_PARAMETER_VALUE_BYTES = 4096;
export const MAX_PARAMETERS = 500;

export class Parameters {
  readonly #store: ParameterRepository;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(options: { table: Table; audit: AuditLog; now?: () => Date }) {
    this.#store = new ParameterRepository(options.table);
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
  }

  async list(domain: DomainContext): Promise<Parameter[]> {
    return this.#store.list(domain, MAX_PARAMETERS);
  }

  async set(
    domain: DomainContext,
    input: { key: string; value: string; description?: string },
    actor: Caller,
  ) {
    if (!PARAMETER_KEY_PATTERN.test(input.key)) {
      throw new ValidationError('Invalid parameter key', [
        { path: 'key', message: 'a letter, then letters, digits, _ . - (max 64)' },
      ]);
    }
    if (Buffer.byteLength(input.value, 'utf8') > MAX_PARAMETER_VALUE_BYTES) {
      throw new ValidationError('Parameter value too long', [
        { path: 'value', message: `at most ${MAX_PARAMETER_VALUE_BYTES} bytes` },
      ]);
    }
    const existing = await this.list(domain);
    if (existing.length >= MAX_PARAMETERS && !existing.some((parameter) => parameter.key === input.key)) {
      throw new QuotaExceededError(`A tenant keeps at most ${MAX_PARAMETERS} parameters`);
    }
    const parameter: Parameter = {
      key: input.key,
      value: input.value,
      description: input.description ?? '',
      updatedAt: this.#now().toISOString(),
      updatedBy: actor.username,
    };
    await this.#store.put(domain, parameter);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'parameter.set',
      target: `parameter:${input.key}`,
      details: { bytes: Buffer.byteLength(input.value, 'utf8') },
    });
    return parameter;
  }

  async remove(domain: DomainContext, key: string, actor: Caller): Promise<void> {
    await this.#store.remove(domain, key);
    await this.#audit.record(domain, {
      actor: { username: actor.username, via: actor.via },
      action: 'parameter.removed',
      target: `parameter:${key}`,
    });
  }
}
