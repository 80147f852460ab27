/**
 * Synthesis for the infra tests: the stack exactly as `bin/cdk.ts` builds it (same context from
 * cdk.json, same cdk-nag plugin), plus small readers over the synthesized template. Each test file
 * synthesizes once, in `beforeAll`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type ContextStackProps, stackPropsFromContext } from '../../lib/aws/context.ts';
import {
  ExecFabricStack,
  type ExecFabricStackProps,
  REPOSITORY_ROOT,
  STACK_ID,
} from '../../lib/aws/stack.ts';
import type { FunctionName } from '../../lib/topology.ts';
import { tempDir } from '../support/scratch.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: ExecFabricStack;
  readonly template: Template;
  readonly resources: Readonly<Record<string, CfnResourceJson>>;
  /** What cdk.json's context configures (hosts, super-admins). */
  readonly context: ContextStackProps;
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: readonly string[];
  readonly Resource: readonly unknown[];
}

/** The context `cdk synth` would pass, read from cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(resolve(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * Builds and synthesizes the app; cdk-nag runs during synth and throws on any unacknowledged error.
 * Two costly steps are left to the `npx cdk synth` test, which runs them for real: bundling the
 * Node functions (the template does not depend on bundle contents) and aws-cdk-lib's built-in
 * CloudFormation schema validation.
 */
export function synthesize(overrides: Partial<ExecFabricStackProps> = {}): Synthesized {
  return synthesizeStack(cdkJsonContext(), (app) => {
    const context = stackPropsFromContext((key) => app.node.tryGetContext(key));
    return { stack: new ExecFabricStack(app, STACK_ID, { ...context, ...overrides }), context };
  });
}

/**
 * Synthesizes the stack `build` adds to an app with `context` (bundling skipped), with cdk-nag. The
 * cloud assembly is written to a temp folder that is removed before this returns: an app given no
 * `outdir` makes one in the system temp folder and never removes it (~34 MB each, the Python layer's
 * asset), so every synthesis of a suite run used to stay behind. The template is read before; no
 * assembly is returned (its folder is gone).
 */
export function synthesizeStack(
  context: Record<string, unknown>,
  build: (app: App) => { readonly stack: ExecFabricStack; readonly context: ContextStackProps },
): Synthesized {
  const outdir = tempDir('execfabric-cdk-');
  try {
    const app = new App({
      outdir: outdir.path,
      context: { ...context, 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const { stack, context: props } = build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    const template = Template.fromStack(stack);
    const resources = (template.toJSON() as { Resources: Record<string, CfnResourceJson> }).Resources;
    return { app, stack, template, resources, context: props };
  } finally {
    outdir.remove();
  }
}

export function logicalId(
  stack: ExecFabricStack,
  construct: { node: { defaultChild?: unknown } } | CfnElement,
): string {
  const element = 'logicalId' in construct ? construct : construct.node.defaultChild;
  return stack.getLogicalId(element as CfnElement);
}

export function resourcesOfType(
  resources: Readonly<Record<string, CfnResourceJson>>,
  type: string,
): [string, CfnResourceJson][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function statementsOf(document: unknown): Statement[] {
  const statements = asList((document as { Statement?: unknown } | undefined)?.Statement);
  return statements.map((raw) => {
    const statement = raw as { Sid?: string; Effect: string; Action?: string | string[]; Resource?: unknown };
    return {
      ...(statement.Sid === undefined ? {} : { Sid: statement.Sid }),
      Effect: statement.Effect,
      Action: asList(statement.Action),
      Resource: asList(statement.Resource as unknown[] | unknown),
    };
  });
}

/** Every identity-policy statement of every role, policy and managed policy in the template. */
export function allStatements(resources: Readonly<Record<string, CfnResourceJson>>): Statement[] {
  const out: Statement[] = [];
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      out.push(...statementsOf(resource.Properties?.PolicyDocument));
    } else if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of asList(resource.Properties?.Policies as unknown[] | undefined)) {
        out.push(...statementsOf((policy as { PolicyDocument?: unknown }).PolicyDocument));
      }
    }
  }
  return out;
}

/** Statements that apply to one role: its inline policies and every policy attached to it. */
export function roleStatements(
  resources: Readonly<Record<string, CfnResourceJson>>,
  roleLogicalId: string,
): Statement[] {
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const out: Statement[] = [];
  for (const policy of asList(role.Properties?.Policies as unknown[] | undefined)) {
    out.push(...statementsOf((policy as { PolicyDocument?: unknown }).PolicyDocument));
  }
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = asList(resource.Properties?.Roles as unknown[] | undefined);
    if (roles.some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }))) {
      out.push(...statementsOf(resource.Properties?.PolicyDocument));
    }
  }
  expectNoManagedPolicies(role, roleLogicalId);
  return out;
}

function expectNoManagedPolicies(role: CfnResourceJson, roleLogicalId: string): void {
  const managed = asList(role.Properties?.ManagedPolicyArns as unknown[] | undefined);
  if (managed.length > 0)
    throw new Error(`${roleLogicalId} has managed policies: ${JSON.stringify(managed)}`);
}

export function functionRoleStatements(synth: Synthesized, name: FunctionName): Statement[] {
  return roleStatements(synth.resources, logicalId(synth.stack, synth.stack.functions.byName[name].role));
}

export function functionProperties(synth: Synthesized, name: FunctionName): Record<string, unknown> {
  const id = logicalId(synth.stack, synth.stack.functions.byName[name].fn);
  const properties = synth.resources[id]?.Properties;
  if (properties === undefined) throw new Error(`No function ${name} (${id})`);
  return properties;
}

export function environmentOf(properties: Record<string, unknown>): Record<string, unknown> {
  return ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
    {}) as Record<string, unknown>;
}

/** `{{resolve:secretsmanager:<Ref secret>:SecretString:::}}` written as CloudFormation emits it. */
export function isSecretsManagerReference(value: unknown, secretLogicalId?: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) return false;
  const [separator, parts] = join;
  if (separator !== '' || parts.length !== 3) return false;
  const [open, ref, close] = parts;
  return (
    open === '{{resolve:secretsmanager:' &&
    typeof close === 'string' &&
    close.startsWith(':SecretString:') &&
    close.endsWith('}}') &&
    typeof ref === 'object' &&
    ref !== null &&
    'Ref' in ref &&
    (secretLogicalId === undefined || (ref as { Ref: unknown }).Ref === secretLogicalId)
  );
}

/** The one resource of a type (optionally among those a predicate keeps); fails on none or several. */
export function onlyResource(
  resources: Readonly<Record<string, CfnResourceJson>>,
  type: string,
  keep: (resource: CfnResourceJson) => boolean = () => true,
): CfnResourceJson {
  const found = resourcesOfType(resources, type).filter(([, resource]) => keep(resource));
  if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
  return (found[0] as [string, CfnResourceJson])[1];
}

/**
 * String values in a template that look like a generated secret (24+ letters and digits of mixed
 * case, digits included, no spaces or separators), skipping keys, logical-id references and names
 * CDK derives from construct paths (they end in an 8-character upper-case hex hash).
 */
export function secretLookingLiterals(template: unknown): string[] {
  const found: string[] = [];
  const looksLikeSecret = (value: string) =>
    /^[A-Za-z0-9+/=_-]{24,}$/.test(value) &&
    /[A-Z]/.test(value) &&
    /[a-z]/.test(value) &&
    /\d/.test(value) &&
    !/[0-9A-F]{8}$/.test(value);
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      if (looksLikeSecret(node)) found.push(node);
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Ref' || key === 'Fn::GetAtt' || key === 'DependsOn') continue;
        visit(value);
      }
    }
  };
  const resources = (template as { Resources?: Record<string, unknown> }).Resources ?? {};
  for (const resource of Object.values(resources)) visit((resource as { Properties?: unknown }).Properties);
  visit((template as { Outputs?: unknown }).Outputs);
  return found;
}
