/**
 * Branding of a dedicated delivery: a tenant whose `deliveryMode` is `dedicated` is shown, from the
 * same front build, under its own display name, logo, colours, home text and choice of menus, as its
 * super-admin sets them. Shared tenants keep the standard skeleton (their branding, if any was set,
 * is kept but not shown). The logo is a small image kept inline (a `data:` URL shown only in an
 * `<img>`, where even SVG runs no script), so the front loads nothing from elsewhere.
 */
import { isDisplayable, NOT_DISPLAYABLE_MESSAGE } from '../../contract/names.ts';
import type { Branding } from '../../contract/responses.ts';
import { ValidationError } from '../errors.ts';
import { TENANT_MENUS } from '../identity/permissions.ts';
import type { TenantView } from './tenant-repository.ts';
import type { DeliveryMode } from './tenants.ts';

// Read from the tenant record at the store's boundary; callers import it from here as before.
export { brandingFromItem } from './tenant-repository.ts';
// The answer's shape is the contract's (functions/contract/responses.ts), read by the fronts too.
export type { Branding };

/** Largest logo, decoded. */
export const MAX_LOGO_BYTES = 48 * 1024;
export const MAX_HOME_TEXT = 4000;
const COLOR = /^#[0-9a-fA-F]{6}$/;
const LOGO = /^data:image\/(png|jpeg|webp|svg\+xml);base64,([A-Za-z0-9+/]+={0,2})$/;

/** What the tenant front reads before anyone signs in. */
export interface TenantAppearance {
  readonly deliveryMode: DeliveryMode;
  /** Only for dedicated deliveries. */
  readonly branding?: Branding;
}

/** Checks a branding as a super-admin sends it; every problem is a field issue. */
export function validateBranding(input: Branding): Branding {
  const issues: { path: string; message: string }[] = [];
  if (input.displayName !== undefined && (input.displayName.trim() === '' || input.displayName.length > 80)) {
    issues.push({ path: 'displayName', message: '1 to 80 characters' });
  } else if (input.displayName !== undefined && !isDisplayable(input.displayName)) {
    issues.push({ path: 'displayName', message: NOT_DISPLAYABLE_MESSAGE });
  }
  if (input.logo !== undefined) {
    const match = LOGO.exec(input.logo);
    if (match === null) {
      issues.push({ path: 'logo', message: 'a data: URL of a PNG, JPEG, WebP or SVG image, base64-encoded' });
    } else if (Buffer.from(match[2] ?? '', 'base64').length > MAX_LOGO_BYTES) {
      issues.push({ path: 'logo', message: `at most ${MAX_LOGO_BYTES} bytes` });
    }
  }
  for (const name of ['primary', 'accent'] as const) {
    const value = input.colors?.[name];
    if (value !== undefined && !COLOR.test(value)) {
      issues.push({ path: `colors.${name}`, message: 'a colour as #rrggbb' });
    }
  }
  if (input.homeText !== undefined && input.homeText.length > MAX_HOME_TEXT) {
    issues.push({ path: 'homeText', message: `at most ${MAX_HOME_TEXT} characters` });
  }
  const known = new Set(TENANT_MENUS.map((menu) => menu.id));
  for (const id of input.menus ?? []) {
    if (!known.has(id)) issues.push({ path: 'menus', message: `no menu ${id}` });
  }
  if (issues.length > 0) throw new ValidationError('Invalid branding', issues);
  return {
    ...(input.displayName === undefined ? {} : { displayName: input.displayName.trim() }),
    ...(input.logo === undefined ? {} : { logo: input.logo }),
    ...(input.colors === undefined
      ? {}
      : {
          colors: {
            ...(input.colors.primary === undefined ? {} : { primary: input.colors.primary.toLowerCase() }),
            ...(input.colors.accent === undefined ? {} : { accent: input.colors.accent.toLowerCase() }),
          },
        }),
    ...(input.homeText === undefined ? {} : { homeText: input.homeText }),
    ...(input.menus === undefined ? {} : { menus: [...new Set(input.menus)] }),
  };
}

/** The appearance of a tenant: the branding shows only for a dedicated delivery. */
export function appearanceOf(view: Pick<TenantView, 'deliveryMode' | 'branding'>): TenantAppearance {
  return view.deliveryMode === 'dedicated' && view.branding !== undefined
    ? { deliveryMode: 'dedicated', branding: view.branding }
    : { deliveryMode: view.deliveryMode };
}
