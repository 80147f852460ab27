/**
 * The governance console, served on the admin host: tenants and hosts, customers and orders, the
 * free edition's leads and personal spaces,
 * lifecycle scans, HTTP resources, templates, platform announcements, the platform audit and the
 * operators. Menus are exactly those `GET /api/me` gives the caller.
 */
import type { Me } from '../shared/api.ts';
import { AuditPage } from '../shared/audit.tsx';
import { Console, type RoutedPage } from '../shared/console.tsx';
import { useLocation } from '../shared/router.tsx';
import { UsersPage } from '../shared/users.tsx';
import { CustomerPage, CustomersPage } from './customers.tsx';
import { FreeEditionPage, LeadPage } from './free.tsx';
import {
  ConsoleTenantsPage,
  HttpResourcesPage,
  LifecyclePage,
  PlatformAnnouncementsPage,
} from './platform.tsx';
import { TemplatesPage } from './templates.tsx';
import { TenantPage, TenantsPage } from './tenants.tsx';

function TenantRoute({ id, canCustomers }: { readonly id: string; readonly canCustomers: boolean }) {
  const { query } = useLocation();
  return <TenantPage id={id} created={query.get('created') === '1'} canCustomers={canCustomers} />;
}

function route(segments: readonly string[], me: Me): RoutedPage | null {
  const [section, id, extra] = segments;
  if (extra !== undefined) return null;
  const can = (permission: string) => me.permissions.includes(permission);
  const single = (menu: string, element: RoutedPage['element']) =>
    id === undefined ? { menu, element } : null;
  switch (section) {
    case 'tenants':
      return {
        menu: 'tenants',
        element:
          id === undefined ? (
            <TenantsPage />
          ) : (
            <TenantRoute key={id} id={id} canCustomers={can('customer:manage')} />
          ),
      };
    case 'customers':
      return {
        menu: 'customers',
        element:
          id === undefined ? (
            <CustomersPage canCustomers={can('customer:manage')} canOrders={can('order:manage')} />
          ) : (
            <CustomerPage key={id} id={id} canLink={can('tenant:manage')} />
          ),
      };
    case 'free':
      return {
        menu: 'free',
        element:
          id === undefined ? (
            <FreeEditionPage canManage={can('lead:manage')} canOffer={can('template:manage')} />
          ) : (
            <LeadPage key={id} id={id} canManage={can('lead:manage')} />
          ),
      };
    case 'lifecycle':
      return single('lifecycle', <LifecyclePage />);
    case 'http-resources':
      return single('http-resources', <HttpResourcesPage />);
    case 'templates':
      return single('templates', <TemplatesPage />);
    case 'announcements':
      return single('announcements', <PlatformAnnouncementsPage />);
    case 'audit':
      return single('audit', <AuditPage title="Platform audit" />);
    case 'users':
      return single(
        'users',
        <UsersPage title="Operators" canManageRoles={false} platform self={me.username} />,
      );
    case 'console':
      return single('console', <ConsoleTenantsPage superAdmin={me.superAdmin === true} />);
    default:
      return null;
  }
}

export function GovernanceApp() {
  return (
    <Console
      product="ExecFabric governance"
      expects="public"
      loginHeading={() => 'Sign in to the governance console'}
      context={(me) => (me.superAdmin ? 'Platform · super-admin' : 'Platform')}
      route={route}
    />
  );
}
