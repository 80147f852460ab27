/** The subscription banner: expiring within 30 days, in its grace period, or suspended. */
import { readableUtc } from '../../../functions/contract/index.ts';

const DAY_MS = 24 * 3600 * 1000;
/** How far ahead an ending subscription is announced. */
export const EXPIRY_WARNING_DAYS = 30;

export interface TenantState {
  readonly name: string;
  readonly status: string;
  readonly expiresAt: string;
}

export function bannerFor(
  tenant: TenantState,
  now: Date = new Date(),
): { readonly tone: 'warn' | 'bad' | 'info'; readonly title: string; readonly text: string } | null {
  const expires = new Date(tenant.expiresAt);
  // In the words the lifecycle notices on the home page use for the same moment.
  const date = readableUtc(tenant.expiresAt) ?? tenant.expiresAt;
  if (tenant.status === 'suspended') {
    return {
      tone: 'bad',
      title: 'This organisation is suspended.',
      text: 'You can sign in and read, but Skills cannot run until the subscription is renewed. Contact your provider.',
    };
  }
  if (tenant.status === 'archived') {
    return {
      tone: 'bad',
      title: 'This organisation is archived.',
      text: 'Its data can be read but nothing can run.',
    };
  }
  if (tenant.status === 'grace') {
    return {
      tone: 'warn',
      title: 'The subscription has expired.',
      text: `It ended on ${date}. Skills still run during the grace period; renew soon or the organisation will be suspended.`,
    };
  }
  const days = Math.ceil((expires.getTime() - now.getTime()) / DAY_MS);
  if (Number.isFinite(days) && days <= EXPIRY_WARNING_DAYS) {
    return {
      tone: 'warn',
      title:
        days <= 0
          ? 'The subscription ends today.'
          : `The subscription ends in ${days} day${days === 1 ? '' : 's'}.`,
      text: `${tenant.status === 'trial' ? 'The trial' : 'It'} ends on ${date}. Contact your provider to renew.`,
    };
  }
  return null;
}

export function TenantBanner({ tenant }: { readonly tenant: TenantState }) {
  const banner = bannerFor(tenant);
  if (banner === null) return null;
  return (
    <section className={`banner tone-${banner.tone}`} aria-label="Subscription" data-banner={tenant.status}>
      <p>
        <strong>{banner.title}</strong> {banner.text}
      </p>
    </section>
  );
}
