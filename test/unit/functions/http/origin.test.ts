/** Absolute links to a host: only from what the edge set, with default ports left out. */
import { describe, expect, it } from 'vitest';
import { PORT_HEADER, SCHEME_HEADER } from '../../../../functions/core/headers.ts';
import type { DomainContext } from '../../../../functions/core/tenancy/domain.ts';
import { publicOrigin } from '../../../../functions/http/origin.ts';

const domain: DomainContext = { kind: 'public', host: 'acme.example.com', surface: 'governance' };

describe('publicOrigin', () => {
  it('is https on the default port unless the edge says otherwise', () => {
    expect(publicOrigin(domain, {})).toBe('https://acme.example.com');
    expect(publicOrigin(domain, { [SCHEME_HEADER]: 'https', [PORT_HEADER]: '443' })).toBe(
      'https://acme.example.com',
    );
    expect(publicOrigin(domain, { [SCHEME_HEADER]: 'http', [PORT_HEADER]: '8080' })).toBe(
      'http://acme.example.com:8080',
    );
    expect(publicOrigin(domain, { [SCHEME_HEADER]: 'http', [PORT_HEADER]: '80' })).toBe(
      'http://acme.example.com',
    );
    expect(publicOrigin(domain, { [SCHEME_HEADER]: 'https', [PORT_HEADER]: '08443' })).toBe(
      'https://acme.example.com:8443',
    );
  });

  it('ignores anything that is not a scheme it knows or a port of digits', () => {
    expect(publicOrigin(domain, { [SCHEME_HEADER]: 'javascript', [PORT_HEADER]: '1"; x' })).toBe(
      'https://acme.example.com',
    );
    expect(publicOrigin(domain, { [PORT_HEADER]: '123456' })).toBe('https://acme.example.com');
  });
});
