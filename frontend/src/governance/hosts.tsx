/**
 * Host onboarding in the console: each host's state (`pending-dns → provisioning → active |
 * failed`), why it waits, the DNS records to create, and a button to check now (or start a failed
 * host over). Used for a tenant's hosts and for the platform's own.
 */

import type { HostOnboarding } from '../../../functions/contract/index.ts';
import { counted } from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { useAction, useResource } from '../shared/hooks.ts';
import { Badge, DateTime, Empty, ProblemView, Section, Show, Table } from '../shared/ui.tsx';

const STATE_LABEL: Readonly<Record<HostOnboarding['state'], string>> = {
  'pending-dns': 'waiting for DNS',
  provisioning: 'provisioning',
  active: 'active',
  failed: 'failed',
};

export function DomainStatus({
  domain,
  retryPath,
  onChanged,
}: {
  readonly domain: HostOnboarding;
  /** POST here to check now / start over. */
  readonly retryPath: string;
  readonly onChanged: (text: string) => void;
}) {
  const retry = useAction(async () => api.post<HostOnboarding>(retryPath, {}));
  const settled = domain.state === 'active';
  return (
    <div className="domain-status" data-host={domain.host} data-state={domain.state}>
      <p>
        <Badge value={domain.state} label={STATE_LABEL[domain.state]} />{' '}
        {domain.reason === undefined ? null : <span>{domain.reason}</span>}
      </p>
      {settled ? null : (
        <>
          {domain.dns.length === 0 ? null : (
            <Table columns={['Type', 'Name', 'Value', 'Why']}>
              {domain.dns.map((record) => (
                <tr key={`${record.type}:${record.name}:${record.value}`}>
                  <td>{record.type}</td>
                  <td>
                    <code>{record.name}</code>
                  </td>
                  <td>
                    <code>{record.value}</code>
                  </td>
                  <td>
                    {record.required ? '' : 'Only if needed: '}
                    {record.purpose}
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <p className="muted">
            Checked {counted(domain.attempts, 'time')}
            {domain.checkedAt === undefined ? null : (
              <>
                , last <DateTime value={domain.checkedAt} />
              </>
            )}
            {domain.nextAttemptAt === undefined ? null : (
              <>
                ; next check <DateTime value={domain.nextAttemptAt} />
              </>
            )}
            .
          </p>
          <ProblemView problem={retry.problem} />
          <button
            type="button"
            className="secondary small"
            disabled={retry.pending}
            onClick={async () => {
              const after = await retry.run();
              if (after !== undefined) onChanged(`${after.host}: ${STATE_LABEL[after.state]}.`);
            }}
          >
            {domain.state === 'failed' ? `Start ${domain.host} over` : `Check ${domain.host} now`}
          </button>
        </>
      )}
    </div>
  );
}

/** The platform's own hosts (this console's and the free entry's). */
export function PlatformHosts() {
  const hosts = useResource<{ items: HostOnboarding[] }>('/api/platform/hosts');
  return (
    <Section title="Platform hosts">
      <p className="muted">
        The console’s and the free entry’s hosts, onboarded like a customer’s: point each at the CNAME target
        shown.
      </p>
      <Show state={hosts.state} loading="Loading hosts…">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>
              <p>No platform host is bound yet.</p>
            </Empty>
          ) : (
            <ul className="host-list">
              {data.items.map((domain) => (
                <li key={domain.host}>
                  <code>{domain.host}</code>
                  <DomainStatus
                    domain={domain}
                    retryPath={`/api/platform/hosts/${segment(domain.host)}/retry`}
                    onChanged={() => hosts.reload()}
                  />
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </Section>
  );
}
