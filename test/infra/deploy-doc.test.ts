/**
 * `docs/deploy.md` as an operator runs it: every command in its `sh` blocks is exercised here where it
 * can run offline. Each `npx cdk synth|deploy|destroy` is synthesized with exactly its context (over
 * cdk.json's, as the CLI merges them; deploy and destroy synthesize the same stack first), through
 * the same context parsing as `bin/cdk.ts`, with cdk-nag; each `aws` command needs an account and is
 * on the online-only list, its payload checked against what the function accepts. A command that is
 * neither fails the test, so the document cannot grow an untested command.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifecycleEvent } from '../../functions/lifecycle-scan/events.ts';
import { CONTEXT, stackPropsFromContext, stageContext } from '../../lib/aws/context.ts';
import { ExecFabricStack, personalHostsPlan, REPOSITORY_ROOT, stackIdFor } from '../../lib/aws/stack.ts';
import { documentedCommands, shellWords } from '../support/shell.ts';
import {
  cdkJsonContext,
  functionProperties,
  logicalId,
  resourcesOfType,
  type Synthesized,
  synthesizeStack,
} from './support.ts';

/** `-c key=value` pairs of a cdk command, as the CLI passes them. */
function contextOf(words: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== '-c' && words[i] !== '--context') continue;
    const pair = words[i + 1] ?? '';
    const split = pair.indexOf('=');
    context[pair.slice(0, split)] = pair.slice(split + 1);
  }
  return context;
}

/** The stack `bin/cdk.ts` builds for this context (bundling skipped: the synth test does it for real). */
function synthesizeWith(context: Record<string, string>): Synthesized {
  return synthesizeStack({ ...cdkJsonContext(), ...context }, (app) => {
    const read = (key: string) => app.node.tryGetContext(key);
    const stage = stageContext(CONTEXT.stage, read(CONTEXT.stage));
    const props = stackPropsFromContext(read);
    return { stack: new ExecFabricStack(app, stackIdFor(stage), { ...props }), context: props };
  });
}

/** Commands that need an AWS account; each is checked as far as it can be offline. */
const ONLINE_ONLY: Readonly<Record<string, (words: readonly string[]) => void>> = {
  'aws lambda invoke': (words) => {
    const payload = words[words.indexOf('--payload') + 1] ?? '';
    const parsed = lifecycleEvent.safeParse(JSON.parse(payload));
    expect(parsed.success, `${payload} is an event the lifecycle function takes`).toBe(true);
  },
  'aws cloudfront list-distribution-tenants': (words) => {
    expect(words).toContain('--association-filter');
  },
  // CloudFront reads certificates only from us-east-1, and ACM validates a wildcard only by DNS or email.
  'aws acm request-certificate': (words) => {
    expect(words[words.indexOf('--region') + 1]).toBe('us-east-1');
    expect(words[words.indexOf('--domain-name') + 1]).toMatch(/^\*\./);
    expect(words[words.indexOf('--validation-method') + 1]).toBe('DNS');
  },
};

const markdown = readFileSync(resolve(REPOSITORY_ROOT, 'docs', 'deploy.md'), 'utf8');
const commands = documentedCommands(markdown);

describe('docs/deploy.md', () => {
  it('documents commands, each either synthesized here or known to need an account', () => {
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const command of commands) {
      const words = shellWords(command);
      const cdk =
        words[0] === 'npx' && words[1] === 'cdk' && ['synth', 'deploy', 'destroy'].includes(words[2] ?? '');
      const online = Object.keys(ONLINE_ONLY).find((prefix) => command.startsWith(prefix));
      expect(cdk || online !== undefined, `not exercised by a test: ${command}`).toBe(true);
      if (online !== undefined) ONLINE_ONLY[online]?.(words);
    }
  });

  it.each(commands.filter((command) => command.startsWith('npx cdk ')))('synthesizes `%s`', (command) => {
    const context = contextOf(shellWords(command));
    const synth = synthesizeWith(context);
    const stage = context[CONTEXT.stage];
    expect(synth.stack.stackName).toBe(stackIdFor(stage));
    if (stage !== undefined) {
      // Every name a second stage creates is its own.
      const queue = logicalId(synth.stack, synth.stack.queues.byName['script-executions'].queue);
      expect(String(synth.resources[queue]?.Properties?.QueueName)).toMatch(
        new RegExp(`^${stackIdFor(stage)}-`),
      );
      const schedules = resourcesOfType(synth.resources, 'AWS::Scheduler::Schedule');
      for (const [, schedule] of schedules) {
        expect(String(schedule.Properties?.Name)).toMatch(new RegExp(`^${stackIdFor(stage)}-`));
      }
      const group = resourcesOfType(synth.resources, 'AWS::CloudFront::ConnectionGroup')[0]?.[1];
      expect(String(group?.Properties?.Name)).toBe(`${stackIdFor(stage)}-hosts`);
    }
    const hosts = (context[CONTEXT.adminHosts] ?? '').split(',').filter((host) => host !== '');
    if (hosts.length > 0) expect(synth.context.adminHosts).toEqual(hosts);
    if (context[CONTEXT.certificateArn] !== undefined) {
      synth.template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: { ViewerCertificate: { AcmCertificateArn: context[CONTEXT.certificateArn] } },
      });
    }
    if (context[CONTEXT.reservedConcurrency] !== undefined) {
      const reserved = JSON.parse(context[CONTEXT.reservedConcurrency] ?? '{}') as Record<string, number>;
      for (const [name, count] of Object.entries(reserved)) {
        expect(functionProperties(synth, name as 'http-executor').ReservedConcurrentExecutions).toBe(count);
      }
    }
    // Named hosts are onboarded at run time; the stack makes only the personal spaces' wildcards.
    const wildcards = personalHostsPlan(synth.context.freeHosts, synth.context);
    synth.template.resourceCountIs('AWS::CloudFront::DistributionTenant', wildcards.length);
    if (context[CONTEXT.personalHostsCertificateArn] !== undefined) {
      expect(wildcards.length).toBeGreaterThan(0);
      synth.template.hasResourceProperties('AWS::CloudFront::DistributionTenant', {
        Domains: synth.context.freeHosts.map((host) => `*.${host}`),
        Customizations: { Certificate: { Arn: context[CONTEXT.personalHostsCertificateArn] } },
      });
    }
    if (context[CONTEXT.hostedZoneId] !== undefined) {
      synth.template.hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: context[CONTEXT.hostedZoneId],
        Type: 'CNAME',
      });
    }
  });
});
