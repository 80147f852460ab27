/**
 * The free edition's edges that need no store: handles (one DNS label, no punycode, reserved and
 * platform names), sign-up limit configuration, the console's lead filter, and CSV export cells
 * (formula injection from anyone who signs up).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.ts';
import { handleProblem, parseHandle, platformLabelsUnder } from '../../../../functions/core/free/handles.ts';
import { normaliseSource } from '../../../../functions/core/free/leads.ts';
import { DEFAULT_SIGNUP_LIMITS, signupLimitsFrom } from '../../../../functions/core/free/signup-limits.ts';
import { csvField, leadFilter, leadsCsv } from '../../../../functions/http/routes/free.ts';

describe('handles', () => {
  it('accepts one lower-case DNS label and lower-cases what is typed', () => {
    expect(parseHandle('  Alice-1 ')).toBe('alice-1');
    for (const good of ['abc', 'a-b-c', 'x1234567890123456789012345678z'.slice(0, 30)]) {
      expect(handleProblem(good), good).toBeNull();
    }
  });

  it('refuses dots, punycode, leading digits, double or trailing hyphens, reserved names and lengths', () => {
    for (const bad of [
      'ab',
      'a'.repeat(31),
      'a.b',
      'xn--80ak6aa92e',
      '1abc',
      'ab--c',
      'abc-',
      '-abc',
      'admin',
      'www',
      'ab_c',
      'aé b',
      'a\u0000b',
    ]) {
      expect(handleProblem(bad.toLowerCase()), bad).not.toBeNull();
      expect(() => parseHandle(bad), bad).toThrow(ValidationError);
    }
  });

  it('never lets anything with a dot, slash or non-ASCII through (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const handle = raw.trim().toLowerCase();
        if (handleProblem(handle) === null) expect(handle).toMatch(/^[a-z][a-z0-9-]{2,29}$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the labels of platform hosts under a free host', () => {
    expect(
      [
        ...platformLabelsUnder('free.example.com', [
          'admin.free.example.com',
          'api.x.free.example.com',
          'acme.com',
        ]),
      ].sort(),
    ).toEqual(['admin', 'x']);
  });
});

describe('sign-up limits', () => {
  it('uses the defaults when unset and refuses an unknown name or a value below 1', () => {
    expect(signupLimitsFrom(undefined)).toEqual(DEFAULT_SIGNUP_LIMITS);
    expect(signupLimitsFrom('{"perAddressPerHour":2}')).toEqual({
      ...DEFAULT_SIGNUP_LIMITS,
      perAddressPerHour: 2,
    });
    expect(() => signupLimitsFrom('{"perAdress":2}')).toThrow(/Unknown/);
    expect(() => signupLimitsFrom('{"perAddressPerHour":0}')).toThrow(/at least 1/);
    expect(() => signupLimitsFrom('{"perAddressPerHour":1.5}')).toThrow(/whole number/);
  });
});

describe('leads', () => {
  it('keeps sources as slugs, anything else as other', () => {
    expect(normaliseSource(undefined)).toBe('direct');
    expect(normaliseSource(' Newsletter ')).toBe('newsletter');
    expect(normaliseSource('<script>')).toBe('other');
  });

  it('checks the console filter field by field', () => {
    expect(leadFilter({ status: 'active', source: 'Ads', from: '2026-01-01', q: ' x ' })).toEqual({
      status: 'active',
      source: 'ads',
      from: '2026-01-01T00:00:00.000Z',
      q: 'x',
    });
    try {
      leadFilter({ status: 'gone', source: 'a b', from: 'x', to: '2020-01-01', q: 'y'.repeat(101) });
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).issues.map((issue) => issue.path).sort()).toEqual([
        'from',
        'q',
        'source',
        'status',
      ]);
    }
  });

  it('neutralises formulas and quotes fields in the CSV export', () => {
    expect(csvField('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    for (const lead of ['+1', '-1', '@SUM(A1)', '\tx'])
      expect(csvField(lead).replace(/^"/, '')).toMatch(/^'/);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('plain')).toBe('plain');
    const csv = leadsCsv([
      {
        id: 'lead_1',
        handle: 'h',
        tenantId: 'p-h',
        host: 'h.free.localhost',
        email: 'e@example.com',
        name: '=cmd|/C calc',
        source: 'direct',
        templates: ['a', 'b'],
        status: 'active',
        createdAt: '2026-01-01T00:00:00.000Z',
        sourceIp: '127.0.0.1',
      },
    ]);
    expect(csv.split('\r\n')[1]).toContain(",'=cmd|/C calc,");
  });
});
