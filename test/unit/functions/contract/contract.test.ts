/**
 * The contract (functions/contract) is what the fronts bundle: it must import nothing outside its
 * own folder. The core's constants are the contract's (re-exported, never redeclared), and the API's
 * response schemas agree with the answers' shapes the fronts read (checked by the compiler here).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type {
  AuditEntry,
  AuditVerification,
  Execution,
  Role,
  Skill,
  User,
  Vote,
} from '../../../../functions/contract/index.ts';
import * as contract from '../../../../functions/contract/index.ts';
import { AVAILABILITY_STATES } from '../../../../functions/core/availability.ts';
import { MIN_APPROVALS, RISKS } from '../../../../functions/core/catalog/rules.ts';
import { EXECUTION_STATUSES } from '../../../../functions/core/executions/executions.ts';
import { CSRF_HEADER } from '../../../../functions/core/headers.ts';
import { PUBLIC_PERMISSIONS, TENANT_PERMISSIONS } from '../../../../functions/core/identity/permissions.ts';
import { TENANT_STATUSES } from '../../../../functions/core/tenancy/domain.ts';
import type {
  auditEntrySchema,
  auditVerificationSchema,
  executionSchema,
  roleSchema,
  skillSchema,
  userSchema,
  voteSchema,
} from '../../../../functions/http/responses.ts';
import type { Known } from '../../../../functions/http/router.ts';

const CONTRACT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'functions',
  'contract',
);

/** `true` only when what the API answers (its schema's known fields) is what the fronts read. */
type Answers<S extends z.ZodType, Shape> = Known<z.output<S>> extends Shape ? true : false;
const agreed: {
  readonly execution: Answers<typeof executionSchema, Execution>;
  readonly skill: Answers<typeof skillSchema, Skill>;
  readonly vote: Answers<typeof voteSchema, Vote>;
  readonly user: Answers<typeof userSchema, User>;
  readonly role: Answers<typeof roleSchema, Role>;
  readonly auditEntry: Answers<typeof auditEntrySchema, AuditEntry>;
  readonly auditVerification: Answers<typeof auditVerificationSchema, AuditVerification>;
} = {
  execution: true,
  skill: true,
  vote: true,
  user: true,
  role: true,
  auditEntry: true,
  auditVerification: true,
};

describe('the contract', () => {
  it('imports nothing outside its own folder (the fronts bundle it as is)', () => {
    const files = readdirSync(CONTRACT).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const source = readFileSync(join(CONTRACT, file), 'utf8');
      const specifiers = [...source.matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => match[1]);
      for (const specifier of specifiers) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.ts$/);
      }
    }
  });

  it('is what the core enforces: its constants are the contract’s own, not copies', () => {
    expect(EXECUTION_STATUSES).toBe(contract.EXECUTION_STATUSES);
    expect(RISKS).toBe(contract.RISKS);
    expect(MIN_APPROVALS).toBe(contract.MIN_APPROVALS);
    expect(AVAILABILITY_STATES).toBe(contract.AVAILABILITY_STATES);
    expect(TENANT_PERMISSIONS).toBe(contract.TENANT_PERMISSIONS);
    expect(PUBLIC_PERMISSIONS).toBe(contract.PUBLIC_PERMISSIONS);
    expect(TENANT_STATUSES).toBe(contract.TENANT_STATUSES);
    expect(CSRF_HEADER).toBe(contract.CSRF_HEADER);
  });

  it('says which statuses are terminal, for any string a client received', () => {
    expect(contract.EXECUTION_STATUSES.filter((status) => contract.isTerminal(status))).toEqual([
      ...contract.TERMINAL_STATUSES,
    ]);
    expect(contract.isTerminal('bogus')).toBe(false);
    expect(Object.values(agreed).every((value) => value)).toBe(true);
  });

  it('never lets a risk ask fewer approvals than its minimum by default', () => {
    for (const risk of contract.RISKS) {
      expect(contract.APPROVAL_COUNT[contract.defaultApproval(risk)]).toBeGreaterThanOrEqual(
        contract.MIN_APPROVALS[risk],
      );
    }
  });
});
