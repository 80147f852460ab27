/**
 * The rules a Skill definition is held to live in the contract (functions/contract/catalog.ts), so
 * the CLI and the fronts read the very values the platform enforces.
 */
export {
  APPROVAL_COUNT,
  APPROVALS,
  type ApprovalRule,
  defaultApproval,
  LIMIT_BOUNDS,
  MAX_DECLARED_NAME_LENGTH,
  MAX_EGRESS,
  MAX_SKILL_COLLECTIONS,
  MAX_SKILL_PARAMETERS,
  MAX_SKILL_TAGS,
  MIN_APPROVALS,
  RISKS,
  type Risk,
  SKILL_TAG_PATTERN,
} from '../../contract/catalog.ts';
