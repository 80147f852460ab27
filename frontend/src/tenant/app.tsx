/**
 * The tenant front, served on every tenant host: the catalogue and runs for everyone, approvals for
 * approvers, AI clients for those who connect agents, and the admin pages (scripts, Skills, users
 * and roles, parameters, audit) for those whose role includes them. Which pages exist for a user is what `GET /api/me` lists in `menus`.
 */
import { lazy } from 'react';
import type { Me } from '../shared/api.ts';
import { AuditPage } from '../shared/audit.tsx';
import { Console, type RoutedPage } from '../shared/console.tsx';
import { UsersPage } from '../shared/users.tsx';
import { AgentsPage } from './agents.tsx';
import { TenantBanner } from './banner.tsx';
import { CataloguePage } from './catalogue.tsx';
import { CollectionPage, DataPage } from './data.tsx';
import { HomePage } from './home.tsx';
import { AnnouncementsPage, ApprovalsPage, HttpResourcesPage } from './inbox.tsx';
import { McpClientPage, McpClientsPage } from './mcp-clients.tsx';
import { ExecutionPage, ExecutionsPage } from './runs.tsx';
import { actingOn, SchedulePage, SchedulesPage } from './schedules.tsx';
import { ScriptPage, ScriptsPage } from './scripts.tsx';
import { ParametersPage, TokensPage } from './settings.tsx';
import { SkillAdminPage, SkillEditPage } from './skill-admin.tsx';

/** The run form pulls in the form library and its validator: loaded when first needed. */
const RunSkillPage = lazy(() => import('./run-skill.tsx'));

function route(segments: readonly string[], me: Me): RoutedPage | null {
  const [section, id, extra] = segments;
  if (extra !== undefined) return null;
  const can = (permission: string) => me.permissions.includes(permission);
  switch (section) {
    case 'home':
      return id === undefined ? { menu: 'home', element: <HomePage me={me} /> } : null;
    case 'skills':
      return {
        menu: 'skills',
        element: id === undefined ? <CataloguePage /> : <RunSkillPage key={id} id={id} />,
      };
    case 'executions':
      return {
        menu: 'executions',
        element: id === undefined ? <ExecutionsPage /> : <ExecutionPage key={id} id={id} me={me} />,
      };
    case 'approvals':
      return id === undefined ? { menu: 'approvals', element: <ApprovalsPage self={me.username} /> } : null;
    case 'announcements':
      return id === undefined
        ? { menu: 'announcements', element: <AnnouncementsPage canManage={can('announcement:manage')} /> }
        : null;
    case 'http-resources':
      return id === undefined ? { menu: 'http-resources', element: <HttpResourcesPage /> } : null;
    case 'assets':
      return {
        menu: 'assets',
        element: id === undefined ? <ScriptsPage /> : <ScriptPage key={id} id={id} />,
      };
    case 'skill-admin':
      return {
        menu: 'skill-admin',
        element:
          id === undefined ? (
            <SkillAdminPage canInstall={can('template:install')} />
          ) : (
            <SkillEditPage key={id} id={id === 'new' ? null : id} canListAgents={can('agent:manage')} />
          ),
      };
    case 'users':
      return id === undefined
        ? {
            menu: 'users',
            element: (
              <UsersPage title="Users & roles" canManageRoles={can('role:manage')} self={me.username} />
            ),
          }
        : null;
    case 'parameters':
      return id === undefined ? { menu: 'parameters', element: <ParametersPage /> } : null;
    case 'audit':
      return id === undefined ? { menu: 'audit', element: <AuditPage title="Audit" /> } : null;
    case 'agents':
      return id === undefined ? { menu: 'agents', element: <AgentsPage /> } : null;
    case 'tokens':
      return id === undefined
        ? { menu: 'tokens', element: <TokensPage permissions={me.permissions} /> }
        : null;
    case 'mcp-clients':
      return {
        menu: 'mcp-clients',
        element:
          id === undefined ? (
            <McpClientsPage canConnect={can('mcp:connect')} />
          ) : (
            <McpClientPage key={id} id={id} />
          ),
      };
    case 'schedules':
      return {
        menu: 'schedules',
        element:
          id === undefined ? (
            <SchedulesPage
              canCreate={can('schedule:create')}
              acting={actingOn(me.username, can('schedule:manage'))}
            />
          ) : (
            <SchedulePage key={id} id={id} acting={actingOn(me.username, can('schedule:manage'))} />
          ),
      };
    case 'data':
      return {
        menu: 'data',
        element:
          id === undefined ? (
            <DataPage canManage={can('data:manage')} />
          ) : (
            <CollectionPage key={id} name={id} canManage={can('data:manage')} />
          ),
      };
    default:
      return null;
  }
}

export function TenantApp() {
  return (
    <Console
      product="ExecFabric"
      expects="tenant"
      loginHeading={(health, appearance) =>
        `Sign in to ${appearance?.branding?.displayName ?? health.tenant?.name ?? 'ExecFabric'}`
      }
      notifications="/api/notifications"
      context={(me, health) =>
        me.appearance?.branding?.displayName !== undefined
          ? ''
          : me.domain.kind === 'tenant'
            ? me.domain.tenant.name
            : (health.tenant?.name ?? '')
      }
      banner={(me) => (me.domain.kind === 'tenant' ? <TenantBanner tenant={me.domain.tenant} /> : null)}
      route={route}
    />
  );
}
