/**
 * Where `pull` writes a script: its name as a slug, with `.py` once, whatever the name ends with.
 */
import { describe, expect, it } from 'vitest';
import { scriptFile } from '../../../../../lib/cli/commands/project.ts';

describe('scriptFile', () => {
  it('names the file after the script, with .py once', () => {
    expect(scriptFile('greet')).toBe('scripts/greet.py');
    expect(scriptFile('greet.py')).toBe('scripts/greet.py');
    expect(scriptFile('Greet.PY')).toBe('scripts/greet.py');
    expect(scriptFile('word count.py')).toBe('scripts/word-count.py');
    // Only a trailing .py goes: a name that is otherwise a file name keeps the rest.
    expect(scriptFile('report.py.bak')).toBe('scripts/report-py-bak.py');
    expect(scriptFile('.py')).toBe('scripts/item.py');
  });
});
