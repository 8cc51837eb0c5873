// Variants of a model's text: the same model at other sizes (for costs
// counted at several n), and its smooth twin (for finite differences).

import { compile } from '../compile.js';
import type { Call, Expr, ModelItem } from '../lang/ast.js';
import { walk } from '../lang/check.js';
import { surrogatePrimitive } from '../lang/surrogates.js';

function modelItem(text: string, model: string): ModelItem {
  const c = compile(text);
  const item = c.checked.program.items.find((i): i is ModelItem => i.kind === 'model' && i.name.name === model);
  if (!item) throw new Error(`no model '${model}'`);
  return item;
}

function splice(text: string, edits: { start: number; end: number; text: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The model's `dim` declarations (inside the model and at file level) with their values. */
export function modelDims(text: string, model: string): Map<string, number> {
  const c = compile(text);
  const out = new Map<string, number>();
  for (const [name, sym] of c.checked.fileSymbols) if (sym.kind === 'dim' && sym.value !== undefined) out.set(name, sym.value);
  const scope = c.checked.items.get(model);
  if (scope?.kind === 'model') for (const [name, sym] of scope.symbols) if (sym.kind === 'dim' && sym.value !== undefined) out.set(name, sym.value);
  return out;
}

/** The text with some of the model's dims set to new values (`dim n = 64` → `dim n = 16`). */
export function resizeModel(text: string, model: string, dims: Readonly<Record<string, number>>): string {
  const c = compile(text);
  const item = c.checked.program.items.find((i): i is ModelItem => i.kind === 'model' && i.name.name === model);
  if (!item) throw new Error(`no model '${model}'`);
  const edits: { start: number; end: number; text: string }[] = [];
  const decls = [...c.checked.program.items.filter((i) => i.kind === 'dim'), ...item.body.filter((s) => s.kind === 'dim')];
  for (const d of decls) {
    if (d.kind !== 'dim') continue;
    const v = dims[d.name.name];
    if (v !== undefined) edits.push({ start: d.value.range.start, end: d.value.range.end, text: String(v) });
  }
  return splice(text, edits);
}

/** The dim that sets the number of neurons: `n` when declared, else the size of the first state. */
export function neuronDim(text: string, model: string): string | undefined {
  const dims = modelDims(text, model);
  if (dims.has('n')) return 'n';
  const item = modelItem(text, model);
  for (const s of item.body) {
    if (s.kind === 'var' && s.role === 'state' && s.shape) {
      const first: Expr | undefined = s.shape.dims[0];
      if (first?.kind === 'name' && dims.has(first.name)) return first.name;
    }
  }
  return undefined;
}

// surrogatePrimitive (lang/surrogates.ts): an expression of x whose derivative
// is the surrogate's pseudo-derivative, scale included, so that finite
// differences of the twin equal the surrogate gradient of the spiking model.
export { surrogatePrimitive };

/** The model with every `spike(x)` replaced by the surrogate's primitive: a smooth model with the same gradient graph. */
export function smoothTwin(text: string, model: string): string {
  const c = compile(text);
  const scope = c.checked.items.get(model);
  if (scope?.kind !== 'model') throw new Error(`no model '${model}'`);
  const item = scope.item;
  const edits: { start: number; end: number; text: string }[] = [];
  for (const s of item.body) {
    if (s.kind !== 'update' && s.kind !== 'ode' && s.kind !== 'let' && s.kind !== 'loss') continue;
    const calls: Call[] = [];
    walk(s.value, (e) => {
      if (e.kind === 'call' && (e.callee.name === 'spike' || scope.surrogates.has(e.callee.name))) calls.push(e);
    });
    // Outermost first; nested spikes are rare, and an inner one inside an outer one is rewritten with it.
    const outer = calls.filter((a) => !calls.some((b) => b !== a && b.range.start <= a.range.start && b.range.end >= a.range.end));
    for (const call of outer) {
      const surrogate = scope.surrogates.get(call.callee.name);
      if (!surrogate) throw new Error(`model '${model}' uses ${call.callee.name}() without a surrogate`);
      const arg = call.args[0]!;
      const inner = text.slice(arg.range.start, arg.range.end);
      edits.push({ start: call.range.start, end: call.range.end, text: surrogatePrimitive(surrogate, inner) });
    }
  }
  return splice(text, edits);
}
