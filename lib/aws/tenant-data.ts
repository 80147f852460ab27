/**
 * The tenant-data role: what a tenant-scoped function (`tableScope: 'tenant'`, the tenant API; and
 * the free entry, `tableScope: 'free'`, for the personal spaces it makes) reaches a tenant's
 * partitions with. The function assumes it once per tenant, tagging the session
 * `tenant=<id>`; the role's policy allows the table and its GSIs only for `dynamodb:LeadingKeys` of
 * `${aws:PrincipalTag/tenant}` (permissions.ts), so a bug that builds another tenant's key, or asks
 * for the wrong session, is refused by IAM. Only those functions' roles may assume it, only with a
 * `tenant` tag and no other.
 */
import { ArnPrincipal, CompositePrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TENANT_SESSION_TAG } from '../../functions/core/tenancy/tenant-scope.ts';
import type { PlatformFunctions } from './functions.ts';
import { PERSONAL_TENANT_TAG_PATTERN, tenantDataStatements } from './permissions.ts';

export interface TenantDataAccessProps {
  readonly functions: PlatformFunctions;
  readonly tableArn: string;
  readonly tableIndexArns: readonly string[];
}

export class TenantDataAccess extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: TenantDataAccessProps) {
    super(scope, id);
    const scoped = Object.values(props.functions.byName).filter(
      ({ spec }) => spec.permissions.tableScope === 'tenant' || spec.permissions.tableScope === 'free',
    );
    const principals = scoped.map(({ spec, role }) =>
      new ArnPrincipal(role.roleArn)
        .withConditions({
          // A session is always one tenant's: the tag must be there, and nothing else may be tagged.
          // The free entry may take sessions of personal spaces (`p-…`) only.
          StringLike: {
            [`aws:RequestTag/${TENANT_SESSION_TAG}`]:
              spec.permissions.tableScope === 'free' ? PERSONAL_TENANT_TAG_PATTERN : '?*',
          },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_SESSION_TAG] },
        })
        .withSessionTags(),
    );
    this.role = new Role(this, 'Role', {
      assumedBy: new CompositePrincipal(...principals),
      description: "ExecFabric tenant data: one tenant's partitions, per session tag",
    });
    for (const statement of tenantDataStatements(props)) this.role.addToPrincipalPolicy(statement);
  }
}
