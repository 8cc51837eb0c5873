// Hover. On a name: its declaration, shape, role, and value range at the
// evaluation point. On an equation: the partial Jacobians of its result with
// respect to each operand, with their sparsity (ad/). On a builtin, an
// initialiser or a surrogate: its signature and doc. On an item name: the
// figures of its code lens.

import type { Hover, HoverParams, MarkupContent } from 'vscode-languageserver/node';
import type { Expr, Item } from '../lang/ast.js';
import { BUILTINS, INITIALISERS } from '../lang/builtins.js';
import { SURROGATE_KINDS, SURROGATE_SCALE, isSurrogateKind } from '../lang/surrogates.js';
import type { Symbol } from '../lang/symbols.js';
import type { DocumentAnalysis, ItemResult } from './analysis.js';
import { figures } from './codeLens.js';
import { guarded, type LastRun, type ServerContext } from './context.js';
import { fmtNumber, fmtShape } from './convert.js';
import type { Snapshot } from './documents.js';
import type { EvalPoint, ValueStats } from '../analysis/evalPoint.js';
import type { EquationJacobians } from '../analysis/jacobians.js';
import { dataHover } from './interop.js';
import {
  calls,
  contains,
  equationVertexName,
  isEquation,
  lhsRange,
  occurrenceAt,
  programItemAt,
  statementAt,
  statementExprs,
  type Occurrence,
} from '../analysis/locate.js';

const ROLE: Record<Symbol['kind'], string> = {
  dim: 'dimension',
  const: 'constant (folded: no vertex)',
  param: 'parameter: trainable, an independent variable of the gradient',
  input: 'input: read at every time step (data, no gradient)',
  target: 'target: read at every time step (data, no gradient)',
  state: 'state: carried from step to step',
  let: 'value (`let`)',
  argument: 'argument: an independent variable of the Jacobian',
  item: 'item',
  surrogate: 'surrogate spike function: Heaviside step forward, its pseudo-derivative backward',
};

function md(lines: (string | undefined)[]): MarkupContent {
  return { kind: 'markdown', value: lines.filter((l): l is string => l !== undefined).join('\n\n') };
}

const code = (s: string): string => `\`\`\`eligo\n${s}\n\`\`\``;

export function fmtStats(s: ValueStats): string {
  if (s.count === 1) return `value ${fmtNumber(s.min)}`;
  const nf = s.nonFinite ? ` · **${s.nonFinite} non-finite**` : '';
  if (s.min === s.max) return `all ${fmtNumber(s.min)} (${fmtNumber(s.count)} values)${nf}`;
  return `min ${fmtNumber(s.min)} · mean ${fmtNumber(s.mean)} · max ${fmtNumber(s.max)} (${fmtNumber(s.count)} values)${nf}`;
}

function valueLine(point: EvalPoint | undefined, name: string): string | undefined {
  const s = point?.names.get(name);
  if (!s || !point) return undefined;
  const traj = point.trajectory?.get(name);
  const along = traj && point.steps !== undefined ? `  \n**over the ${point.steps} steps to it:** ${fmtStats(traj)}` : '';
  return `**at the evaluation point** — ${point.where}: ${fmtStats(s)}${along}`;
}

function declaration(snap: Snapshot, sym: Symbol): string {
  const text = snap.text;
  const n = sym.node;
  if (!n) return sym.name;
  switch (sym.kind) {
    case 'dim':
    case 'const':
      return `${sym.kind} ${sym.name} = ${fmtNumber(sym.value ?? NaN)}`;
    case 'let':
      return `let ${sym.name}: ${fmtShape(sym.shape)}`;
    case 'argument':
      return `${sym.name}: ${fmtShape(sym.shape)}`;
    case 'item':
      return `${(n as Item).kind} ${sym.name}`;
    default: {
      // input / target / param / state: the declaration line as written, spaces collapsed.
      return text.slice(n.range.start, n.range.end).replace(/\s+/g, ' ');
    }
  }
}

function itemResult(a: DocumentAnalysis | undefined, offset: number): ItemResult | undefined {
  return a?.items.find((r) => contains(r.item.range, offset));
}

function pointOf(r: ItemResult | undefined): EvalPoint | undefined {
  return r?.evaluation && 'point' in r.evaluation ? r.evaluation.point : undefined;
}

function nameHover(snap: Snapshot, occ: Occurrence, a: DocumentAnalysis | undefined, runs: ReadonlyMap<string, LastRun>, next: boolean): MarkupContent {
  const sym = occ.symbol;
  if (sym.kind === 'item') {
    const r = a?.items.find((x) => x.item.name === sym.name && x.item.nameRange.start === sym.decl.start);
    const f = a && r ? figures(a, r, runs) : undefined;
    const program = r?.rule?.program;
    return md([
      code(declaration(snap, sym)),
      f ? `${f.title}\n\n${f.tooltip.replace(/\n/g, '  \n')}` : undefined,
      program?.length ? `**Update program** (every step):\n\n${code(program.join('\n'))}` : undefined,
    ]);
  }
  const r = itemResult(a, occ.range.start);
  const point = pointOf(r);
  const vertexName = sym.kind === 'state' && (occ.offset === 1 || next) ? `${sym.name}[t+1]` : sym.name;
  const shape = sym.kind === 'dim' || sym.kind === 'const' || sym.kind === 'surrogate' ? undefined : `**shape** ${fmtShape(sym.shape)}`;
  return md([code(declaration(snap, sym)), `${ROLE[sym.kind]}${shape ? ` · ${shape}` : ''}`, valueLine(point, vertexName)]);
}

function builtinHover(name: string, inSurrogate: boolean, inInit: boolean): MarkupContent | undefined {
  const s = isSurrogateKind(name) ? SURROGATE_KINDS.get(name) : undefined;
  if (s && inSurrogate) {
    return md([
      code(`${name}(${s.param} = ${s.default}, ${SURROGATE_SCALE.name} = ${SURROGATE_SCALE.default})`),
      `surrogate derivative: ψ(x) = ${SURROGATE_SCALE.name} · ${s.formula}; ${s.doc} \`${SURROGATE_SCALE.name}\`: ${SURROGATE_SCALE.doc}.`,
    ]);
  }
  const i = INITIALISERS.get(name);
  if (i && inInit) return md([code(i.signature), `initialiser: ${i.doc}`]);
  const b = BUILTINS.get(name);
  if (b) return md([code(b.signature), b.doc]);
  return undefined;
}

export function jacobianMarkdown(j: EquationJacobians): string {
  const lines = j.partials.map((p) => `- ${p.label}${p.value ? ` = ${p.value}` : ''}  _(${p.sparsity})_`);
  return [`**Partial Jacobians** of \`${j.result}\`${j.where ? ` ${j.where}` : ''}:`, ...lines].join('\n');
}

/**
 * The equation whose Jacobians a hover at `offset` shows (on its left-hand
 * side, or anywhere in it but on a name): its start offset, else undefined.
 */
export function jacobianTarget(snap: Snapshot, offset: number): number | undefined {
  const c = snap.compiled;
  const pItem = programItemAt(c, offset);
  const stmt = pItem ? statementAt(pItem, offset) : undefined;
  if (!isEquation(stmt)) return undefined;
  const occ = occurrenceAt(c, offset);
  return !occ || contains(lhsRange(stmt, c), offset) ? stmt.range.start : undefined;
}

/** Jacobians by item key, equation offset in the item and T: an unchanged item is not differentiated twice. */
const jacobianCache = new Map<string, EquationJacobians | undefined>();
const JACOBIAN_CACHE_SIZE = 256;

async function jacobiansFor(ctx: ServerContext, a: DocumentAnalysis | undefined, snap: Snapshot, offset: number): Promise<EquationJacobians | undefined> {
  const at = jacobianTarget(snap, offset);
  if (at === undefined) return undefined;
  const steps = a?.settings.analysis.steps ?? ctx.settings.value.analysis.steps;
  const r = itemResult(a, at);
  const key = r ? `${r.key}@${at - r.item.range.start}@${steps}` : undefined;
  if (key !== undefined && jacobianCache.has(key)) return jacobianCache.get(key);
  const j = await ctx.analyzer.backend.jacobians(snap.text, at, steps).catch(() => undefined);
  if (key !== undefined) {
    if (jacobianCache.size >= JACOBIAN_CACHE_SIZE) jacobianCache.delete(jacobianCache.keys().next().value!);
    jacobianCache.set(key, j);
  }
  return j;
}

/** The hover at `offset`; `jacobians` are the equation's there (computed in the analysis worker). */
export function hover(
  snap: Snapshot,
  offset: number,
  a: DocumentAnalysis | undefined,
  runs: ReadonlyMap<string, LastRun> = new Map(),
  jacobians?: EquationJacobians,
): Hover | null {
  const c = snap.compiled;
  const pItem = programItemAt(c, offset);
  const stmt = pItem ? statementAt(pItem, offset) : undefined;
  const occ = occurrenceAt(c, offset);
  const r = itemResult(a, offset);
  // On the left-hand side of an equation: the name, then the equation's Jacobians.
  const eqJac = (): string | undefined => (jacobians ? jacobianMarkdown(jacobians) : undefined);
  if (occ) {
    // The target of `u[t+1] = …` is the next state.
    const next = (stmt?.kind === 'update' || stmt?.kind === 'ode') && stmt.target.range.start === occ.range.start;
    const content = nameHover(snap, occ, a, runs, next);
    if (isEquation(stmt) && contains(lhsRange(stmt, c), offset)) {
      const j = eqJac();
      if (j) content.value += `\n\n${j}`;
    }
    return { contents: content, range: snap.range(occ.range) };
  }
  if (stmt) {
    const roots: Expr[] = statementExprs(stmt);
    const call = calls(roots).find((k) => contains(k.callee.range, offset));
    if (call) {
      const h = builtinHover(call.callee.name, stmt.kind === 'surrogate', stmt.kind === 'var');
      if (h) return { contents: h, range: snap.range(call.callee.range) };
    }
    if (stmt.kind === 'var' && stmt.init?.kind === 'name' && contains(stmt.init.range, offset)) {
      const h = builtinHover(stmt.init.name, false, true);
      if (h) return { contents: h, range: snap.range(stmt.init.range) };
    }
    if (isEquation(stmt)) {
      const j = eqJac();
      const name = equationVertexName(stmt);
      const shape = c.checked.shapes.get(stmt.value);
      const value = valueLine(pointOf(r), name);
      const head = code(`${name}${shape ? `: ${fmtShape(shape)}` : ''}`);
      if (!j && !value) return null;
      return { contents: md([head, value, j]), range: snap.range(stmt.range) };
    }
  }
  return null;
}

export function registerHover(ctx: ServerContext): void {
  ctx.connection.onHover(
    guarded(ctx, 'hover', null as Hover | null, async (p: HoverParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      if (!snap) return null;
      const a = await ctx.analyzer.current(p.textDocument.uri, snap.version);
      const s = a?.snapshot ?? snap;
      const offset = s.offset(p.position);
      const jacobians = await jacobiansFor(ctx, a, s, offset);
      const h = hover(s, offset, a, ctx.lastRuns, jacobians);
      // A param initialised from data(…): its values, read only in a trusted workspace (server/interop.ts).
      const occ = h ? occurrenceAt(s.compiled, offset) : undefined;
      const data = occ ? await dataHover(p.textDocument.uri, s.text, occ.symbol, s.compiled.checked.items.values(), ctx.trust.trusted) : undefined;
      if (h && data && typeof h.contents === 'object' && 'kind' in h.contents) h.contents.value += `\n\n${data}`;
      return h;
    }),
  );
}
