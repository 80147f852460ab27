/**
 * A signed-in caller as a reader of their tenant's announcements: announcement managers read every
 * one addressed by role, and nobody reads one about a Skill they may not see now — the Skill's sight
 * is read from the catalogue the list reads use (SkillCatalog.listVisible: one read for a page, from
 * the per-process cache within the age the request accepts), as the run history's filter reads it.
 */
import { canSee, type ListOptions, type SkillCatalog } from '../catalog/skills.ts';
import type { Caller } from '../identity/caller.ts';
import type { TenantContext } from '../tenancy/domain.ts';
import type { Reader } from './announcements.ts';

export interface ReaderSkills {
  readonly domain: TenantContext;
  readonly skills: Pick<SkillCatalog, 'listVisible'>;
  /** How old a catalogue the request accepts (its `Cache-Control`). @default the cache's lifetime */
  readonly maxAgeMs?: number | undefined;
}

export function announcementReader(caller: Caller, sight: ReaderSkills): Reader {
  const options: ListOptions = {
    includeArchived: true,
    ...(sight.maxAgeMs === undefined ? {} : { maxAgeMs: sight.maxAgeMs }),
  };
  return {
    username: caller.username,
    roles: caller.permissions.has('announcement:manage') ? null : caller.roles,
    seesSkill: (visibility) => canSee(caller, { visibility }),
    seesSkills: async (ids) => {
      const wanted = new Set(ids);
      const visible = await sight.skills.listVisible(sight.domain, caller, options);
      return new Set(visible.map((skill) => skill.id).filter((id) => wanted.has(id)));
    },
  };
}
