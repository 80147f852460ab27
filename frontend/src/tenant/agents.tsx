/**
 * Local agents (tenant admins): each agent's status (online, last seen, version), creating one with
 * its token (shown once), and rotating or revoking that token. An agent is started on a machine with
 * `execfabric agent --name <name>`; Skills bound to it (`local-agent`) run there.
 */
import { type FormEvent, useState } from 'react';
import { AgentTable, type AgentView } from '../shared/agents.tsx';
import { api, segment } from '../shared/api.ts';
import { useAction, useResource } from '../shared/hooks.ts';
import { CodeBlock, Empty, PageHeader, ProblemView, Section, Show, TextField } from '../shared/ui.tsx';

export function AgentsPage() {
  const { state, reload } = useResource<{ items: AgentView[] }>('/api/agents');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const create = useAction(async () =>
    api.post<{ agent: AgentView; token: string }>('/api/agents', {
      name,
      ...(description === '' ? {} : { description }),
    }),
  );
  const rotate = useAction(async (agent: string) =>
    api.post<{ agent: AgentView; token: string }>(`/api/agents/${segment(agent)}/token`, {}),
  );
  const revoke = useAction(async (agent: string) =>
    api.delete<AgentView>(`/api/agents/${segment(agent)}/token`),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run();
    if (created !== undefined) {
      setSecret({ name: created.agent.name, token: created.token });
      setName('');
      setDescription('');
      reload();
    }
  };
  return (
    <>
      <PageHeader title="Agents" />
      <p className="muted">
        An agent runs this tenant’s <code>local-agent</code> Skills on a machine of yours, in the same Python
        runtime. Start it there with its token.
      </p>
      {secret === null ? null : (
        <div className="card" role="status">
          <p>
            <strong>Copy the token of {secret.name} now; it is not shown again.</strong>
          </p>
          <CodeBlock label="Start the agent">{`EXECFABRIC_AGENT_TOKEN=${secret.token} \\\n  execfabric agent --name ${secret.name} --host ${window.location.origin}`}</CodeBlock>
          <p className="hint">
            <code>execfabric</code> is the CLI installed from the package; in a clone of the repository, run{' '}
            <code>npx execfabric</code> instead.
          </p>
          <button type="button" className="secondary" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <Section title="Agents">
        <ProblemView problem={rotate.problem ?? revoke.problem} />
        <Show state={state} loading="Loading agents…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>No agents yet.</p>
              </Empty>
            ) : (
              <AgentTable
                agents={items}
                actions={(agent) => (
                  <>
                    <button
                      type="button"
                      className="secondary small"
                      disabled={rotate.pending}
                      onClick={async () => {
                        const rotated = await rotate.run(agent.name);
                        if (rotated !== undefined) setSecret({ name: agent.name, token: rotated.token });
                        reload();
                      }}
                    >
                      New token
                    </button>
                    {agent.status === 'revoked' ? null : (
                      <button
                        type="button"
                        className="danger small"
                        disabled={revoke.pending}
                        onClick={async () => {
                          await revoke.run(agent.name);
                          reload();
                        }}
                      >
                        Revoke token
                      </button>
                    )}
                  </>
                )}
              />
            )
          }
        </Show>
      </Section>
      <Section title="Create an agent">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField
              id="agent-name"
              label="Name (lowercase letters, digits and -)"
              required
              maxLength={63}
              value={name}
              onChange={setName}
            />
            <TextField
              id="agent-description"
              label="Description"
              maxLength={500}
              value={description}
              onChange={setDescription}
            />
          </div>
          <ProblemView problem={create.problem} />
          <button type="submit" disabled={create.pending}>
            Create agent
          </button>
        </form>
      </Section>
    </>
  );
}
