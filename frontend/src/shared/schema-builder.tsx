/**
 * A JSON Schema editor for a Skill's input or output: a builder for the common field types (text,
 * long text, number, whole number, yes/no, choice, date, email, list of text) beside the raw JSON,
 * both always in sync. Editing a field rewrites the JSON; editing the JSON re-reads the fields when
 * the schema is one the builder can show, and otherwise says what it does not cover and leaves the
 * JSON as typed (nothing is ever lost by the builder).
 */
import { useId, useMemo } from 'react';
import { CodeEditor } from './code-editor.tsx';

export const FIELD_TYPES = {
  text: 'Text',
  longtext: 'Long text',
  number: 'Number',
  integer: 'Whole number',
  boolean: 'Yes / no',
  choice: 'Choice',
  date: 'Date',
  email: 'Email',
  list: 'List of text',
} as const;
export type FieldType = keyof typeof FIELD_TYPES;

export interface SchemaField {
  readonly name: string;
  readonly type: FieldType;
  readonly title: string;
  readonly required: boolean;
  /** Choices of a `choice` field. */
  readonly choices: readonly string[];
  /** Bounds and notes kept as they are (minLength, maxLength, minimum, maximum, description, default). */
  readonly extras?: Readonly<Record<string, unknown>>;
}

export interface BuiltSchema {
  readonly fields: readonly SchemaField[];
  /** `additionalProperties: false`: nothing but the listed fields is accepted. */
  readonly closed: boolean;
}

type Json = Record<string, unknown>;

/** Kept through the builder unchanged. */
const EXTRA_KEYS = ['description', 'default', 'minLength', 'maxLength', 'minimum', 'maximum'] as const;
const PROPERTY_KEYS = new Set<string>([
  'type',
  'title',
  'format',
  'enum',
  'items',
  'x-widget',
  ...EXTRA_KEYS,
]);

function fieldOf(name: string, value: unknown, required: boolean): SchemaField | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `field ${name} is not an object`;
  const property = value as Json;
  const extra = Object.keys(property).filter((key) => !PROPERTY_KEYS.has(key));
  if (extra.length > 0) return `field ${name} uses ${extra.join(', ')}`;
  const title = typeof property.title === 'string' ? property.title : '';
  const extras: Json = {};
  for (const key of EXTRA_KEYS) if (property[key] !== undefined) extras[key] = property[key];
  const base = {
    name,
    title,
    required,
    choices: [] as string[],
    ...(Object.keys(extras).length > 0 ? { extras } : {}),
  };
  const { type, format } = property;
  if (
    type === 'string' &&
    Array.isArray(property.enum) &&
    property.enum.every((item) => typeof item === 'string')
  ) {
    return { ...base, type: 'choice', choices: property.enum as string[] };
  }
  if (property.enum !== undefined) return `field ${name} has choices that are not all text`;
  if (type === 'string' && format === 'date') return { ...base, type: 'date' };
  if (type === 'string' && format === 'email') return { ...base, type: 'email' };
  if (type === 'string' && format === undefined) {
    return { ...base, type: property['x-widget'] === 'textarea' ? 'longtext' : 'text' };
  }
  if (format !== undefined) return `field ${name} has the format ${String(format)}`;
  if (type === 'number' || type === 'integer' || type === 'boolean') return { ...base, type };
  if (type === 'array' && JSON.stringify(property.items) === '{"type":"string"}')
    return { ...base, type: 'list' };
  return `field ${name} has the type ${JSON.stringify(type)}`;
}

/** Reads a schema into builder fields, or says why the builder cannot show it. */
export function readSchema(text: string): BuiltSchema | { readonly unsupported: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { unsupported: `the JSON does not parse (${(error as Error).message})` };
  }
  if (value === true) return { fields: [], closed: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { unsupported: 'it is not an object schema' };
  const schema = value as Json;
  const extra = Object.keys(schema).filter(
    (key) =>
      !['type', 'properties', 'required', 'additionalProperties', '$schema', 'title', 'description'].includes(
        key,
      ),
  );
  if (extra.length > 0) return { unsupported: `it uses ${extra.join(', ')}` };
  if (schema.type !== undefined && schema.type !== 'object') return { unsupported: 'its type is not object' };
  if (schema.additionalProperties !== undefined && typeof schema.additionalProperties !== 'boolean') {
    return { unsupported: 'additionalProperties is a schema' };
  }
  const properties = (schema.properties ?? {}) as Json;
  if (typeof properties !== 'object' || Array.isArray(properties))
    return { unsupported: 'properties is not an object' };
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]).map(String) : [];
  const fields: SchemaField[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const field = fieldOf(name, property, required.includes(name));
    if (typeof field === 'string') return { unsupported: field };
    fields.push(field);
  }
  return { fields, closed: schema.additionalProperties === false };
}

function propertyOf(field: SchemaField): Json {
  const title = { ...(field.title.trim() === '' ? {} : { title: field.title.trim() }), ...field.extras };
  switch (field.type) {
    case 'text':
      return { type: 'string', ...title };
    case 'longtext':
      return { type: 'string', ...title, 'x-widget': 'textarea' };
    case 'number':
    case 'integer':
    case 'boolean':
      return { type: field.type, ...title };
    case 'choice':
      return { type: 'string', ...title, enum: [...field.choices] };
    case 'date':
      return { type: 'string', ...title, format: 'date' };
    case 'email':
      return { type: 'string', ...title, format: 'email' };
    case 'list':
      return { type: 'array', ...title, items: { type: 'string' } };
  }
}

/** The JSON Schema (2020-12) of builder fields, as indented text. */
export function writeSchema(built: BuiltSchema): string {
  const properties: Json = {};
  for (const field of built.fields)
    if (field.name.trim() !== '') properties[field.name.trim()] = propertyOf(field);
  const required = built.fields
    .filter((field) => field.required && field.name.trim() !== '')
    .map((field) => field.name.trim());
  return JSON.stringify(
    {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      ...(built.closed ? { additionalProperties: false } : {}),
    },
    null,
    2,
  );
}

export function SchemaEditor({
  id,
  label,
  value,
  onChange,
}: {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onChange: (text: string) => void;
}) {
  const built = useMemo(() => readSchema(value), [value]);
  const headingId = useId();
  const update = (next: BuiltSchema) => onChange(writeSchema(next));
  const fields = 'fields' in built ? built.fields : [];
  const change = (index: number, patch: Partial<SchemaField>) => {
    if (!('fields' in built)) return;
    update({ ...built, fields: fields.map((field, at) => (at === index ? { ...field, ...patch } : field)) });
  };
  return (
    <section className="schema-editor" aria-labelledby={headingId} data-schema-editor={id}>
      <h3 id={headingId}>{label}</h3>
      <div className="schema-columns">
        <fieldset className="schema-builder">
          <legend>Fields</legend>
          {'unsupported' in built ? (
            <p className="hint warn" role="status">
              The builder cannot show this schema: {built.unsupported}. Edit it as JSON.
            </p>
          ) : (
            <>
              {fields.length === 0 ? <p className="hint">No fields yet: any object is accepted.</p> : null}
              <ol className="schema-fields">
                {fields.map((field, index) => {
                  const prefix = `${id}-field-${index}`;
                  const number = index + 1;
                  return (
                    // biome-ignore lint/suspicious/noArrayIndexKey: fields are edited in place; names change as typed
                    <li key={index} className="schema-field">
                      <div className="field">
                        <label htmlFor={`${prefix}-name`}>Field {number} name</label>
                        <input
                          id={`${prefix}-name`}
                          value={field.name}
                          spellCheck={false}
                          autoCapitalize="none"
                          onChange={(event) => change(index, { name: event.target.value })}
                        />
                      </div>
                      <div className="field">
                        <label htmlFor={`${prefix}-type`}>Field {number} type</label>
                        <select
                          id={`${prefix}-type`}
                          value={field.type}
                          onChange={(event) => change(index, { type: event.target.value as FieldType })}
                        >
                          {Object.entries(FIELD_TYPES).map(([type, text]) => (
                            <option key={type} value={type}>
                              {text}
                            </option>
                          ))}
                        </select>
                      </div>
                      <div className="field">
                        <label htmlFor={`${prefix}-title`}>Field {number} label</label>
                        <input
                          id={`${prefix}-title`}
                          value={field.title}
                          onChange={(event) => change(index, { title: event.target.value })}
                        />
                      </div>
                      {field.type === 'choice' ? (
                        <div className="field">
                          <label htmlFor={`${prefix}-choices`}>
                            Field {number} choices (comma-separated)
                          </label>
                          <input
                            id={`${prefix}-choices`}
                            value={field.choices.join(', ')}
                            onChange={(event) =>
                              change(index, {
                                choices: event.target.value
                                  .split(',')
                                  .map((choice) => choice.trim())
                                  .filter((choice) => choice !== ''),
                              })
                            }
                          />
                        </div>
                      ) : null}
                      <div className="schema-field-actions">
                        <label className="check">
                          <input
                            type="checkbox"
                            checked={field.required}
                            onChange={(event) => change(index, { required: event.target.checked })}
                          />
                          Field {number} required
                        </label>
                        <button
                          type="button"
                          className="secondary small"
                          onClick={() =>
                            update({
                              ...(built as BuiltSchema),
                              fields: fields.filter((_, at) => at !== index),
                            })
                          }
                        >
                          Remove field {number}
                        </button>
                      </div>
                    </li>
                  );
                })}
              </ol>
              <div className="form-actions">
                <button
                  type="button"
                  className="secondary small"
                  onClick={() =>
                    update({
                      ...(built as BuiltSchema),
                      fields: [
                        ...fields,
                        {
                          name: `field${fields.length + 1}`,
                          type: 'text',
                          title: '',
                          required: false,
                          choices: [],
                        },
                      ],
                    })
                  }
                >
                  Add a field
                </button>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={(built as BuiltSchema).closed}
                    onChange={(event) => update({ ...(built as BuiltSchema), closed: event.target.checked })}
                  />
                  Refuse other fields
                </label>
              </div>
            </>
          )}
        </fieldset>
        <CodeEditor
          id={id}
          label={`${label} as JSON`}
          language="json"
          value={value}
          onChange={onChange}
          files={false}
        />
      </div>
    </section>
  );
}
