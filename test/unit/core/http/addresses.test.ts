/** The address policy of outbound requests: what is refused, what passes, and the IPv6 forms of IPv4. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAddress, ipLiteral, parseIPv6 } from '../../../../functions/core/http-resources/addresses.ts';

const refused: readonly [string, string][] = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fd00:ec2::254', 'metadata'],
  ['ff02::1', 'multicast'],
  ['fec0::1', 'reserved'],
  ['100::1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001::1', 'reserved'],
  ['3fff::1', 'reserved'],
  ['64:ff9b:1::1', 'reserved'],
  ['4000::1', 'reserved'],
];

const embedded: readonly [string, string, string][] = [
  ['::ffff:127.0.0.1', 'loopback', 'IPv4-mapped IPv6'],
  ['::ffff:7f00:1', 'loopback', 'IPv4-mapped IPv6'],
  ['::FFFF:10.1.2.3', 'private', 'IPv4-mapped IPv6'],
  ['::ffff:169.254.169.254', 'metadata', 'IPv4-mapped IPv6'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', 'metadata', 'IPv4-mapped IPv6'],
  ['::127.0.0.1', 'loopback', 'IPv4-compatible IPv6'],
  ['::a00:1', 'private', 'IPv4-compatible IPv6'],
  ['64:ff9b::7f00:1', 'loopback', 'NAT64'],
  ['64:ff9b::169.254.169.254', 'metadata', 'NAT64'],
  ['2002:7f00:1::', 'loopback', '6to4'],
  ['2002:c0a8:101::1', 'private', '6to4'],
];

describe('checkAddress', () => {
  it.each(refused)('refuses %s (%s)', (address, category) => {
    const verdict = checkAddress(address);
    expect(verdict).toMatchObject({ category, allowed: false });
  });

  it.each(embedded)('judges %s by the IPv4 address it carries (%s, %s)', (address, category, via) => {
    expect(checkAddress(address)).toMatchObject({ category, via, allowed: false });
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('lets the public address %s through', (address) => {
    expect(checkAddress(address)).toMatchObject({ category: 'public', allowed: true });
  });

  it('opens loopback and private ranges to localDevelopment resources, and nothing else', () => {
    const local = { localDevelopment: true };
    for (const address of ['127.0.0.1', '10.0.0.1', '192.168.0.10', '::1', 'fd12::1', '::ffff:127.0.0.1']) {
      expect(checkAddress(address, local).allowed, address).toBe(true);
    }
    for (const address of [
      '169.254.169.254',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '0.0.0.0',
      '::',
      '169.254.1.1',
      'fe80::1',
      '224.0.0.1',
      '100.64.0.1',
      '100.100.100.200',
      '240.0.0.1',
    ]) {
      expect(checkAddress(address, local).allowed, address).toBe(false);
    }
  });

  it('refuses what is not an address at all', () => {
    for (const text of ['localhost', '', '1.2.3', '256.1.1.1', '::g', '[::1]', '1::2::3']) {
      expect(checkAddress(text)).toMatchObject({ category: 'invalid', allowed: false });
    }
  });

  it('never lets an IPv4 address in 127/8, 10/8 or 169.254/16 through, in any IPv6 wrapping', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(
        fc.constantFrom(127, 10, 169),
        octet,
        octet,
        octet,
        fc.constantFrom('', '::ffff:', '::', '64:ff9b::'),
        (first, b, c, d, wrap) => {
          const second = first === 169 ? 254 : b;
          const address = `${wrap}${first}.${second}.${c}.${d}`;
          expect(checkAddress(address).allowed, address).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('parseIPv6', () => {
  it('expands every spelling of one address to the same bytes', () => {
    const bytes = parseIPv6('::ffff:127.0.0.1');
    expect(bytes).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
    expect(parseIPv6('0:0:0:0:0:ffff:7f00:0001')).toEqual(bytes);
    expect(parseIPv6('::FFFF:7F00:1')).toEqual(bytes);
    expect(parseIPv6('2001:db8::')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)]);
    expect(parseIPv6('1::2::3')).toBeNull();
    expect(parseIPv6('12345::')).toBeNull();
  });
});

describe('ipLiteral', () => {
  it('takes URL hosts apart: bracketed IPv6, dotted IPv4, names', () => {
    expect(ipLiteral('[::1]')).toBe('::1');
    expect(ipLiteral('127.0.0.1')).toBe('127.0.0.1');
    expect(ipLiteral('localhost')).toBeNull();
    expect(ipLiteral('example.com')).toBeNull();
    // The URL parser turns the odd IPv4 spellings into dotted quads before we see them.
    expect(ipLiteral(new URL('http://2130706433/').hostname)).toBe('127.0.0.1');
    expect(ipLiteral(new URL('http://0x7f.1/').hostname)).toBe('127.0.0.1');
    expect(ipLiteral(new URL('http://[::ffff:127.0.0.1]/').hostname)).toBe('::ffff:7f00:1');
  });
});
