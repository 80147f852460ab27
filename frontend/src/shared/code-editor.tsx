/**
 * The code editor, loaded on demand: CodeMirror is most of the weight of the pages that edit code
 * (scripts, Skills), so the other pages never load it. See code-editor-view.tsx.
 */
import { lazy, Suspense } from 'react';
import type { ProblemDetails } from './api.ts';
import type { CodeEditorProps, SourceMark } from './code-editor-view.tsx';
import { Loading } from './ui.tsx';

const View = lazy(() => import('./code-editor-view.tsx'));

export type { CodeEditorProps, SourceMark };

/** One mark a problem, so a page's re-render does not mark (and scroll to) the line again. */
const marks = new WeakMap<ProblemDetails, SourceMark | null>();

/**
 * The line a write's problem places in a source field (a script that does not compile: the API's
 * `source` issue carries `line` and `column`), for the editor to mark; null when it names none.
 * The same problem always gives the same mark; a new problem (the same error again) a new one.
 */
export function sourceMark(problem: ProblemDetails | null): SourceMark | null {
  if (problem === null) return null;
  const known = marks.get(problem);
  if (known !== undefined) return known;
  const issue = problem.errors.find((error) => error.path === 'source' && error.line !== undefined);
  const mark =
    issue?.line === undefined
      ? null
      : {
          line: issue.line,
          ...(issue.column === undefined ? {} : { column: issue.column }),
          message: issue.message,
        };
  marks.set(problem, mark);
  return mark;
}

export function CodeEditor(props: CodeEditorProps) {
  return (
    <Suspense fallback={<Loading label={`Loading the editor for ${props.label}…`} />}>
      <View {...props} />
    </Suspense>
  );
}
