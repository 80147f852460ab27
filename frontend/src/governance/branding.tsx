/**
 * The branding of a dedicated delivery, as its super-admin sets it: display name, logo (an image
 * file kept inline), colours, home text and which menus its users see. It shows on the tenant's
 * own host only while the tenant's delivery is `dedicated`; shared tenants keep the standard look.
 */
import { type FormEvent, useState } from 'react';
import type { Tenant } from '../../../functions/contract/index.ts';
import { api, type Branding, segment } from '../shared/api.ts';
import { useAction } from '../shared/hooks.ts';
import { CheckList, Notice, Section, Submit, TextField } from '../shared/ui.tsx';

/** The tenant front's menus (GET /api/me lists those a role allows; Home always shows). */
const TENANT_MENUS: readonly [string, string][] = [
  ['skills', 'Skills'],
  ['executions', 'Runs'],
  ['approvals', 'Approvals'],
  ['announcements', 'Announcements'],
  ['http-resources', 'HTTP resources'],
  ['assets', 'Scripts'],
  ['skill-admin', 'Manage skills'],
  ['users', 'Users & roles'],
  ['parameters', 'Parameters'],
  ['audit', 'Audit'],
  ['tokens', 'Access tokens'],
];

const MAX_LOGO_BYTES = 48 * 1024;

export function BrandingSection({
  tenant,
  onSaved,
}: {
  readonly tenant: Tenant;
  readonly onSaved: (text: string) => void;
}) {
  const current = tenant.branding ?? {};
  const [displayName, setDisplayName] = useState(current.displayName ?? '');
  const [logo, setLogo] = useState(current.logo ?? '');
  const [primary, setPrimary] = useState(current.colors?.primary ?? '#18203a');
  const [accent, setAccent] = useState(current.colors?.accent ?? '#2651c7');
  const [homeText, setHomeText] = useState(current.homeText ?? '');
  const [allMenus, setAllMenus] = useState(current.menus === undefined);
  const [menus, setMenus] = useState<string[]>([...(current.menus ?? TENANT_MENUS.map(([id]) => id))]);
  const [logoProblem, setLogoProblem] = useState('');
  const dedicated = tenant.deliveryMode === 'dedicated';
  const save = useAction(async () => {
    const branding: Branding = {
      ...(displayName.trim() === '' ? {} : { displayName: displayName.trim() }),
      ...(logo === '' ? {} : { logo }),
      colors: { primary, accent },
      ...(homeText.trim() === '' ? {} : { homeText }),
      ...(allMenus ? {} : { menus }),
    };
    return api.put<Tenant>(`/api/tenants/${segment(tenant.id)}/branding`, { branding });
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if ((await save.run()) !== undefined) onSaved(`Branding of ${tenant.name} saved.`);
  };
  const readLogo = (file: File | undefined) => {
    setLogoProblem('');
    if (file === undefined) return;
    if (file.size > MAX_LOGO_BYTES) {
      setLogoProblem(`The logo is ${file.size} bytes; at most ${MAX_LOGO_BYTES} bytes.`);
      return;
    }
    if (!['image/png', 'image/jpeg', 'image/webp', 'image/svg+xml'].includes(file.type)) {
      setLogoProblem('A logo is a PNG, JPEG, WebP or SVG image.');
      return;
    }
    const reader = new FileReader();
    reader.onload = () => setLogo(String(reader.result));
    reader.readAsDataURL(file);
  };
  return (
    <Section title="Branding (dedicated delivery)">
      <p className={dedicated ? 'hint' : 'hint warn'}>
        {dedicated
          ? `${tenant.name} is a dedicated delivery: its hosts show this branding.`
          : `${tenant.name} is a shared tenant: this branding is kept but shows only once its delivery is dedicated.`}
      </p>
      <form onSubmit={submit} aria-label="Branding">
        <div className="form-row">
          <TextField
            id="branding-name"
            label="Display name"
            maxLength={80}
            value={displayName}
            onChange={setDisplayName}
          />
          <div className="field">
            <label htmlFor="branding-primary">Header colour</label>
            <input
              id="branding-primary"
              type="color"
              value={primary}
              onChange={(e) => setPrimary(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="branding-accent">Accent colour</label>
            <input
              id="branding-accent"
              type="color"
              value={accent}
              onChange={(e) => setAccent(e.target.value)}
            />
          </div>
        </div>
        <div className="field">
          <label htmlFor="branding-logo">Logo (PNG, JPEG, WebP or SVG, up to 48 KiB)</label>
          <input
            id="branding-logo"
            type="file"
            accept="image/png,image/jpeg,image/webp,image/svg+xml"
            onChange={(e) => readLogo(e.target.files?.[0])}
          />
          {logo === '' ? null : (
            <div className="logo-preview">
              <img src={logo} alt={`Logo of ${displayName || tenant.name}`} />
              <button type="button" className="secondary small" onClick={() => setLogo('')}>
                Remove the logo
              </button>
            </div>
          )}
          {logoProblem === '' ? null : (
            <p className="hint warn" role="alert">
              {logoProblem}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor="branding-home">Home page text</label>
          <textarea
            id="branding-home"
            rows={3}
            maxLength={4000}
            value={homeText}
            onChange={(e) => setHomeText(e.target.value)}
          />
        </div>
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={allMenus} onChange={(e) => setAllMenus(e.target.checked)} />
            Show every menu a user's role allows
          </label>
        </div>
        {allMenus ? null : (
          <CheckList
            legend="Menus shown (Home always shows)"
            options={TENANT_MENUS.map(([id]) => id)}
            selected={menus}
            onChange={setMenus}
          />
        )}
        <Submit action={save}>Save branding</Submit>
        <Notice>{null}</Notice>
      </form>
    </Section>
  );
}
