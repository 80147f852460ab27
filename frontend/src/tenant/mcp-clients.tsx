/**
 * AI clients: agents (desktop AI apps, SDK programs) that reach this tenant's Skills as MCP tools.
 * Each acts for the user who created it, narrowed to the Skills (or tags) chosen here, with its own
 * token, shown once. The list shows every client's scope, last use and state; a client's page shows
 * its calls, each linked to the run it started.
 */
import { type FormEvent, useState } from 'react';
import type { McpCall, McpClient, Skill } from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { useAction, usePaged, useResource } from '../shared/hooks.ts';
import { Link } from '../shared/router.tsx';
import {
  Badge,
  CodeBlock,
  DateTime,
  Empty,
  LoadMore,
  PageHeader,
  ProblemView,
  Section,
  Show,
  ShowList,
  Submit,
  splitList,
  Table,
  TextField,
} from '../shared/ui.tsx';

/** The MCP endpoint of this host. */
function endpoint(): string {
  return `${window.location.origin}/mcp`;
}

function clientState(client: McpClient): string {
  if (client.revoked) return 'revoked';
  // Its user's sessions were ended after it was made (a new password, a disabling, End all sessions).
  if (client.endedAt !== undefined) return 'ended';
  return Date.parse(client.expiresAt) <= Date.now() ? 'expired' : 'active';
}

const STATE_TONES: Readonly<Record<string, string>> = {
  active: 'active',
  expired: 'cancelled',
  revoked: 'disabled',
  ended: 'disabled',
};

function Scope({
  client,
  skills,
}: {
  readonly client: McpClient;
  readonly skills: ReadonlyMap<string, string>;
}) {
  const named = client.skills.map((id) => skills.get(id) ?? id);
  return (
    <>
      {named.length === 0 ? null : <div>{named.join(', ')}</div>}
      {client.tags.length === 0 ? null : <div className="muted">tags: {client.tags.join(', ')}</div>}
    </>
  );
}

/** How to connect a client, with its token filled in (shown once, right after creation). */
function ConnectSnippets({ name, token }: { readonly name: string; readonly token: string }) {
  const key =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'execfabric';
  // mcp-remote bridges a stdio-only desktop app to Streamable HTTP. The header goes through an
  // environment variable (no space inside an argument, which some apps split); plain http (the
  // local platform) needs its explicit switch.
  const insecure = window.location.protocol === 'http:' ? ['--allow-http'] : [];
  const desktop = {
    mcpServers: {
      [key]: {
        command: 'npx',
        args: ['-y', 'mcp-remote', endpoint(), '--header', `Authorization:\${AUTH_HEADER}`, ...insecure],
        env: { AUTH_HEADER: `Bearer ${token}` },
      },
    },
  };
  const http = {
    servers: { [key]: { type: 'http', url: endpoint(), headers: { Authorization: `Bearer ${token}` } } },
  };
  return (
    <>
      <p>
        <strong>Copy the token now; it is not shown again.</strong>
      </p>
      <CodeBlock label="New AI client token">{token}</CodeBlock>
      <p>A desktop AI app that starts local servers (its MCP settings file):</p>
      <CodeBlock label="Desktop client settings">{JSON.stringify(desktop, null, 2)}</CodeBlock>
      <p>A client that speaks Streamable HTTP itself (an editor, the MCP SDK):</p>
      <CodeBlock label="Streamable HTTP client settings">{JSON.stringify(http, null, 2)}</CodeBlock>
    </>
  );
}

export function McpClientsPage({ canConnect }: { readonly canConnect: boolean }) {
  const clients = useResource<{ items: McpClient[] }>('/api/mcp-clients');
  const skills = useResource<{ items: Skill[] }>('/api/skills');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const revoke = useAction(async (id: string) => api.delete<void>(`/api/mcp-clients/${segment(id)}`));
  const skillNames = new Map(
    skills.state.status === 'ready'
      ? skills.state.data.items.map((skill) => [skill.id, skill.name] as const)
      : [],
  );
  return (
    <>
      <PageHeader title="AI clients" />
      <p className="muted">
        AI clients reach this tenant's Skills as tools over the Model Context Protocol, at{' '}
        <code>{endpoint()}</code>. A client acts for you, with no more than the Skills you give it; runs that
        need approval wait for people, as yours do.
      </p>
      {created === null ? null : (
        <div className="card" role="status">
          <ConnectSnippets name={created.name} token={created.token} />
          <button type="button" className="secondary" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <Section title="Clients">
        <ProblemView problem={revoke.problem} />
        <Show state={clients.state} loading="Loading AI clients…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>No AI clients yet.</p>
              </Empty>
            ) : (
              <Table columns={['Name', 'For', 'Skills', 'Expires', 'Last used', 'State', 'Actions']}>
                {items.map((client) => {
                  const state = clientState(client);
                  return (
                    <tr key={client.id}>
                      <td>
                        <Link to={`/mcp-clients/${segment(client.id)}`}>{client.name}</Link>
                      </td>
                      <td>{client.owner}</td>
                      <td>
                        <Scope client={client} skills={skillNames} />
                      </td>
                      <td>
                        <DateTime value={client.expiresAt} />
                      </td>
                      <td>{client.lastUsedAt === null ? 'never' : <DateTime value={client.lastUsedAt} />}</td>
                      <td>
                        <Badge value={STATE_TONES[state] ?? state} label={state} />
                      </td>
                      <td className="actions">
                        {state === 'revoked' ? null : (
                          <button
                            type="button"
                            className="danger small"
                            disabled={revoke.pending}
                            aria-label={`Revoke ${client.name}`}
                            onClick={async () => {
                              await revoke.run(client.id);
                              clients.reload();
                            }}
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </Table>
            )
          }
        </Show>
      </Section>
      {canConnect ? (
        <NewClient
          skills={skills.state.status === 'ready' ? skills.state.data.items : []}
          onCreated={(name, token) => {
            setCreated({ name, token });
            clients.reload();
          }}
        />
      ) : null}
    </>
  );
}

function NewClient({
  skills,
  onCreated,
}: {
  readonly skills: readonly Skill[];
  readonly onCreated: (name: string, token: string) => void;
}) {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [tags, setTags] = useState('');
  const [days, setDays] = useState('90');
  const [wait, setWait] = useState('5');
  const create = useAction(async () =>
    api.post<McpClient & { token: string }>('/api/mcp-clients', {
      name,
      skills: chosen,
      tags: splitList(tags),
      expiresInDays: Number(days),
      waitSeconds: Number(wait),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const client = await create.run();
    if (client !== undefined) {
      onCreated(client.name, client.token);
      setName('');
      setChosen([]);
      setTags('');
    }
  };
  return (
    <Section title="New AI client">
      <form onSubmit={submit}>
        <div className="form-row">
          <TextField
            id="mcp-client-name"
            label="Name"
            required
            maxLength={100}
            value={name}
            onChange={setName}
          />
          <TextField
            id="mcp-client-days"
            label="Valid for (days)"
            type="number"
            min={1}
            max={365}
            value={days}
            onChange={setDays}
          />
          <TextField
            id="mcp-client-wait"
            label="Wait for a run (seconds)"
            type="number"
            min={0}
            max={10}
            value={wait}
            onChange={setWait}
          />
        </div>
        <fieldset>
          <legend>Skills it may use</legend>
          {skills.length === 0 ? <p className="hint">You may run no Skills yet.</p> : null}
          <div className="checks">
            {skills.map((skill) => (
              <label key={skill.id} className="check">
                <input
                  type="checkbox"
                  checked={chosen.includes(skill.id)}
                  onChange={(event) =>
                    setChosen((previous) =>
                      event.target.checked
                        ? [...previous, skill.id]
                        : previous.filter((id) => id !== skill.id),
                    )
                  }
                />
                {skill.name}
              </label>
            ))}
          </div>
        </fieldset>
        <TextField
          id="mcp-client-tags"
          label="…or every Skill with one of these tags (comma-separated)"
          maxLength={900}
          value={tags}
          onChange={setTags}
        />
        <Submit action={create}>Create AI client</Submit>
      </form>
    </Section>
  );
}

export function McpClientPage({ id }: { readonly id: string }) {
  const client = useResource<McpClient>(`/api/mcp-clients/${segment(id)}`);
  const calls = usePaged<McpCall>(`/api/mcp-clients/${segment(id)}/calls`);
  return (
    <>
      <Show state={client.state} loading="Loading the AI client…">
        {(data) => (
          <>
            <PageHeader title={data.name}>
              <Link className="button secondary" to="/mcp-clients">
                All AI clients
              </Link>
            </PageHeader>
            <dl className="facts card">
              <dt>Acts for</dt>
              <dd>{data.owner}</dd>
              <dt>State</dt>
              <dd>
                <Badge value={STATE_TONES[clientState(data)] ?? 'muted'} label={clientState(data)} />
                {data.revokedBy === undefined ? null : ` by ${data.revokedBy}`}
              </dd>
              <dt>Created</dt>
              <dd>
                <DateTime value={data.createdAt} />
              </dd>
              <dt>Expires</dt>
              <dd>
                <DateTime value={data.expiresAt} />
              </dd>
              <dt>Last used</dt>
              <dd>{data.lastUsedAt === null ? 'never' : <DateTime value={data.lastUsedAt} />}</dd>
              <dt>Waits for a run</dt>
              <dd>{data.waitSeconds} s</dd>
            </dl>
          </>
        )}
      </Show>
      <Section title="Calls">
        <ShowList state={calls.state} loading="Loading calls…" empty={<p>No calls yet.</p>}>
          {(items) => (
            <Table columns={['When', 'Tool', 'Outcome', 'Run']}>
              {items.map((call) => (
                <tr key={`${call.at}-${call.tool}-${call.runId ?? ''}`}>
                  <td>
                    <DateTime value={call.at} />
                  </td>
                  <td>
                    <code>{call.tool}</code>
                  </td>
                  <td>
                    <Badge value={call.status} />
                    {call.error === undefined ? null : <div className="muted">{call.error.message}</div>}
                  </td>
                  <td>
                    {call.runId === undefined ? (
                      '—'
                    ) : (
                      <Link to={`/executions/${segment(call.runId)}`}>{call.runId}</Link>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </ShowList>
        <LoadMore list={calls} />
      </Section>
    </>
  );
}
