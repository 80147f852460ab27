/** A tenant's local agents as a table: the tenant front's Agents page and the governance console. */
import type { ReactNode } from 'react';
import { Badge, DateTime, Table } from './ui.tsx';

export interface AgentView {
  readonly name: string;
  readonly description: string;
  readonly status: 'online' | 'offline' | 'never-seen' | 'revoked';
  readonly lastSeenAt: string | null;
  readonly version: string | null;
  readonly platform: string | null;
  readonly tokenCreatedAt: string | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** The agents of a tenant as a table (also used by the governance console, read-only). */
export function AgentTable({
  agents,
  actions,
}: {
  readonly agents: readonly AgentView[];
  readonly actions?: (agent: AgentView) => ReactNode;
}) {
  return (
    <Table
      columns={['Agent', 'Status', 'Last seen', 'Version', ...(actions === undefined ? [] : ['Actions'])]}
    >
      {agents.map((agent) => (
        <tr key={agent.name}>
          <td>
            <code>{agent.name}</code>
            {agent.description ? <div className="muted">{agent.description}</div> : null}
            {agent.platform ? <div className="muted">{agent.platform}</div> : null}
          </td>
          <td>
            <Badge value={agent.status} label={agent.status.replace('-', ' ')} />
          </td>
          <td>{agent.lastSeenAt === null ? 'never' : <DateTime value={agent.lastSeenAt} />}</td>
          <td>{agent.version ?? '—'}</td>
          {actions === undefined ? null : <td className="actions">{actions(agent)}</td>}
        </tr>
      ))}
    </Table>
  );
}
