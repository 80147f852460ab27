/**
 * The code editor of the fronts: CodeMirror 6 with Python or JSON highlighting, line numbers,
 * automatic indentation, bracket matching, undo history and search (Ctrl/Cmd-F), plus loading a file
 * from disk or by dropping it on the editor.
 *
 * Tab indents (and Shift-Tab dedents); so that the keyboard is never trapped, Escape then Tab moves
 * focus on (CodeMirror's tab-focus mode), which the hint under the editor says. Colours come from the
 * page's CSS variables, so the editor follows the light and dark themes.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { json } from '@codemirror/lang-json';
import { python } from '@codemirror/lang-python';
import {
  bracketMatching,
  foldGutter,
  foldKeymap,
  HighlightStyle,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from '@codemirror/language';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { EditorState, type Extension, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration,
  type DecorationSet,
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { type ChangeEvent, type DragEvent, useEffect, useId, useRef, useState } from 'react';

/** Largest file loaded into the editor (the API takes scripts up to 256 KiB). */
export const MAX_FILE_BYTES = 256 * 1024;

const highlight = HighlightStyle.define([
  {
    tag: [tags.keyword, tags.controlKeyword, tags.definitionKeyword, tags.operatorKeyword],
    color: 'var(--code-keyword)',
  },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--code-string)' },
  { tag: [tags.number, tags.bool, tags.null], color: 'var(--code-number)' },
  {
    tag: [tags.comment, tags.lineComment, tags.blockComment],
    color: 'var(--code-comment)',
    fontStyle: 'italic',
  },
  {
    tag: [tags.function(tags.variableName), tags.function(tags.definition(tags.variableName))],
    color: 'var(--code-function)',
  },
  {
    tag: [tags.className, tags.definition(tags.className)],
    color: 'var(--code-function)',
    fontWeight: '600',
  },
  { tag: [tags.propertyName], color: 'var(--code-property)' },
  { tag: [tags.self, tags.atom], color: 'var(--code-number)' },
]);

const theme = EditorView.theme({
  '&': {
    color: 'var(--text)',
    backgroundColor: 'var(--surface)',
    border: '1px solid var(--field-border)',
    borderRadius: 'var(--radius)',
    fontSize: '0.85rem',
  },
  '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '2px' },
  '.cm-content': { fontFamily: 'var(--mono)', caretColor: 'var(--text)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', minHeight: '14rem', maxHeight: '32rem', overflow: 'auto' },
  '.cm-gutters': {
    backgroundColor: 'var(--bg)',
    color: 'var(--muted)',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'var(--accent-soft)' },
  '&.cm-focused .cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'var(--selection)',
  },
  '.cm-panels': { backgroundColor: 'var(--bg)', color: 'var(--text)' },
  '.cm-searchMatch': { backgroundColor: 'var(--warn-soft)', outline: '1px solid var(--warn)' },
  '.cm-problem-line': {
    backgroundColor: 'var(--bad-soft)',
    boxShadow: 'inset 3px 0 0 var(--bad)',
  },
});

/** A line of the text that a problem names (a syntax error): the editor marks it. */
export interface SourceMark {
  /** 1-based; a line past the end marks the last one. */
  readonly line: number;
  readonly column?: number;
  readonly message: string;
}

const setMark = StateEffect.define<SourceMark | null>();

/**
 * The marked line, as a line decoration: it follows the line while the text above it is edited, and
 * goes once that line itself is edited (the problem it named may be mended) or a new mark replaces it.
 */
const markField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, transaction) {
    let next = marks.map(transaction.changes);
    if (transaction.docChanged && next.size > 0) {
      const from = next.iter().from;
      const line = transaction.state.doc.lineAt(from);
      transaction.changes.iterChangedRanges((_fromA, _toA, fromB, toB) => {
        if (fromB <= line.to && toB >= line.from) next = Decoration.none;
      });
    }
    for (const effect of transaction.effects) {
      if (!effect.is(setMark)) continue;
      if (effect.value === null) {
        next = Decoration.none;
        continue;
      }
      const { doc } = transaction.state;
      const line = doc.line(Math.min(Math.max(1, effect.value.line), doc.lines));
      next = Decoration.set([
        Decoration.line({
          class: 'cm-problem-line',
          attributes: { title: effect.value.message },
        }).range(line.from),
      ]);
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const marking: Extension = markField;

export interface CodeEditorProps {
  readonly id: string;
  readonly label: string;
  readonly language: 'python' | 'json';
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** After a file was loaded into the editor (button or drop), with its name. @default nothing */
  readonly onFile?: (name: string) => void;
  readonly disabled?: boolean;
  /** Offer loading a file (button and drop). @default true */
  readonly files?: boolean;
  readonly hint?: string;
  /** A line to mark (the problem of the last write names it): it is scrolled into view. @default none */
  readonly mark?: SourceMark | null;
}

/** A labelled code editor; `value` is controlled (outside changes replace the text). */
export default function CodeEditorView({
  id,
  label,
  language,
  value,
  onChange,
  onFile,
  disabled = false,
  files = true,
  hint,
  mark = null,
}: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(onChange);
  latest.current = onChange;
  const hintId = useId();
  const fileId = useId();
  const [fileProblem, setFileProblem] = useState('');
  const [dragging, setDragging] = useState(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is made once per language; value and disabled are synced below
  useEffect(() => {
    if (host.current === null) return undefined;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        // CodeMirror's basic setup without completion pop-ups (so Escape always means "let Tab
        // leave"): line numbers, folding, history, search, bracket matching, auto-indent.
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightSpecialChars(),
          history(),
          foldGutter(),
          drawSelection(),
          dropCursor(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          highlightSelectionMatches(),
          keymap.of([...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
          indentUnit.of('    '),
          EditorState.tabSize.of(4),
          language === 'python' ? python() : json(),
          syntaxHighlighting(highlight),
          theme,
          marking,
          EditorView.contentAttributes.of({
            id,
            'aria-label': label,
            'aria-describedby': hintId,
            'aria-multiline': 'true',
            'data-language': language,
          }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, [language]);

  // A value set from outside (a loaded version, a file) replaces the text.
  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const current = editor.state.doc.toString();
    if (current !== value) editor.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    editor.contentDOM.contentEditable = disabled ? 'false' : 'true';
  }, [disabled]);

  // A new problem marks its line (and brings it into view); none clears the mark.
  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    if (mark === null) {
      editor.dispatch({ effects: setMark.of(null) });
      return;
    }
    const { doc } = editor.state;
    const line = doc.line(Math.min(Math.max(1, mark.line), doc.lines));
    editor.dispatch({ effects: [setMark.of(mark), EditorView.scrollIntoView(line.from, { y: 'center' })] });
  }, [mark]);

  const load = async (file: File | undefined) => {
    setFileProblem('');
    if (file === undefined) return;
    if (file.size > MAX_FILE_BYTES) {
      setFileProblem(
        `${file.name} is ${file.size} bytes; files up to ${MAX_FILE_BYTES} bytes can be loaded.`,
      );
      return;
    }
    const text = await file.text();
    if (text.includes('\u0000')) {
      setFileProblem(`${file.name} is not a text file.`);
      return;
    }
    onChange(text);
    onFile?.(file.name);
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    setDragging(false);
    if (!files || event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    void load(event.dataTransfer.files[0]);
  };

  return (
    <div className="field code-field">
      <span className="label">{label}</span>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping a file is a pointer shortcut; "Load from file…" is the keyboard way */}
      <div
        ref={host}
        className={dragging ? 'code-editor dragging' : 'code-editor'}
        data-editor={id}
        onDragOver={(event) => {
          if (!files) return;
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      />
      <p id={hintId} className="hint">
        {hint === undefined ? null : <>{hint} </>}
        Tab indents; press Escape then Tab to leave the editor. Ctrl+F searches.
        {files ? ' Drop a file here, or load one:' : ''}
      </p>
      {files ? (
        <div className="file-load">
          <label htmlFor={fileId} className="button secondary small">
            Load from file…
          </label>
          <input
            id={fileId}
            className="visually-hidden"
            type="file"
            accept={language === 'python' ? '.py,text/x-python,text/plain' : '.json,application/json'}
            disabled={disabled}
            onChange={(event: ChangeEvent<HTMLInputElement>) => {
              void load(event.target.files?.[0]);
              event.target.value = '';
            }}
          />
        </div>
      ) : null}
      {fileProblem === '' ? null : (
        <p className="hint warn" role="alert">
          {fileProblem}
        </p>
      )}
    </div>
  );
}
