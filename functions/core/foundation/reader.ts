/**
 * A signed-in caller as a reader of their domain's announcements: announcement managers read every
 * one addressed by role, and nobody reads one about a Skill they may not see.
 */
import { canSee } from '../catalog/skills.ts';
import type { Caller } from '../identity/caller.ts';
import type { Reader } from './announcements.ts';

export function announcementReader(caller: Caller): Reader {
  return {
    username: caller.username,
    roles: caller.permissions.has('announcement:manage') ? null : caller.roles,
    seesSkill: (visibility) => canSee(caller, { visibility }),
  };
}
