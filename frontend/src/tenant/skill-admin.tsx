/**
 * Managing Skills: the whole catalogue (managers see every Skill, archived ones on request) and one
 * form to create or edit a Skill — schemas with a field builder beside the raw JSON, risk with the
 * approval rule following it, the roles that may see it, its binding — a script asset (a fixed
 * version or whatever is active) run by the platform or on one of the tenant's local agents, or an
 * HTTP resource — and disabling, archiving or restoring it.
 */
import { type FormEvent, useEffect, useState } from 'react';
import {
  APPROVAL_COUNT,
  APPROVALS,
  type ApprovalRule,
  type AssetBinding,
  type HttpRequestMapping,
  type HttpResourceSummary,
  MIN_APPROVALS,
  RISKS,
  type Risk,
  type ScriptAsset,
  type ScriptVersion,
  type Skill,
} from '../../../functions/contract/index.ts';
import type { AgentView } from '../shared/agents.tsx';
import { api, type Page, type Role, segment } from '../shared/api.ts';
import { CodeEditor } from '../shared/code-editor.tsx';
import { type Loadable, useAction, useNotice, useResource } from '../shared/hooks.ts';
import { LimitFields, limitTexts, withLimits } from '../shared/limits.tsx';
import { Link, navigate, useLocation } from '../shared/router.tsx';
import { SchemaEditor } from '../shared/schema-builder.tsx';
import { StateActions } from '../shared/state-actions.tsx';
import {
  Badge,
  Checks,
  DateTime,
  Empty,
  Notice,
  Options,
  PageHeader,
  ProblemView,
  Section,
  Show,
  splitList,
  Table,
  TextField,
  useConfirm,
} from '../shared/ui.tsx';
import { minimumApprovalsHint } from './wording.ts';

export function SkillAdminPage({ canInstall }: { readonly canInstall: boolean }) {
  const { state, reload } = useResource<{ items: Skill[] }>('/api/skills?archived=true');
  const scripts = useResource<Page<ScriptAsset>>('/api/assets/scripts?limit=100&archived=true');
  const scriptName = (id: string) =>
    scripts.state.status === 'ready'
      ? (scripts.state.data.items.find((item) => item.id === id)?.name ?? id)
      : id;
  return (
    <>
      <PageHeader title="Manage skills">
        <Link className="button" to="/skill-admin/new">
          New skill
        </Link>
      </PageHeader>
      <Section title="All Skills">
        <Show state={state} loading="Loading Skills…">
          {({ items }) =>
            items.length === 0 ? (
              <Empty>
                <p>No Skills yet. Upload a script, then create a Skill bound to it.</p>
              </Empty>
            ) : (
              <Table columns={['Skill', 'State', 'Risk', 'Approval', 'Visible to', 'Binding', 'Updated']}>
                {[...items]
                  .sort((a, b) => a.name.localeCompare(b.name))
                  .map((skill) => (
                    <tr key={skill.id}>
                      <td>
                        <Link to={`/skill-admin/${segment(skill.id)}`}>{skill.name}</Link>
                        <div className="muted">revision {skill.revision}</div>
                      </td>
                      <td>
                        <Badge value={skill.state} />
                      </td>
                      <td>
                        <Badge value={skill.risk} />
                      </td>
                      <td>{skill.approval}</td>
                      <td>
                        {skill.visibility.roles.length === 0 ? 'everyone' : skill.visibility.roles.join(', ')}
                      </td>
                      <td>
                        <Binding asset={skill.asset} scriptName={scriptName} />
                      </td>
                      <td>
                        <DateTime value={skill.updatedAt} />
                      </td>
                    </tr>
                  ))}
              </Table>
            )
          }
        </Show>
      </Section>
      {canInstall ? (
        <OfferedTemplates
          onInstalled={() => {
            // An install may add a script as well as a Skill: the Binding column names it from this list.
            reload();
            scripts.reload();
          }}
        />
      ) : null}
    </>
  );
}

/** A Skill's binding in the list: its script (or HTTP resource), the version, and the agent it runs on. */
function Binding({
  asset,
  scriptName,
}: {
  readonly asset: AssetBinding;
  readonly scriptName: (id: string) => string;
}) {
  return (
    <>
      {asset.kind === 'http' ? 'HTTP resource' : scriptName(asset.id)}
      {asset.version === undefined ? null : (
        <span className="muted">
          {' '}
          · {asset.version === 'active' ? 'active version' : `v${String(asset.version)}`}
        </span>
      )}
      {asset.kind === 'local-agent' && asset.agent !== undefined ? (
        <>
          {' '}
          on agent <code>{asset.agent}</code>
        </>
      ) : null}
    </>
  );
}

interface OfferedTemplate {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly latestVersion: number;
  readonly installedVersion: number | null;
  readonly skillId: string | null;
  readonly updateAvailable: boolean;
}

/** Templates the platform distributed to this tenant: install one as a Skill, or update it. */
function OfferedTemplates({ onInstalled }: { readonly onInstalled: () => void }) {
  const { state, reload } = useResource<{ items: OfferedTemplate[] }>('/api/templates');
  const [message, setMessage] = useNotice();
  const install = useAction(async (template: OfferedTemplate) =>
    api.post<OfferedTemplate>(`/api/templates/${segment(template.id)}/install`),
  );
  const onInstall = async (template: OfferedTemplate) => {
    const done = await install.run(template);
    if (done !== undefined) {
      setMessage(`${template.name} version ${done.installedVersion ?? template.latestVersion} is installed.`);
      reload();
      onInstalled();
    }
  };
  return (
    <Section title="Templates from the platform">
      <Notice>{message}</Notice>
      <ProblemView problem={install.problem} />
      <Show state={state} loading="Loading templates…" unavailable="Templates">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>
              <p>The platform has not offered any templates to your organisation.</p>
            </Empty>
          ) : (
            <Table columns={['Template', 'Installed', 'Actions']}>
              {items.map((template) => (
                <tr key={template.id}>
                  <td>
                    {template.name}
                    {template.description ? <div className="muted">{template.description}</div> : null}
                  </td>
                  <td>
                    {template.installedVersion === null ? (
                      'not installed'
                    ) : template.skillId === null ? (
                      `v${template.installedVersion}`
                    ) : (
                      <Link to={`/skill-admin/${segment(template.skillId)}`}>
                        v{template.installedVersion}
                      </Link>
                    )}
                  </td>
                  <td className="actions">
                    {template.installedVersion === null || template.updateAvailable ? (
                      <button
                        type="button"
                        className="small"
                        disabled={install.pending}
                        onClick={() => onInstall(template)}
                      >
                        {template.installedVersion === null
                          ? `Install ${template.name}`
                          : `Update ${template.name} to v${template.latestVersion}`}
                      </button>
                    ) : (
                      <span className="muted">up to date</span>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Show>
    </Section>
  );
}

export function SkillEditPage({
  id,
  canListAgents,
}: {
  readonly id: string | null;
  /** Whether the caller may list the tenant's agents (`agent:manage`), to bind a Skill to one. */
  readonly canListAgents: boolean;
}) {
  const skill = useResource<Skill>(id === null ? null : `/api/skills/${segment(id)}`);
  // What the last save said: the form is made anew from the saved revision, and shows it again.
  const [notice, setNotice] = useState('');
  // A Skill just created lands here with `?created=1`: said once (the address drops it at once, so a
  // reload does not say it again), until the next write.
  const { path, query } = useLocation();
  const [created] = useNotice(query.get('created') === '1' ? 'created' : '');
  useEffect(() => {
    if (query.has('created')) navigate(path, { replace: true });
  }, [path, query]);
  if (id === null) return <SkillForm skill={null} canListAgents={canListAgents} />;
  return (
    <Show state={skill.state} loading="Loading the Skill…">
      {(data) => (
        <SkillForm
          key={`${data.id}:${data.revision}`}
          skill={data}
          canListAgents={canListAgents}
          created={created !== ''}
          notice={notice}
          onSaved={(text) => {
            setNotice(text);
            skill.reload();
          }}
        />
      )}
    </Show>
  );
}

/**
 * The agent a local-agent Skill runs on: one of the tenant's agents, or, for a caller who may not
 * list them (`agents` null), its name typed in.
 */
function AgentField({
  agents,
  value,
  onChange,
}: {
  readonly agents: Loadable<{ items: AgentView[] }> | null;
  readonly value: string;
  readonly onChange: (value: string) => void;
}) {
  const agentsPage = <Link to="/agents">Agents page</Link>;
  return (
    <div className="field">
      <label htmlFor="skill-agent">Agent</label>
      {agents === null ? (
        <>
          <input
            id="skill-agent"
            required
            maxLength={63}
            spellCheck={false}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            aria-describedby="skill-agent-hint"
          />
          <p id="skill-agent-hint" className="hint">
            You may not list the agents (that takes the right to manage them): type the agent's name as a
            tenant admin sees it on the {agentsPage}.
          </p>
        </>
      ) : (
        <Show state={agents} loading="Loading agents…">
          {({ items }) =>
            items.length === 0 ? (
              <p className="hint">
                No agents yet: a tenant admin creates one on the {agentsPage}; then bind the Skill to it here.
              </p>
            ) : (
              <select id="skill-agent" required value={value} onChange={(e) => onChange(e.target.value)}>
                {value === '' ? (
                  <option value="" disabled>
                    Choose an agent
                  </option>
                ) : null}
                {value === '' || items.some((item) => item.name === value) ? null : (
                  <option value={value}>{value}</option>
                )}
                {items.map((item) => (
                  <option key={item.name} value={item.name}>
                    {item.name}
                    {item.status === 'online' ? '' : ` (${item.status.replace('-', ' ')})`}
                  </option>
                ))}
              </select>
            )
          }
        </Show>
      )}
    </div>
  );
}

const DEFAULT_INPUT = JSON.stringify(
  {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 } },
    required: ['name'],
    additionalProperties: false,
  },
  null,
  2,
);
const DEFAULT_OUTPUT = JSON.stringify({ type: 'object' }, null, 2);

function parseJson(label: string, text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `${label} is not valid JSON: ${(error as Error).message}` };
  }
}

function SkillForm({
  skill,
  canListAgents,
  created = false,
  notice = '',
  onSaved,
}: {
  readonly skill: Skill | null;
  readonly canListAgents: boolean;
  /** The Skill was just created: say so, with the ways to it. @default false */
  readonly created?: boolean;
  /** Shown when the form opens: what the save that made this revision said. @default nothing */
  readonly notice?: string;
  /** After a save or a change of state, with what to say about it. */
  readonly onSaved?: (notice: string) => void;
}) {
  const roles = useResource<{ items: Role[] }>('/api/roles');
  const scripts = useResource<Page<ScriptAsset>>('/api/assets/scripts?limit=100');
  const [name, setName] = useState(skill?.name ?? '');
  const [description, setDescription] = useState(skill?.description ?? '');
  const [inputSchema, setInputSchema] = useState(
    skill === null ? DEFAULT_INPUT : JSON.stringify(skill.inputSchema, null, 2),
  );
  const [outputSchema, setOutputSchema] = useState(
    skill === null ? DEFAULT_OUTPUT : JSON.stringify(skill.outputSchema, null, 2),
  );
  const [risk, setRisk] = useState<Risk>(skill?.risk ?? 'low');
  const [approval, setApproval] = useState<ApprovalRule>(skill?.approval ?? 'none');
  const [visibleTo, setVisibleTo] = useState<string[]>([...(skill?.visibility.roles ?? [])]);
  const [tags, setTags] = useState((skill?.tags ?? []).join(', '));
  const [kind, setKind] = useState(skill?.asset.kind ?? 'python-script');
  const [assetId, setAssetId] = useState(skill?.asset.id ?? '');
  const [version, setVersion] = useState(String(skill?.asset.version ?? 'active'));
  // A script run by the platform, or on a local agent: both pick a script and a version.
  const runsScript = kind === 'python-script' || kind === 'local-agent';
  const [agent, setAgent] = useState(skill?.asset.kind === 'local-agent' ? (skill.asset.agent ?? '') : '');
  const agents = useResource<{ items: AgentView[] }>(
    kind === 'local-agent' && canListAgents ? '/api/agents' : null,
  );
  const request = (skill?.asset.kind === 'http' ? skill.asset.request : undefined) as
    | HttpRequestMapping
    | undefined;
  const [httpId, setHttpId] = useState(skill?.asset.kind === 'http' ? skill.asset.id : '');
  const [httpMethod, setHttpMethod] = useState(request?.method ?? 'GET');
  const [httpPath, setHttpPath] = useState(request?.path ?? '/');
  const [httpQuery, setHttpQuery] = useState(
    request?.query === undefined ? '' : JSON.stringify(request.query, null, 2),
  );
  const [httpBody, setHttpBody] = useState(
    request?.body === undefined ? '' : JSON.stringify(request.body, null, 2),
  );
  const [limits, setLimits] = useState(() => limitTexts(skill?.limits));
  const [egress, setEgress] = useState<string[]>([...(skill?.egress ?? [])]);
  const [collections, setCollections] = useState<string[]>([...(skill?.collections ?? [])]);
  const [parameters, setParameters] = useState(skill?.parameters?.join(', ') ?? '');
  const dataCollections = useResource<{ items: { name: string; description: string }[] }>(
    kind === 'python-script' ? '/api/data/collections' : null,
  );
  const [formErrors, setFormErrors] = useState<string[]>([]);
  const [saved, setSaved] = useState(notice);

  // Pick the first script for a new Skill once the list is in.
  useEffect(() => {
    if (assetId === '' && runsScript && scripts.state.status === 'ready') {
      const first = scripts.state.data.items[0];
      if (first !== undefined) setAssetId(first.id);
    }
  }, [assetId, runsScript, scripts.state]);
  // And the first agent that has not been revoked.
  useEffect(() => {
    if (agent === '' && kind === 'local-agent' && agents.state.status === 'ready') {
      const first = agents.state.data.items.find((item) => item.status !== 'revoked');
      if (first !== undefined) setAgent(first.name);
    }
  }, [agent, kind, agents.state]);
  // Granted resources: the binding of an http Skill, or what a script may call (egress).
  const resources = useResource<{ items: HttpResourceSummary[] }>('/api/http-resources');
  useEffect(() => {
    if (httpId === '' && kind === 'http' && resources.state.status === 'ready') {
      const first = resources.state.data.items[0];
      if (first !== undefined) setHttpId(first.id);
    }
  }, [httpId, kind, resources.state]);
  const chosenResource =
    resources.state.status === 'ready'
      ? resources.state.data.items.find((item) => item.id === httpId)
      : undefined;
  const versions = useResource<Page<ScriptVersion>>(
    runsScript && assetId !== '' ? `/api/assets/scripts/${segment(assetId)}/versions?limit=100` : null,
  );

  // Names are labels (ids are the identity), so a second Skill of one name is allowed; the user is
  // asked first, as the CLI, which matches Skills by name, stops on the pair (docs/decisions/cli.md).
  const { confirm, dialog } = useConfirm();
  const namesakes = useAction(async (wanted: string) => {
    const { items } = await api.get<{ items: Skill[] }>('/api/skills?archived=true');
    return items
      .filter((item) => item.name === wanted && item.state !== 'archived' && item.id !== skill?.id)
      .map((item) => item.id);
  });

  const save = useAction(async (body: Record<string, unknown>) =>
    skill === null
      ? api.post<Skill>('/api/skills', body)
      : api.put<Skill>(`/api/skills/${segment(skill.id)}`, { ...body, revision: skill.revision }),
  );

  const tooFewApprovals = APPROVAL_COUNT[approval] < MIN_APPROVALS[risk];
  /** Choosing a risk raises the approval rule to what it needs at least (never lowers it). */
  const chooseRisk = (next: Risk) => {
    setRisk(next);
    if (APPROVAL_COUNT[approval] < MIN_APPROVALS[next]) {
      const needed = APPROVALS.find((rule) => APPROVAL_COUNT[rule] >= MIN_APPROVALS[next]);
      if (needed !== undefined) setApproval(needed);
    }
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved('');
    const input = parseJson('The input schema', inputSchema);
    const output = parseJson('The output schema', outputSchema);
    const query = kind === 'http' && httpQuery.trim() !== '' ? parseJson('The query', httpQuery) : {};
    const body = kind === 'http' && httpBody.trim() !== '' ? parseJson('The request body', httpBody) : {};
    const binding = runsScript
      ? {
          kind,
          id: assetId,
          version: version === 'active' ? 'active' : Number(version),
          ...(kind === 'local-agent' ? { agent } : {}),
        }
      : {
          kind,
          id: httpId,
          request: {
            method: httpMethod,
            path: httpPath,
            ...(query.value === undefined ? {} : { query: query.value }),
            ...(body.value === undefined ? {} : { body: body.value }),
          },
        };
    const noAgent =
      kind === 'local-agent' && agent.trim() === '' ? 'Choose the agent the Skill runs on.' : undefined;
    const errors = [input.error, output.error, query.error, body.error, noAgent].filter(
      (error): error is string => error !== undefined,
    );
    setFormErrors(errors);
    if (errors.length > 0) return;
    if (skill === null || name.trim() !== skill.name) {
      const taken = await namesakes.run(name.trim());
      if (taken === undefined) return;
      if (taken.length > 0) {
        const ok = await confirm({
          title: `A Skill named "${name.trim()}" exists`,
          body: (
            <p>
              {taken.length === 1 ? 'The Skill' : `${taken.length} Skills`} {taken.join(', ')}{' '}
              {taken.length === 1 ? 'has' : 'have'} this name. A second one is allowed (Skills are told apart
              by their ids), but <code>execfabric push</code> matches Skills by name and stops on a name two
              Skills share.
            </p>
          ),
          confirm: skill === null ? 'Create it anyway' : 'Save it anyway',
        });
        if (!ok) return;
      }
    }
    const result = await save.run({
      name,
      description,
      inputSchema: input.value,
      outputSchema: output.value,
      risk,
      approval,
      visibility: { roles: visibleTo },
      tags: splitList(tags),
      asset: binding,
      ...(kind === 'python-script' ? { egress, collections, parameters: splitList(parameters) } : {}),
      // Every limit the form shows, over whatever else the Skill has: a save never resets a limit.
      limits: withLimits(skill?.limits, limits),
    });
    if (result === undefined) return;
    if (skill === null) {
      navigate(`/skill-admin/${segment(result.id)}?created=1`);
    } else {
      setSaved(`Saved revision ${result.revision}.`);
      onSaved?.(`Saved revision ${result.revision}.`);
    }
  };

  return (
    <>
      <PageHeader title={skill === null ? 'New skill' : `Edit ${skill.name}`}>
        <Link className="button secondary" to="/skill-admin">
          All Skills
        </Link>
      </PageHeader>
      {created && skill !== null ? (
        <Notice>
          Skill {skill.name} created. <Link to={`/skills/${segment(skill.id)}`}>Run {skill.name}</Link> from
          the catalogue, see <Link to={`/executions?skillId=${encodeURIComponent(skill.id)}`}>its runs</Link>,
          or go on editing it here.
        </Notice>
      ) : null}
      {skill?.approvalWarning === undefined ? null : (
        <div className="banner tone-warn" role="status" aria-label="Approval warning">
          <p>{skill.approvalWarning.message}</p>
        </div>
      )}
      {dialog}
      <ProblemView problem={namesakes.problem} />
      <form onSubmit={submit} className="card" aria-label={skill === null ? 'New skill' : 'Edit skill'}>
        <TextField id="skill-name" label="Name" required maxLength={120} value={name} onChange={setName} />
        <LimitFields idPrefix="skill" value={limits} onChange={setLimits} />
        <div className="field">
          <label htmlFor="skill-description">Description</label>
          <textarea
            id="skill-description"
            maxLength={2000}
            rows={3}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
        <SchemaEditor
          id="skill-input-schema"
          label="Input schema (JSON Schema 2020-12)"
          value={inputSchema}
          onChange={setInputSchema}
        />
        <SchemaEditor
          id="skill-output-schema"
          label="Output schema"
          value={outputSchema}
          onChange={setOutputSchema}
        />
        <div className="form-row">
          <div className="field">
            <label htmlFor="skill-risk">Risk</label>
            <select id="skill-risk" value={risk} onChange={(e) => chooseRisk(e.target.value as Risk)}>
              <Options values={RISKS} />
            </select>
          </div>
          <div className="field">
            <label htmlFor="skill-approval">Approval</label>
            <select
              id="skill-approval"
              value={approval}
              onChange={(e) => setApproval(e.target.value as ApprovalRule)}
              aria-describedby="skill-approval-hint"
            >
              {APPROVALS.map((rule) => (
                <option key={rule} value={rule} disabled={APPROVAL_COUNT[rule] < MIN_APPROVALS[risk]}>
                  {rule}
                </option>
              ))}
            </select>
            <p id="skill-approval-hint" className={tooFewApprovals ? 'hint warn' : 'hint'}>
              {minimumApprovalsHint(risk, MIN_APPROVALS[risk])}
            </p>
          </div>
        </div>
        <fieldset>
          <legend>Visible to</legend>
          <p className="hint">No role ticked: every user who may read Skills sees it.</p>
          <Show state={roles.state} loading="Loading roles…">
            {({ items }) => (
              <Checks options={items.map((role) => role.name)} selected={visibleTo} onChange={setVisibleTo} />
            )}
          </Show>
        </fieldset>
        <TextField
          id="skill-tags"
          label="Tags (comma-separated; an AI client can be given every Skill with a tag)"
          maxLength={900}
          value={tags}
          onChange={setTags}
        />
        <fieldset>
          <legend>Binding</legend>
          <div className="field">
            <label htmlFor="skill-kind">Asset kind</label>
            <select id="skill-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="python-script">Python script</option>
              <option value="http">HTTP resource</option>
              <option value="local-agent">Script on a local agent</option>
            </select>
          </div>
          {runsScript ? (
            <div className="form-row">
              <div className="field">
                <label htmlFor="skill-asset">Script</label>
                <Show state={scripts.state} loading="Loading scripts…">
                  {({ items }) =>
                    items.length === 0 ? (
                      <p className="hint">
                        No scripts yet: <Link to="/assets">upload one first</Link>.
                      </p>
                    ) : (
                      <select id="skill-asset" value={assetId} onChange={(e) => setAssetId(e.target.value)}>
                        {items.map((asset) => (
                          <option key={asset.id} value={asset.id}>
                            {asset.name}
                          </option>
                        ))}
                      </select>
                    )
                  }
                </Show>
              </div>
              <div className="field">
                <label htmlFor="skill-version">Version</label>
                <select id="skill-version" value={version} onChange={(e) => setVersion(e.target.value)}>
                  <option value="active">The active version (follows hot updates)</option>
                  {versions.state.status === 'ready'
                    ? [...versions.state.data.items]
                        .sort((a, b) => b.version - a.version)
                        .map((item) => (
                          <option key={item.version} value={String(item.version)}>
                            v{item.version} only{item.note ? ` — ${item.note}` : ''}
                          </option>
                        ))
                    : null}
                </select>
              </div>
              {kind === 'local-agent' ? (
                <AgentField agents={canListAgents ? agents.state : null} value={agent} onChange={setAgent} />
              ) : (
                <>
                  <fieldset className="field">
                    <legend>HTTP resources the script may call</legend>
                    <p className="hint">
                      Through <code>ctx.http(…)</code>; the platform adds the credential. Approvers see this
                      list.
                    </p>
                    <Show
                      state={resources.state}
                      loading="Loading granted resources…"
                      unavailable="HTTP resources"
                    >
                      {({ items }) =>
                        items.length === 0 ? (
                          <p className="hint">No HTTP resource is granted to your organisation.</p>
                        ) : (
                          <Checks
                            options={items.map((item) => item.id)}
                            selected={egress}
                            onChange={setEgress}
                            label={(id) => items.find((item) => item.id === id)?.name ?? id}
                          />
                        )
                      }
                    </Show>
                  </fieldset>
                  <fieldset className="field">
                    <legend>Collections the script may read and write</legend>
                    <p className="hint">
                      Through <code>ctx.data.collection(name)</code>. Approvers see this list.
                    </p>
                    <Show state={dataCollections.state} loading="Loading collections…" unavailable="Data">
                      {({ items }) =>
                        items.length === 0 ? (
                          <p className="hint">No collections yet (tenant admins define them under Data).</p>
                        ) : (
                          <Checks
                            options={items.map((item) => item.name)}
                            selected={collections}
                            onChange={setCollections}
                          />
                        )
                      }
                    </Show>
                  </fieldset>
                  <div className="field">
                    <label htmlFor="skill-parameters">
                      Parameters the script may read (comma-separated keys)
                    </label>
                    <input
                      id="skill-parameters"
                      value={parameters}
                      onChange={(e) => setParameters(e.target.value)}
                      placeholder="region, greeting"
                    />
                    <p className="hint">
                      Read-only in <code>ctx.params</code>, as set under Parameters when the run starts.
                    </p>
                  </div>
                </>
              )}
            </div>
          ) : (
            <>
              <div className="form-row">
                <div className="field">
                  <label htmlFor="skill-resource">Resource</label>
                  <Show
                    state={resources.state}
                    loading="Loading granted resources…"
                    unavailable="HTTP resources"
                  >
                    {({ items }) =>
                      items.length === 0 ? (
                        <p className="hint">No HTTP resource is granted to your organisation yet.</p>
                      ) : (
                        <select
                          id="skill-resource"
                          value={httpId}
                          onChange={(e) => setHttpId(e.target.value)}
                        >
                          {items.map((resource) => (
                            <option key={resource.id} value={resource.id}>
                              {resource.name}
                              {resource.state === undefined || resource.state === 'active'
                                ? ''
                                : ` (${resource.state})`}
                            </option>
                          ))}
                        </select>
                      )
                    }
                  </Show>
                </div>
                <div className="field">
                  <label htmlFor="skill-method">Method</label>
                  <select
                    id="skill-method"
                    value={httpMethod}
                    onChange={(e) => setHttpMethod(e.target.value)}
                  >
                    <Options values={chosenResource?.methods ?? [httpMethod]} />
                  </select>
                </div>
              </div>
              <div className="field">
                <label htmlFor="skill-path">Path</label>
                <input
                  id="skill-path"
                  required
                  spellCheck={false}
                  value={httpPath}
                  onChange={(e) => setHttpPath(e.target.value)}
                  aria-describedby="skill-path-hint"
                />
                <p id="skill-path-hint" className="hint">
                  <code>{'{input.field}'}</code> placeholders take the run's input, in the path, query and
                  body.
                  {(chosenResource?.paths ?? []).length === 0 ? null : (
                    <>
                      {' '}
                      {chosenResource?.name} allows{' '}
                      {(chosenResource?.paths ?? []).map((pattern, index) => (
                        <span key={pattern}>
                          {index === 0 ? '' : ', '}
                          <code>{pattern}</code>
                        </span>
                      ))}{' '}
                      (a placeholder must fill a whole <code>*</code> segment).
                    </>
                  )}
                </p>
              </div>
              <div className="form-row">
                <CodeEditor
                  id="skill-query"
                  label="Query (JSON object, optional)"
                  language="json"
                  files={false}
                  value={httpQuery}
                  onChange={setHttpQuery}
                />
                <CodeEditor
                  id="skill-body"
                  label="Body (JSON, optional)"
                  language="json"
                  files={false}
                  value={httpBody}
                  onChange={setHttpBody}
                />
              </div>
            </>
          )}
        </fieldset>
        {formErrors.length > 0 ? (
          <div className="problem" role="alert">
            <ul className="problem-fields">
              {formErrors.map((error) => (
                <li key={error}>{error}</li>
              ))}
            </ul>
          </div>
        ) : null}
        <ProblemView problem={save.problem} focus />
        <Notice>{saved}</Notice>
        <button type="submit" disabled={save.pending}>
          {save.pending ? 'Saving…' : skill === null ? 'Create skill' : 'Save changes'}
        </button>
      </form>
      {skill === null ? null : (
        <Section title="Availability">
          <p>
            This Skill is <Badge value={skill.state} />
            {skill.stateReason ? <span className="muted"> — {skill.stateReason}</span> : null}
          </p>
          <StateActions
            subject="Skill"
            name={skill.name}
            state={skill.state}
            path={`/api/skills/${segment(skill.id)}/state`}
            onChanged={(text) => {
              setSaved(text);
              onSaved?.(text);
            }}
          />
        </Section>
      )}
    </>
  );
}
