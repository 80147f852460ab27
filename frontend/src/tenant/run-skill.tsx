/**
 * Running a Skill through a form generated from its input schema by react-jsonschema-form,
 * validated in the browser with the JSON Schema dialect the API uses (2020-12, see skill-input.tsx);
 * the API validates again and its field errors are shown as they come. Then the run is watched until it ends.
 * Loaded on demand: the form library and its validator are most of the tenant front's weight.
 */
import type { UiSchema } from '@rjsf/utils';
import { useEffect, useMemo, useState } from 'react';
import { apiPath, type Execution, type Skill } from '../../../functions/contract/index.ts';
import { api, idempotencyHeaders, segment } from '../shared/api.ts';
import { useAction, useResource } from '../shared/hooks.ts';
import { Link, useLocation } from '../shared/router.tsx';
import { Badge, PageHeader, ProblemView, Section, Show } from '../shared/ui.tsx';
import { APPROVAL_TEXT } from './catalogue.tsx';
import { ExecutionDetails, useExecution } from './runs.tsx';
import { formSchema, NO_INPUT, SkillForm, uiFor } from './skill-input.tsx';

interface Started {
  readonly id: string;
  readonly status: string;
}

function RunWatcher({ id }: { readonly id: string }) {
  const { state } = useExecution(id);
  return (
    <Show state={state} loading="Starting the run…">
      {(execution) => <ExecutionDetails execution={execution} headingLevel={3} />}
    </Show>
  );
}

export default function RunSkillPage({ id }: { readonly id: string }) {
  const { state } = useResource<Skill>(apiPath('/api/skills/{id}', { id }));
  return (
    <Show state={state} loading="Loading the Skill…">
      {(skill) => <RunSkill skill={skill} />}
    </Show>
  );
}

function RunSkill({ skill }: { readonly skill: Skill }) {
  const schema = useMemo(() => formSchema(skill.inputSchema), [skill.inputSchema]);
  const { query } = useLocation();
  // "Edit input and run again": the form starts from an earlier run's input.
  const from = query.get('from');
  const earlier = useResource<Execution>(
    from === null ? null : apiPath('/api/executions/{id}', { id: from }),
  );
  const [formData, setFormData] = useState<unknown>(undefined);
  const [prefilled, setPrefilled] = useState(false);
  useEffect(() => {
    if (!prefilled && earlier.state.status === 'ready' && earlier.state.data.skillId === skill.id) {
      setFormData(earlier.state.data.input);
      setPrefilled(true);
    }
  }, [earlier.state, prefilled, skill.id]);
  const [runs, setRuns] = useState<Started[]>([]);
  const start = useAction(async (input: unknown) =>
    api.post<Started>(
      apiPath('/api/skills/{id}/executions', { id: skill.id }),
      { input: input ?? {}, ...(prefilled && from !== null ? { rerunOf: from } : {}) },
      { headers: idempotencyHeaders() },
    ),
  );
  const uiSchema: UiSchema = {
    ...uiFor(schema),
    'ui:submitButtonOptions': {
      submitText: start.pending ? 'Starting…' : 'Run',
      props: { disabled: start.pending },
    },
  };
  const latest = runs[0];

  return (
    <>
      <PageHeader title={skill.name}>
        <Link className="button secondary" to="/skills">
          All Skills
        </Link>
      </PageHeader>
      <div className="card">
        <p>{skill.description || 'No description.'}</p>
        <p className="meta">
          <Badge value={skill.risk} label={`${skill.risk} risk`} />{' '}
          <Badge value="info" label={APPROVAL_TEXT[skill.approval] ?? skill.approval} />
          {skill.approval === 'none' ? null : (
            <span className="muted"> · runs of this Skill wait for approval before they start</span>
          )}
        </p>
      </div>
      <Section title="Input">
        {prefilled ? (
          <p className="notice" role="status">
            The form starts from the input of run <code>{from}</code>; change what you need and run it again.
          </p>
        ) : null}
        {skill.state !== 'active' ? (
          <ProblemView
            problem={{
              type: 'urn:execfabric:problem:not-runnable',
              title: 'This Skill cannot run right now',
              status: 409,
              detail: `An administrator ${skill.state === 'disabled' ? 'disabled' : 'archived'} it; runs are refused until it is restored.`,
              errors: [],
            }}
          />
        ) : null}
        {schema === null ? (
          <ProblemView problem={NO_INPUT} />
        ) : (
          <SkillForm
            schema={schema}
            uiSchema={uiSchema}
            formData={formData}
            onChange={(event) => setFormData(event.formData)}
            onSubmit={async (event) => {
              const started = await start.run(event.formData);
              if (started !== undefined) setRuns((previous) => [started, ...previous]);
            }}
            noHtml5Validate
            idPrefix="input"
          />
        )}
        <ProblemView problem={start.problem} focus />
      </Section>
      {latest === undefined ? null : (
        <Section title="Latest run" className="latest-run">
          <RunWatcher key={latest.id} id={latest.id} />
        </Section>
      )}
      {runs.length > 1 ? (
        <Section title="Earlier runs on this page">
          <ul>
            {runs.slice(1).map((run) => (
              <li key={run.id}>
                <Link to={`/executions/${segment(run.id)}`}>
                  <code>{run.id}</code>
                </Link>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
    </>
  );
}
