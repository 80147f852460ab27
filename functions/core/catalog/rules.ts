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
  MIN_APPROVALS,
  RISKS,
  type Risk,
} from '../../contract/catalog.ts';
