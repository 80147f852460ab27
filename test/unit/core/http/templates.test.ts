/** Placeholder substitution in path, query and body, dot segments, and path allowances. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.ts';
import {
  HttpRequestRefusedError,
  InputPlaceholderError,
} from '../../../../functions/core/http-resources/errors.ts';
import {
  checkConcretePath,
  checkPathTemplate,
  pathAllowed,
  patternIssue,
  placeholdersIn,
  substituteBody,
  substitutePath,
  substituteQuery,
  templateAllowed,
} from '../../../../functions/core/http-resources/templates.ts';

describe('substitutePath', () => {
  it('fills placeholders with the input, percent-encoded as one segment', () => {
    expect(substitutePath('/users/{input.id}/orders', { id: 42 })).toBe('/users/42/orders');
    expect(substitutePath('/users/{input.name}', { name: 'a b;c@d' })).toBe('/users/a%20b%3Bc%40d');
    expect(substitutePath('/v{input.n}/x', { n: 2 })).toBe('/v2/x');
    expect(substitutePath('/deep/{input.user.id}', { user: { id: 'u-1' } })).toBe('/deep/u-1');
    expect(substitutePath('/flag/{input.on}', { on: true })).toBe('/flag/true');
  });

  it('refuses values that would climb out of the path', () => {
    for (const id of ['..', '.', '%2e%2e', '..%2f..', '%2E.']) {
      expect(() => substitutePath('/users/{input.id}', { id }), id).toThrow(HttpRequestRefusedError);
    }
    // Two placeholders that only together make `..` are caught too.
    expect(() => substitutePath('/users/{input.a}{input.b}', { a: '.', b: '.' })).toThrow(
      HttpRequestRefusedError,
    );
  });

  it('refuses values holding a separator, which a decoding server would split on', () => {
    for (const name of ['a/b', 'a\\b', 'a?b', 'a#b', '../../etc/passwd', 'a\\..\\b', '..;', '.;x']) {
      expect(() => substitutePath('/files/{input.name}', { name }), name).toThrow(HttpRequestRefusedError);
    }
  });

  it('says which input is missing or unusable', () => {
    expect(() => substitutePath('/users/{input.id}', {})).toThrow(/input\.id/);
    expect(() => substitutePath('/users/{input.id}', { id: { nested: 1 } })).toThrow(InputPlaceholderError);
    expect(() => substitutePath('/users/{input.id}', { id: null })).toThrow(InputPlaceholderError);
    expect(() => substitutePath('/users/{input.a.b}', { a: 'text' })).toThrow(/input\.a\.b/);
    expect(() => substitutePath('/users/{input.id}', null)).toThrow(InputPlaceholderError);
  });

  it('never produces a path with a dot segment, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
        let path: string;
        try {
          path = substitutePath('/x/{input.a}/{input.b}', { a, b });
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          return;
        }
        expect(path.split('/').length).toBe(4);
        for (const segment of path.split('/')) {
          expect(['.', '..']).not.toContain(decodeURIComponent(segment));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('substituteQuery and substituteBody', () => {
  it('fills query values as text (encoding is the query string’s)', () => {
    expect(
      substituteQuery({ q: '{input.term}', page: '{input.page}', fixed: 'x' }, { term: 'a&b=c', page: 2 }),
    ).toEqual({ q: 'a&b=c', page: '2', fixed: 'x' });
    expect(substituteQuery(undefined, {})).toEqual({});
    // An optional parameter: left out when the input lacks it; inside a longer value it is required.
    expect(substituteQuery({ q: '{input.missing}', keep: 'x' }, {})).toEqual({ keep: 'x' });
    expect(() => substituteQuery({ q: 'x-{input.missing}' }, {})).toThrow(InputPlaceholderError);
  });

  it('puts whole input values where a string is exactly one placeholder, text elsewhere', () => {
    const body = substituteBody(
      {
        user: '{input.user}',
        note: 'for {input.user.name}!',
        list: ['{input.n}', 1, null],
        raw: '{not.a.placeholder}',
      },
      { user: { name: 'Ada', tags: ['x'] }, n: 3 },
    );
    expect(body).toEqual({
      user: { name: 'Ada', tags: ['x'] },
      note: 'for Ada!',
      list: [3, 1, null],
      raw: '{not.a.placeholder}',
    });
    expect(() => substituteBody({ note: 'for {input.user}' }, { user: { a: 1 } })).toThrow(
      InputPlaceholderError,
    );
  });

  it('lists the placeholders of a template', () => {
    expect(placeholdersIn('/a/{input.x}/{input.y.z}/{input}')).toEqual(['input.x', 'input.y.z']);
  });
});

describe('allowances', () => {
  it('matches * within one segment and a final ** across segments', () => {
    expect(pathAllowed(['/users/*'], '/users/42')).toBe(true);
    expect(pathAllowed(['/users/*'], '/users/42/orders')).toBe(false);
    expect(pathAllowed(['/users/*'], '/users/')).toBe(false);
    expect(pathAllowed(['/users/*'], '/admin/42')).toBe(false);
    expect(pathAllowed(['/files/**'], '/files')).toBe(true);
    expect(pathAllowed(['/files/**'], '/files/a/b/c')).toBe(true);
    expect(pathAllowed(['/files/**'], '/filesystem')).toBe(false);
    expect(pathAllowed(['/v*/status'], '/v2/status')).toBe(true);
    expect(pathAllowed(['/v*/status'], '/x2/status')).toBe(false);
    expect(pathAllowed(['/a', '/b/*'], '/b/c')).toBe(true);
  });

  it('never allows dot segments, empty inner segments or odd characters', () => {
    for (const path of [
      '/files/../secret',
      '/files/./x',
      '/files/%2e%2e/x',
      '/files//x',
      '/files/a b',
      'files/x',
      // A `;` parameter that Tomcat, Spring and Jetty strip, leaving `..`.
      '/files/..;/x',
      '/files/..;jsessionid=1/x',
      '/files/.;/x',
      '/files/%2e%2E;x/y',
      '/files/..%3b/x',
      '/files/..%253B/x',
      // Encoded separators, in any case and encoded twice.
      '/files/x%2Fadmin%3F',
      '/files/x%2fadmin',
      '/files/x%5cadmin',
      '/files/x%5Cadmin',
      '/files/x%3fy',
      '/files/x%23y',
      '/files/x%252Fadmin',
    ]) {
      expect(pathAllowed(['/files/**'], path), path).toBe(false);
      expect(() => checkConcretePath(path), path).toThrow(HttpRequestRefusedError);
    }
  });

  it('refuses dot segments in the spellings lenient servers and normalisers read as one', () => {
    for (const path of [
      // IIS and Windows trim trailing spaces, dots and NULs; C strings end at a NUL.
      '/items/..%20',
      '/items/..%20%20/x',
      '/items/%20..',
      '/items/..%09',
      '/items/..%00',
      '/items/.%00.',
      '/items/...',
      '/items/....',
      '/items/%2e%2e%2e',
      // A Windows stream name, a path parameter after trailing junk.
      '/items/..:',
      '/items/..::$DATA',
      '/items/..%20;x',
      // Fullwidth and other dots that NFKC folds into `.`, zero-width or ideographic spaces around.
      '/items/%EF%BC%8E%EF%BC%8E',
      '/items/.%EF%BC%8E',
      '/items/%E2%80%A5',
      '/items/%E2%80%A4%E2%80%A4',
      '/items/%EF%B9%92%EF%B9%92',
      '/items/.%E2%80%8B.',
      '/items/..%E3%80%80',
      // Overlong UTF-8 for `.`, and a malformed escape.
      '/items/%C0%AE%C0%AE',
      '/items/%zz',
    ]) {
      expect(() => checkConcretePath(path), path).toThrow(HttpRequestRefusedError);
      expect(pathAllowed(['/items/*', '/items/*/x'], path), path).toBe(false);
    }
  });

  it('refuses control characters and double encoding in a path', () => {
    for (const path of [
      '/items/a%00',
      '/items/a%0Ab',
      '/items/a%0d%0aX-Injected:1',
      '/items/a%1F',
      '/items/a%7f',
      '/items/a%C2%85',
      '/items/..%2500',
      '/items/%252e%252e',
      '/items/a%2541',
      '/items/a%25%34%31',
    ]) {
      expect(() => checkConcretePath(path), path).toThrow(HttpRequestRefusedError);
    }
    expect(() => checkConcretePath('/items/a%00')).toThrow(/control character/);
    expect(() => checkConcretePath('/items/%252e%252e')).toThrow(/double-encoded/);
    expect(() => substitutePath('/items/{input.name}', { name: '..\u0000' })).toThrow(/control character/);
    expect(() => substitutePath('/items/{input.name}', { name: '%2e%2e' })).toThrow(/double-encoded/);
    expect(() => substitutePath('/items/{input.name}', { name: '．．' })).toThrow(/\. or \.\./);
  });

  it('still allows names with dots, colons, spaces, percent signs and unicode letters', () => {
    for (const path of [
      '/items/a.b',
      '/items/a...b',
      '/items/...a',
      '/items/..a',
      '/items/.well-known',
      '/items/v1.2.3',
      '/items/a:..',
      '/items/urn:isbn:0451450523',
      '/items/a%20b',
      '/items/%C3%A9t%C3%A9',
      '/items/%E6%97%A5%E6%9C%AC',
      '/items/%EF%BC%A1',
      '/items/50%25off',
      '/items/~user',
    ]) {
      expect(() => checkConcretePath(path), path).not.toThrow();
      expect(pathAllowed(['/items/*'], path), path).toBe(true);
    }
    expect(substitutePath('/items/{input.name}', { name: 'Résumé 2024.pdf' })).toBe(
      '/items/R%C3%A9sum%C3%A9%202024.pdf',
    );
    expect(substitutePath('/items/{input.name}', { name: '50%off' })).toBe('/items/50%25off');
    expect(substitutePath('/items/{input.name}', { name: 'wait...' })).toBe('/items/wait...');
  });

  it('checks patterns as administrators write them', () => {
    expect(patternIssue('/users/*')).toBeNull();
    expect(patternIssue('/files/**')).toBeNull();
    expect(patternIssue('users/*')).toMatch(/start/);
    expect(patternIssue('/a/**/b')).toMatch(/last/);
    expect(patternIssue('/a/x**')).toMatch(/whole/);
    expect(patternIssue('/a/../b')).toMatch(/\.\./);
    expect(patternIssue('/a//b')).toMatch(/empty/);
    expect(patternIssue('/a/..;/b')).toMatch(/\.\./);
    expect(patternIssue('/a/x%2Fy/*')).toMatch(/encoded/);
  });

  it('accepts a template only when every substitution stays inside', () => {
    expect(templateAllowed(['/users/*'], '/users/{input.id}')).toBe(true);
    expect(templateAllowed(['/users/*/orders'], '/users/{input.id}/orders')).toBe(true);
    expect(templateAllowed(['/files/**'], '/files/{input.a}/{input.b}')).toBe(true);
    expect(templateAllowed(['/v*/x'], '/v{input.n}/x')).toBe(true);
    // A literal pattern segment can only hold the literal, not whatever the input is.
    expect(templateAllowed(['/users/42'], '/users/{input.id}')).toBe(false);
    expect(templateAllowed(['/users/abc*'], '/users/{input.id}')).toBe(false);
    expect(templateAllowed(['/users/*'], '/admin/{input.id}')).toBe(false);
    expect(templateAllowed(['/users/*'], '/users/{input.id}/more')).toBe(false);
  });

  it('checks the shape of a path template at save', () => {
    expect(() => checkPathTemplate('/users/{input.id}', 'p')).not.toThrow();
    for (const bad of ['users', '/users/{id}', '/users/{input.}', '/a/../b', '/a//b', '/a/{input.x']) {
      expect(() => checkPathTemplate(bad, 'p'), bad).toThrow(ValidationError);
    }
  });
});
