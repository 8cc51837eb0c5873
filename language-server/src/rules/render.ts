// Names of blocks, traces and signals as readable text (Unicode) and LaTeX.

import type { Operand, Rendered } from './program.js';

/** `W_rec` → `W_{\mathrm{rec}}`, `alpha` → `\mathit{alpha}`, `u` → `u`. */
export function latexName(name: string): string {
  const k = name.indexOf('_');
  const head = k < 0 ? name : name.slice(0, k);
  const tail = k < 0 ? '' : name.slice(k + 1).replace(/_/g, '\\_');
  const h = head.length === 1 ? head : `\\mathit{${head}}`;
  return tail ? `${h}_{\\mathrm{${tail}}}` : h;
}

export function operandText(o: Operand): string {
  return o.kind === 'param' ? o.name : `${o.name}[${o.offset === 1 ? 't+1' : 't'}]`;
}

export function operandLatex(o: Operand): string {
  return o.kind === 'param' ? latexName(o.name) : `${latexName(o.name)}_{${o.offset === 1 ? 't+1' : 't'}}`;
}

export function equationText(of: string): string {
  return of === 'loss' ? 'loss' : `${of}[t+1]`;
}

export function equationLatex(of: string): string {
  return of === 'loss' ? '\\mathcal{L}_t' : `${latexName(of)}_{t+1}`;
}

export function blockSymbol(of: string, wrt: Operand): Rendered {
  return {
    text: `∂${equationText(of)}/∂${operandText(wrt)}`,
    latex: `\\frac{\\partial ${equationLatex(of)}}{\\partial ${operandLatex(wrt)}}`,
  };
}

export function traceName(state: string, param: string): string {
  return `G_${state}_${param}`;
}

export function traceSymbol(state: string, param: string, time?: 't' | 't+1'): Rendered {
  return {
    text: `G(${state},${param})${time ? `[${time}]` : ''}`,
    latex: `G^{${latexName(state)},${latexName(param)}}${time ? `_{${time}}` : ''}`,
  };
}

export function signalName(state: string): string {
  return `L_${state}`;
}

export function signalSymbol(state: string): Rendered {
  return { text: `λ(${state})`, latex: `\\lambda^{${latexName(state)}}` };
}

export function join(parts: readonly Rendered[], sep: { text: string; latex: string }): Rendered {
  return { text: parts.map((p) => p.text).join(sep.text), latex: parts.map((p) => p.latex).join(sep.latex) };
}

export const PLUS = { text: ' + ', latex: ' + ' };
export const DOT = { text: ' · ', latex: ' \\cdot ' };
