// Checks of a code node's source the editor shows as you type: syntax errors (from the
// JavaScript parser's error nodes) and the `main(message, variables)` signature.

import { syntaxTree } from '@codemirror/language';
import type { Diagnostic } from '@codemirror/lint';
import type { EditorState } from '@codemirror/state';

const MAIN = /\bfunction\s+main\s*\(([^)]*)\)|\b(?:const|let|var)\s+main\s*=\s*(?:async\s*)?(?:function\s*\w*\s*)?\(([^)]*)\)|\b(?:const|let|var)\s+main\s*=\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/;

export interface SignatureProblem {
  from: number;
  to: number;
  severity: 'error' | 'warning';
  message: string;
}

/** `main` must exist; it receives (message, variables) — more parameters stay undefined. */
export function checkMainSignature(source: string): SignatureProblem | null {
  const match = MAIN.exec(source);
  if (!match) return { from: 0, to: Math.min(source.length, 1), severity: 'error', message: 'The code does not define main(message, variables): add `function main(message, variables) { … }` returning the result' };
  const params = (match[1] ?? match[2] ?? match[3] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (params.length > 2) {
    return { from: match.index, to: match.index + match[0].length, severity: 'warning', message: `main takes (message, variables); '${params.slice(2).join(', ')}' will be undefined` };
  }
  return null;
}

/** Syntax errors and the signature check, as CodeMirror diagnostics. */
export function codeDiagnostics(state: EditorState): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  syntaxTree(state).iterate({
    enter(node) {
      if (!node.type.isError) return;
      const line = state.doc.lineAt(node.from);
      diagnostics.push({ from: node.from, to: Math.max(node.to, Math.min(node.from + 1, state.doc.length)), severity: 'error', message: `Syntax error on line ${line.number}` });
    },
  });
  const signature = checkMainSignature(state.doc.toString());
  if (signature) diagnostics.push(signature);
  return diagnostics.slice(0, 20);
}
