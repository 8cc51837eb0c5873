// What is at an offset: the name reference (through the checker's
// `references`), the statement, the call. Indexes are built once per
// compiled version and shared by hover, definition, references, rename,
// semantic tokens and completion.

import type { Compiled } from '../compile.js';
import type {
  Call,
  Expr,
  FunctionItem,
  Ident,
  Item,
  LetStmt,
  LossEq,
  ModelItem,
  ModelStmt,
  NameRef,
  OdeEq,
  Range,
  RuleItem,
  RuleStmt,
  TimeRef,
  UpdateEq,
} from '../lang/ast.js';
import type { Symbol } from '../lang/symbols.js';

export interface Occurrence {
  /** Range of the identifier itself (for `u[t+1]`, just `u`). */
  readonly range: Range;
  readonly symbol: Symbol;
  /** True at the declaring identifier. */
  readonly isDecl: boolean;
  /** 1 for `s[t+1]`, 0 for `s[t]` and bare names. */
  readonly offset: number;
}

export interface RefIndex {
  /** Every occurrence of a resolved name, sorted by start. */
  readonly occurrences: readonly Occurrence[];
  /** Occurrences per symbol (the symbol objects are shared by the checker). */
  readonly bySymbol: ReadonlyMap<Symbol, readonly Occurrence[]>;
}

const indexes = new WeakMap<Compiled, RefIndex>();

const isTimeRef = (n: object): n is TimeRef => (n as { kind?: string }).kind === 'time';

export function refIndex(c: Compiled): RefIndex {
  const hit = indexes.get(c);
  if (hit) return hit;
  const timeOffsets = new Map<Ident, number>();
  for (const node of c.checked.references.keys()) if (isTimeRef(node)) timeOffsets.set(node.name, node.offset);
  const seen = new Set<number>();
  const occurrences: Occurrence[] = [];
  for (const [node, symbol] of c.checked.references) {
    if (isTimeRef(node)) continue; // its name Ident is an entry of its own
    const range = node.range;
    if (seen.has(range.start)) continue;
    seen.add(range.start);
    occurrences.push({ range, symbol, isDecl: symbol.decl.start === range.start && symbol.decl.end === range.end, offset: timeOffsets.get(node) ?? 0 });
  }
  occurrences.sort((a, b) => a.range.start - b.range.start);
  const bySymbol = new Map<Symbol, Occurrence[]>();
  for (const o of occurrences) {
    let list = bySymbol.get(o.symbol);
    if (!list) bySymbol.set(o.symbol, (list = []));
    list.push(o);
  }
  const index = { occurrences, bySymbol };
  indexes.set(c, index);
  return index;
}

/** The occurrence whose identifier touches `offset` (the cursor may sit just after the name). */
export function occurrenceAt(c: Compiled, offset: number): Occurrence | undefined {
  const occ = refIndex(c).occurrences;
  let lo = 0;
  let hi = occ.length - 1;
  let found: Occurrence | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = occ[mid]!;
    if (o.range.start <= offset) {
      if (offset <= o.range.end) found = o;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  // Prefer the identifier that contains offset strictly (`a+b` with the cursor between).
  if (found && found.range.end === offset) {
    const next = occ.find((o) => o.range.start === offset);
    if (next) return next;
  }
  return found;
}

export const contains = (r: Range, offset: number): boolean => r.start <= offset && offset <= r.end;

export type Statement = FunctionItem['body'][number] | ModelStmt | RuleStmt | NonNullable<FunctionItem['returns']>;

/** The statements of an item, in source order. */
export function statements(item: Item): readonly Statement[] {
  switch (item.kind) {
    case 'function':
      return [...item.body, ...(item.returns ? [item.returns] : [])];
    case 'model':
      return item.body;
    case 'rule':
      return item.body;
    default:
      return [];
  }
}

export function statementAt(item: Item, offset: number): Statement | undefined {
  return statements(item).find((s) => contains(s.range, offset));
}

/** Expressions directly held by a statement. */
export function statementExprs(s: Statement): Expr[] {
  switch (s.kind) {
    case 'let':
    case 'dim':
    case 'const':
    case 'update':
    case 'ode':
    case 'loss':
      return [s.value];
    case 'return':
      return [...s.values];
    case 'var':
      return [...(s.shape?.dims ?? []), ...(s.init ? [s.init] : []), ...(s.initial ? [s.initial] : [])];
    case 'surrogate':
      return [s.fn];
    default:
      return [];
  }
}

/** Children of an expression. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'unary':
      return [e.operand];
    case 'binary':
      return [e.left, e.right];
    case 'call':
      return [...e.args, ...e.named.map((a) => a.value)];
    case 'index':
      return [e.target, ...e.subscripts.flatMap((s) => (s.kind === 'at' ? [s.index] : [...(s.start ? [s.start] : []), ...(s.end ? [s.end] : [])]))];
    case 'list':
      return [...e.items];
    default:
      return [];
  }
}

/** The innermost expression of `roots` that contains `offset` (iterative: expressions may be deep). */
export function exprAt(roots: readonly Expr[], offset: number): Expr | undefined {
  let found: Expr | undefined;
  let level = roots;
  for (;;) {
    const next = level.find((e) => contains(e.range, offset));
    if (!next) return found;
    found = next;
    level = children(next);
  }
}

/** Every call expression under `roots`, outermost first. */
export function calls(roots: readonly Expr[]): Call[] {
  const out: Call[] = [];
  const stack = [...roots];
  while (stack.length) {
    const e = stack.pop()!;
    if (e.kind === 'call') out.push(e);
    stack.push(...children(e));
  }
  return out;
}

/** The program item (any kind, including file-level dim/const) containing offset. */
export function programItemAt(c: Compiled, offset: number): Item | undefined {
  return c.checked.program.items.find((i) => contains(i.range, offset));
}

export type Equation = LetStmt | UpdateEq | OdeEq | LossEq;

export function isEquation(s: Statement | undefined): s is Equation {
  return s !== undefined && (s.kind === 'let' || s.kind === 'update' || s.kind === 'ode' || s.kind === 'loss');
}

/** The vertex name the graph builder gives an equation's result: `u[t+1]`, `loss`, or the let name. */
export function equationVertexName(eq: Equation): string {
  switch (eq.kind) {
    case 'let':
      return eq.name.name;
    case 'update':
    case 'ode':
      return `${eq.target.name}[t+1]`;
    case 'loss':
      return 'loss';
  }
}

/** Range of the equation's left-hand side (`let s`, `u[t+1]`, `du/dt`, `loss`). */
export function lhsRange(eq: Equation, c: Compiled): Range {
  switch (eq.kind) {
    case 'let':
      return eq.name.range;
    case 'loss':
      return eq.keyword;
    default: {
      // Up to the `=` of the equation.
      const eqSign = c.text.indexOf('=', eq.target.range.end);
      let end = eqSign > 0 && eqSign < eq.value.range.start ? eqSign : eq.target.range.end;
      while (end > eq.range.start && /\s/.test(c.text[end - 1]!)) end--;
      return { start: eq.range.start, end };
    }
  }
}

export type { ModelItem, RuleItem, NameRef };
