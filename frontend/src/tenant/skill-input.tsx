/**
 * A Skill's input as a form generated from its input schema by react-jsonschema-form, validated in
 * the browser with the JSON Schema dialect the API uses (2020-12). The run page uses the pieces
 * here; a schedule's form embeds `SkillInputFields` (its own fields inside the schedule's form, with
 * raw JSON as the way out for input the form cannot show). Loaded on demand: the form library and
 * its validator are most of the tenant front's weight.
 */
import Form, { type FormProps } from '@rjsf/core';
import type { FieldProps, RegistryFieldsType, RJSFSchema, UiSchema } from '@rjsf/utils';
import { customizeValidator } from '@rjsf/validator-ajv8';
import Ajv2020 from 'ajv/dist/2020';
import { type Ref, useImperativeHandle, useMemo, useRef, useState } from 'react';
import type { Skill } from '../../../functions/contract/index.ts';
import { ProblemView } from '../shared/ui.tsx';
import { readableFormErrors } from './wording.ts';

export const validator = customizeValidator({ AjvClass: Ajv2020 });

/** rjsf renders objects; a boolean schema becomes the empty object schema (true) or nothing (false). */
export function formSchema(schema: Skill['inputSchema']): RJSFSchema | null {
  if (schema === true) return { type: 'object' };
  if (schema === false) return null;
  // The Skill's own name is the page heading; a schema title would repeat it.
  const { $schema: _dialect, title: _title, ...rest } = schema as Record<string, unknown>;
  return rest as RJSFSchema;
}

/** Long-text fields (`x-widget: textarea` from the schema builder) get a text area. */
export function uiFor(schema: RJSFSchema | null): UiSchema {
  const ui: UiSchema = {};
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, property] of Object.entries(properties)) {
    if (property['x-widget'] === 'textarea') ui[name] = { 'ui:widget': 'textarea' };
  }
  return ui;
}

/**
 * An array's item, labelled as a person reads it: "Tags 1", not rjsf's "Tags-1" (or "tags-1" from
 * the property's name when the array has no title). An item schema's own title still wins (rjsf).
 */
function itemTitle(title: string | undefined, index: number): string | undefined {
  const suffix = `-${index + 1}`;
  return title?.endsWith(suffix) === true ? `${title.slice(0, -suffix.length)} ${index + 1}` : title;
}

function ArrayItemField(props: FieldProps) {
  // rjsf's own field for a schema, which every registry holds.
  const { SchemaField } = props.registry.fields;
  const index: unknown = props.index;
  if (SchemaField === undefined) return null;
  return (
    <SchemaField {...props} title={typeof index === 'number' ? itemTitle(props.title, index) : props.title} />
  );
}

/** The fields the Skill input forms (run page, schedule form) render with, in place of rjsf's. */
const FIELDS: RegistryFieldsType = { ArraySchemaField: ArrayItemField };

/**
 * rjsf's form as every Skill input form renders it (the run page, a schedule's fields): the API's
 * JSON Schema dialect, readable errors listed at the top, items labelled as a person reads them.
 */
export function SkillForm(
  props: Omit<FormProps, 'validator' | 'fields' | 'transformErrors' | 'showErrorList' | 'onError'> & {
    readonly ref?: Ref<Form>;
  },
) {
  return (
    <Form
      className="rjsf"
      fields={FIELDS}
      validator={validator}
      transformErrors={readableFormErrors}
      showErrorList="top"
      // The errors are shown in the form; rjsf would also log them to the console.
      onError={() => undefined}
      {...props}
    />
  );
}

/** What a Skill whose input schema is `false` shows instead of a form: no input can be valid. */
export const NO_INPUT = {
  type: 'about:blank',
  title: 'This Skill accepts no input',
  status: 0,
  detail: 'Its input schema is false, so no run can be valid.',
  errors: [],
} as const;

/** How the form that embeds the fields checks them before it submits. */
export interface SkillInputHandle {
  /**
   * Checks the input against the Skill's schema as the run page does, showing what is wrong and
   * focusing it; the input when it fits, else null.
   */
  readonly check: () => { readonly input: unknown } | null;
}

/**
 * A Skill's input fields inside another form (rendered in a `div`, with no submit button of their
 * own: the outer form's Enter and submit are theirs). "Edit as JSON" switches to the raw input, for
 * input the generated form cannot show; it is checked against the same schema.
 */
export default function SkillInputFields({
  inputSchema,
  value,
  onChange,
  idPrefix,
  ref,
}: {
  readonly inputSchema: Skill['inputSchema'];
  /** The input so far (undefined: the schema's defaults). */
  readonly value: unknown;
  readonly onChange: (value: unknown) => void;
  readonly idPrefix: string;
  readonly ref: Ref<SkillInputHandle>;
}) {
  const schema = useMemo(() => formSchema(inputSchema), [inputSchema]);
  const uiSchema = useMemo<UiSchema>(
    () => ({ ...uiFor(schema), 'ui:submitButtonOptions': { norender: true } }),
    [schema],
  );
  const form = useRef<Form>(null);
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [text, setText] = useState('');
  const [problems, setProblems] = useState<readonly string[]>([]);
  const textId = `${idPrefix}-json`;

  /** The raw JSON checked against the schema: the input, or what is wrong with it (shown). */
  const parsed = (): { readonly input: unknown } | null => {
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      setProblems(['The input is not valid JSON.']);
      return null;
    }
    const errors =
      schema === null ? [] : validator.validateFormData(input, schema, undefined, readableFormErrors).errors;
    setProblems(errors.map((error) => error.stack));
    return errors.length === 0 ? { input } : null;
  };

  useImperativeHandle(ref, () => ({
    check: () => {
      if (schema === null) return null;
      if (mode === 'json') return parsed();
      const current = form.current;
      if (current === null || !current.validateForm()) return null;
      return { input: current.state.formData ?? {} };
    },
  }));

  if (schema === null) return <ProblemView problem={NO_INPUT} />;
  return (
    <div className="skill-input">
      {mode === 'form' ? (
        <SkillForm
          ref={form}
          tagName="div"
          schema={schema}
          uiSchema={uiSchema}
          formData={value}
          onChange={(event) => onChange(event.formData)}
          idPrefix={idPrefix}
        />
      ) : (
        <div className="field">
          <label htmlFor={textId}>Input (JSON, checked against the Skill's input schema)</label>
          <textarea
            id={textId}
            className="code-input"
            spellCheck={false}
            rows={6}
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
        </div>
      )}
      {problems.length === 0 ? null : (
        <div className="problem" role="alert">
          <p className="problem-title">The input does not fit the Skill</p>
          <ul className="problem-fields">
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      <button
        type="button"
        className="secondary small"
        onClick={() => {
          if (mode === 'form') {
            setText(JSON.stringify(form.current?.state.formData ?? value ?? {}, null, 2));
            setProblems([]);
            setMode('json');
            return;
          }
          // Back to the form as soon as the text is JSON; the form shows what does not fit.
          let input: unknown;
          try {
            input = JSON.parse(text);
          } catch {
            setProblems(['The input is not valid JSON.']);
            return;
          }
          setProblems([]);
          onChange(input);
          setMode('form');
        }}
      >
        {mode === 'form' ? 'Edit as JSON' : 'Edit in the form'}
      </button>
    </div>
  );
}
