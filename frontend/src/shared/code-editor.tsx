/**
 * The code editor, loaded on demand: CodeMirror is most of the weight of the pages that edit code
 * (scripts, Skills), so the other pages never load it. See code-editor-view.tsx.
 */
import { lazy, Suspense } from 'react';
import type { CodeEditorProps } from './code-editor-view.tsx';
import { Loading } from './ui.tsx';

const View = lazy(() => import('./code-editor-view.tsx'));

export type { CodeEditorProps };

export function CodeEditor(props: CodeEditorProps) {
  return (
    <Suspense fallback={<Loading label={`Loading the editor for ${props.label}…`} />}>
      <View {...props} />
    </Suspense>
  );
}
