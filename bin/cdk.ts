/**
 * CDK app entry (`cdk.json` runs `npx tsx bin/cdk.ts`). The stack is configured from CDK context
 * only (cdk.json or `-c key=value`), never from loose environment variables, and every synth runs
 * the cdk-nag AWS Solutions pack. The stack is environment-agnostic, so synthesis needs no AWS
 * credentials.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from '../lib/aws/context.ts';
import { ExecFabricStack, STACK_ID } from '../lib/aws/stack.ts';

const app = new App();
new ExecFabricStack(app, STACK_ID, {
  description: 'ExecFabric: multi-tenant capability governance and execution',
  ...stackPropsFromContext((key) => app.node.tryGetContext(key)),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
