/**
 * CDK app entry (`cdk.json` runs `npx tsx bin/cdk.ts`). The stack is configured from CDK context
 * only (cdk.json or `-c key=value`), never from loose environment variables, and every synth runs
 * the cdk-nag AWS Solutions pack. The stack is environment-agnostic, so synthesis needs no AWS
 * credentials. The static sites are built first when they are missing or stale (a clean clone has
 * none), and a failed build stops the synth: a deploy never uploads an empty site bucket.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ensureSitesBuilt } from '../frontend/freshness.ts';
import { CONTEXT, stackPropsFromContext, stageContext } from '../lib/aws/context.ts';
import { ExecFabricStack, REPOSITORY_ROOT, stackIdFor } from '../lib/aws/stack.ts';

await ensureSitesBuilt(REPOSITORY_ROOT, (line) => process.stderr.write(`${line}\n`));

const app = new App();
const stage = stageContext(CONTEXT.stage, app.node.tryGetContext(CONTEXT.stage));
new ExecFabricStack(app, stackIdFor(stage), {
  description: 'ExecFabric: multi-tenant capability governance and execution',
  ...stackPropsFromContext((key) => app.node.tryGetContext(key)),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
