/** The catalogue: only the Skills this user may see (the API decides). */

import type { Skill } from '../../../functions/contract/index.ts';
import { segment } from '../shared/api.ts';
import { useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import { Badge, Empty, PageHeader, Show } from '../shared/ui.tsx';

export const APPROVAL_TEXT: Readonly<Record<string, string>> = {
  none: 'No approval',
  one: 'One approval',
  two: 'Two approvals',
};

export function CataloguePage() {
  const { state, reload } = useResource<{ items: Skill[] }>('/api/skills');
  return (
    <>
      <PageHeader title="Skills">
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      <Show state={state} loading="Loading the catalogue…">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              <p>No Skills are available to you yet.</p>
              <p>An administrator of your organisation publishes Skills and chooses who may see them.</p>
            </Empty>
          ) : (
            <ul className="grid-cards" aria-label="Skills">
              {[...items]
                .sort((a, b) => a.name.localeCompare(b.name))
                .map((skill) => (
                  <li key={skill.id}>
                    <article className="card skill-card" aria-labelledby={`skill-${skill.id}`}>
                      <h2 id={`skill-${skill.id}`}>{skill.name}</h2>
                      <div className="meta">
                        <Badge value={skill.risk} label={`${skill.risk} risk`} />
                        <Badge value="info" label={APPROVAL_TEXT[skill.approval] ?? skill.approval} />
                        {skill.state === 'active' ? null : <Badge value={skill.state} />}
                      </div>
                      <p className="muted">{skill.description || 'No description.'}</p>
                      <div className="actions">
                        {skill.state === 'active' ? (
                          <Link
                            className="button"
                            to={`/skills/${segment(skill.id)}`}
                            aria-label={`Run ${skill.name}`}
                          >
                            Run
                          </Link>
                        ) : (
                          <p className="hint">Runs are paused: an administrator disabled this Skill.</p>
                        )}
                      </div>
                    </article>
                  </li>
                ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}
