/** Tenant parameters and the caller's personal access tokens (for the CLI and agents). */
import { type FormEvent, useState } from 'react';
import type { AccessToken, Parameter } from '../../../functions/contract/index.ts';
import { api, segment } from '../shared/api.ts';
import { useAction, useNotice, useResource } from '../shared/hooks.ts';
import {
  CheckList,
  CodeBlock,
  DateTime,
  Empty,
  Notice,
  PageHeader,
  ProblemView,
  Section,
  Show,
  Submit,
  Table,
  TextField,
  useConfirm,
} from '../shared/ui.tsx';
import { TokenStateBadge, tokenState } from '../shared/user-tokens.tsx';

export function ParametersPage() {
  const { state, reload } = useResource<{ items: Parameter[] }>('/api/parameters');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const [message, setMessage] = useNotice();
  const save = useAction(async () =>
    api.post<Parameter>('/api/parameters', { key, value, ...(description === '' ? {} : { description }) }),
  );
  const remove = useAction(async (name: string) => api.delete<void>(`/api/parameters/${segment(name)}`));
  const { confirm, dialog } = useConfirm();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage('');
    if ((await save.run()) !== undefined) {
      setMessage(`Saved ${key}.`);
      setKey('');
      setValue('');
      setDescription('');
      reload();
    }
  };
  return (
    <>
      <PageHeader title="Parameters" />
      {dialog}
      <Section title="Parameters">
        <ProblemView problem={remove.problem} />
        <Show state={state} loading="Loading parameters…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>No parameters set.</p>
              </Empty>
            ) : (
              <Table columns={['Key', 'Value', 'Updated', 'Actions']}>
                {items.map((parameter) => (
                  <tr key={parameter.key}>
                    <td>
                      <code>{parameter.key}</code>
                      {parameter.description ? <div className="muted">{parameter.description}</div> : null}
                    </td>
                    <td>
                      <code>{parameter.value}</code>
                    </td>
                    <td>
                      <DateTime value={parameter.updatedAt} /> · {parameter.updatedBy}
                    </td>
                    <td className="actions">
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => {
                          setKey(parameter.key);
                          setValue(parameter.value);
                          setDescription(parameter.description);
                          document.getElementById('parameter-value')?.focus();
                        }}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        className="danger small"
                        disabled={remove.pending}
                        onClick={async () => {
                          const ok = await confirm({
                            title: `Delete the parameter ${parameter.key}?`,
                            body: <p>Scripts reading it get nothing from the next run on.</p>,
                            confirm: `Delete ${parameter.key}`,
                            danger: true,
                          });
                          if (!ok) return;
                          await remove.run(parameter.key);
                          reload();
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Show>
      </Section>
      <Section title="Set a parameter">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField id="parameter-key" label="Key" required maxLength={64} value={key} onChange={setKey} />
            <TextField
              id="parameter-value"
              label="Value"
              maxLength={8192}
              value={value}
              onChange={setValue}
            />
          </div>
          <TextField
            id="parameter-description"
            label="Description"
            maxLength={500}
            value={description}
            onChange={setDescription}
          />
          <ProblemView problem={save.problem} />
          <Notice>{message}</Notice>
          <button type="submit" disabled={save.pending}>
            Save parameter
          </button>
        </form>
      </Section>
    </>
  );
}

export function TokensPage({ permissions }: { readonly permissions: readonly string[] }) {
  const { state, reload } = useResource<{ items: AccessToken[] }>('/api/tokens');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [days, setDays] = useState('90');
  const [secret, setSecret] = useState<string | null>(null);
  const create = useAction(async () =>
    api.post<AccessToken & { token: string }>('/api/tokens', { name, scopes, expiresInDays: Number(days) }),
  );
  const revoke = useAction(async (id: string) => api.delete<void>(`/api/tokens/${segment(id)}`));
  const tokenConfirm = useConfirm();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run();
    if (created !== undefined) {
      setSecret(created.token);
      setName('');
      setScopes([]);
      reload();
    }
  };
  return (
    <>
      <PageHeader title="Access tokens" />
      {tokenConfirm.dialog}
      <p className="muted">
        Tokens let the command line and agents act as you, with no more than the scopes you pick. A new
        password, a disabling or “End all sessions” ends every token made before it.
      </p>
      {secret === null ? null : (
        <div className="card" role="status">
          <p>
            <strong>Copy the new token now; it is not shown again.</strong>
          </p>
          <CodeBlock label="New token">{secret}</CodeBlock>
          <button type="button" className="secondary" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <Section title="Your tokens">
        <ProblemView problem={revoke.problem} />
        <Show state={state} loading="Loading tokens…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>You have no access tokens.</p>
              </Empty>
            ) : (
              <Table columns={['Name', 'Scopes', 'Expires', 'Last used', 'Actions']}>
                {items.map((token) => (
                  <tr key={token.id}>
                    <td>{token.name}</td>
                    <td>{token.scopes.join(', ')}</td>
                    <td>
                      <DateTime value={token.expiresAt} />
                    </td>
                    <td>{token.lastUsedAt === null ? 'never' : <DateTime value={token.lastUsedAt} />}</td>
                    <td className="actions">
                      {tokenState(token) !== 'active' ? (
                        <TokenStateBadge token={token} />
                      ) : (
                        <button
                          type="button"
                          className="danger small"
                          disabled={revoke.pending}
                          onClick={async () => {
                            const ok = await tokenConfirm.confirm({
                              title: `Revoke the token ${token.name}?`,
                              body: (
                                <p>
                                  Whatever uses it (the command line, an agent) is refused from its next
                                  request on.
                                </p>
                              ),
                              confirm: 'Revoke the token',
                              danger: true,
                            });
                            if (!ok) return;
                            await revoke.run(token.id);
                            reload();
                          }}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Show>
      </Section>
      <Section title="New token">
        <form onSubmit={submit}>
          <div className="form-row">
            <TextField
              id="token-name"
              label="Name"
              required
              maxLength={100}
              value={name}
              onChange={setName}
            />
            <TextField
              id="token-days"
              label="Valid for (days)"
              type="number"
              min={1}
              max={365}
              value={days}
              onChange={setDays}
            />
          </div>
          <CheckList legend="Scopes" options={permissions} selected={scopes} onChange={setScopes} />
          <Submit action={create}>Create token</Submit>
        </form>
      </Section>
    </>
  );
}
