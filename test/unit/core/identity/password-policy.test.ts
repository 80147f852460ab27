/**
 * The one password policy (`validatePassword`), at its edges: the length bounds, the owner's name or
 * handle in any case (only names of 3 characters or more), the owner's email as the whole password,
 * and the field the refusal names. Properties over random passwords: only a ValidationError comes out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../../functions/contract/identity.ts';
import { ValidationError } from '../../../../functions/core/errors.ts';
import { validatePassword } from '../../../../functions/core/identity/directory.ts';

function refusal(run: () => void): { path: string; message: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const [issue] = (error as ValidationError).issues;
    return issue === undefined ? null : { path: issue.path, message: issue.message };
  }
}

describe('validatePassword', () => {
  it('holds the length bounds, naming the field it is given', () => {
    expect(refusal(() => validatePassword('x'.repeat(MIN_PASSWORD_LENGTH)))).toBeNull();
    expect(refusal(() => validatePassword('x'.repeat(MAX_PASSWORD_LENGTH)))).toBeNull();
    expect(refusal(() => validatePassword('x'.repeat(MIN_PASSWORD_LENGTH - 1), 'newPassword'))).toEqual({
      path: 'newPassword',
      message: `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    });
    expect(refusal(() => validatePassword('x'.repeat(MAX_PASSWORD_LENGTH + 1)))?.path).toBe('password');
  });

  it("refuses the owner's name in any case, and their email as the whole password", () => {
    const owner = { name: 'wren' };
    expect(refusal(() => validatePassword('hello WREN world', 'newPassword', owner))).toEqual({
      path: 'newPassword',
      message: 'must not contain your username',
    });
    expect(refusal(() => validatePassword('hello wre-n world', 'newPassword', owner))).toBeNull();
    const space = { name: 'vera-pw', email: 'vera@example.com' };
    expect(refusal(() => validatePassword('VERA@example.com', 'password', space))?.message).toBe(
      'must not contain your handle or be your email address',
    );
    expect(refusal(() => validatePassword('my vera@example.com too', 'password', space))).toBeNull();
    // A name of two characters is too short to rule out every password holding it.
    expect(refusal(() => validatePassword('ab and some more', 'password', { name: 'ab' }))).toBeNull();
  });

  it('answers only a ValidationError, or nothing, whatever the password and name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 70 }), (password, name) => {
        try {
          validatePassword(password, 'newPassword', { name });
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
