// Signature help inside the parentheses of a builtin call (and of an
// initialiser or surrogate): the signature, its doc and the active
// argument. Read from the text before the cursor, so it works while the
// call is still unfinished.

import type { ParameterInformation, SignatureHelp, SignatureHelpParams, SignatureInformation } from 'vscode-languageserver/node';
import { BUILTINS, INITIALISERS } from '../lang/builtins.js';
import { SURROGATE_KINDS, SURROGATE_SCALE, isSurrogateKind } from '../lang/surrogates.js';
import { guarded, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';

/** The unclosed call around `offset`: callee name and index of the argument the cursor is in. */
export function enclosingCall(text: string, offset: number): { name: string; argument: number; named?: string } | undefined {
  let depth = 0;
  let commas = 0;
  const limit = Math.max(0, offset - 4000);
  for (let i = offset - 1; i >= limit; i--) {
    const ch = text[i]!;
    if (ch === '{' || ch === '}') return undefined;
    if (ch === ')' || ch === ']') depth++;
    else if (ch === '[') {
      if (depth === 0) return undefined;
      depth--;
    } else if (ch === '(') {
      if (depth === 0) {
        const m = /([A-Za-z_]\w*)\s*$/.exec(text.slice(Math.max(0, i - 64), i));
        if (!m) return undefined;
        // A `#` earlier on the line means we are in a comment.
        const lineStart = text.lastIndexOf('\n', i) + 1;
        if (text.slice(lineStart, i).includes('#')) return undefined;
        const argText = text.slice(text.lastIndexOf(',', offset - 1) > i ? text.lastIndexOf(',', offset - 1) + 1 : i + 1, offset);
        const named = /^\s*([A-Za-z_]\w*)\s*=/.exec(argText)?.[1];
        return { name: m[1]!, argument: commas, ...(named ? { named } : {}) };
      }
      depth--;
    } else if (ch === ',' && depth === 0) commas++;
  }
  return undefined;
}

/** `max(a, b) | max(x, axis = k)` → one signature each, with parameter label offsets. */
function signatures(label: string, doc: string): SignatureInformation[] {
  return label.split(' | ').map((sig) => {
    const open = sig.indexOf('(');
    const close = sig.lastIndexOf(')');
    const params: ParameterInformation[] = [];
    if (open >= 0 && close > open) {
      let start = open + 1;
      for (const part of sig.slice(open + 1, close).split(',')) {
        const lead = part.length - part.trimStart().length;
        const s = start + lead;
        params.push({ label: [s, s + part.trim().length] });
        start += part.length + 1;
      }
    }
    return { label: sig, documentation: { kind: 'markdown', value: doc }, parameters: params };
  });
}

export function signatureHelp(snap: Snapshot, offset: number): SignatureHelp | null {
  const call = enclosingCall(snap.text, offset);
  if (!call) return null;
  const b = BUILTINS.get(call.name);
  const s = isSurrogateKind(call.name) ? SURROGATE_KINDS.get(call.name) : undefined;
  const init = INITIALISERS.get(call.name);
  let sigs: SignatureInformation[];
  if (b) sigs = signatures(b.signature, b.doc);
  else if (s)
    sigs = signatures(
      `${call.name}(${s.param} = ${s.default}, ${SURROGATE_SCALE.name} = ${SURROGATE_SCALE.default})`,
      `ψ(x) = ${SURROGATE_SCALE.name} · ${s.formula}: ${s.doc}`,
    );
  else if (init) sigs = signatures(init.signature, init.doc);
  else return null;
  const labelOf = (p: ParameterInformation, sig: SignatureInformation): string =>
    typeof p.label === 'string' ? p.label : sig.label.slice(p.label[0], p.label[1]);
  let activeSignature = sigs.findIndex((sig) => (sig.parameters?.length ?? 0) > call.argument);
  if (call.named) {
    const k = sigs.findIndex((sig) => sig.parameters?.some((p) => labelOf(p, sig).startsWith(`${call.named} `) || labelOf(p, sig) === call.named));
    if (k >= 0) activeSignature = k;
  }
  if (activeSignature < 0) activeSignature = sigs.length - 1;
  const sig = sigs[activeSignature]!;
  let activeParameter = Math.min(call.argument, Math.max(0, (sig.parameters?.length ?? 1) - 1));
  if (call.named) {
    const k = sig.parameters?.findIndex((p) => labelOf(p, sig).startsWith(`${call.named} `) || labelOf(p, sig) === call.named) ?? -1;
    if (k >= 0) activeParameter = k;
  }
  return { signatures: sigs, activeSignature, activeParameter };
}

export function registerSignatureHelp(ctx: ServerContext): void {
  ctx.connection.onSignatureHelp(
    guarded(ctx, 'signatureHelp', null as SignatureHelp | null, (p: SignatureHelpParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      return snap ? signatureHelp(snap, snap.offset(p.position)) : null;
    }),
  );
}
