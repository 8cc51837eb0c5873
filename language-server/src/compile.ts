// The front end in one call: text → AST → checked items → graphs on demand.
// Every front door (CLI, language server, benchmarks) starts here.

import type { Diagnostic, Range } from './lang/ast.js';
import { parse } from './lang/parser.js';
import { check } from './lang/check.js';
import { checkLimits } from './lang/limits.js';
import { LineIndex } from './lang/source.js';
import type { Checked, ItemScope, ModelScope } from './lang/symbols.js';
import { BuildError, buildFunction, buildModelStep, unrollModel, type ModelStepGraph, type UnrolledGraph } from './graph/build.js';
import type { Graph } from './graph/types.js';
import { GradError, gradientGraph } from './graph/grad.js';
import { EligoError } from './util/errors.js';

export interface Compiled {
  readonly text: string;
  readonly lines: LineIndex;
  readonly checked: Checked;
  /** Parser and checker diagnostics, in source order. */
  readonly diagnostics: readonly Diagnostic[];
  /** Named items (functions, models, rules, grads) in source order. */
  readonly items: readonly NamedItem[];
}

export interface NamedItem {
  readonly name: string;
  readonly kind: 'function' | 'model' | 'rule' | 'grad';
  readonly range: Range;
  readonly nameRange: Range;
  /** True when a diagnostic of severity error lies inside the item: no graph is built for it. */
  readonly hasErrors: boolean;
  readonly scope?: ItemScope;
}

export function compile(text: string): Compiled {
  const { program, diagnostics: syntax } = parse(text);
  // Items over a size limit (lang/limits.ts) get their error and are not checked: the checker's time and memory stay bounded.
  const limits = checkLimits(program);
  const checkedProgram = limits.over.size ? { ...program, items: program.items.filter((i) => !limits.over.has(i)) } : program;
  const checked = checkSafely(checkedProgram, text);
  const diagnostics = [...syntax, ...limits.diagnostics, ...checked.diagnostics].sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const overlapsError = errorIndex(errors);
  // A file-level dim/const error poisons every item that might use it.
  const fileLevelError = program.items.some(
    (it) => (it.kind === 'dim' || it.kind === 'const') && errors.some((d) => d.range.start >= it.range.start && d.range.end <= it.range.end),
  );
  const items: NamedItem[] = [];
  for (const item of program.items) {
    if (item.kind === 'dim' || item.kind === 'const') continue;
    const hasErrors = fileLevelError || overlapsError(item.range.start, item.range.end);
    const scope = checked.items.get(item.name.name);
    items.push({
      name: item.name.name,
      kind: item.kind,
      range: item.range,
      nameRange: item.name.range,
      hasErrors: hasErrors || (item.kind === 'grad' && scope?.kind === 'grad' && !scope.of) || (item.kind === 'rule' && scope?.kind === 'rule' && !scope.model),
      ...(scope ? { scope } : {}),
    });
  }
  return { text, lines: new LineIndex(text), checked, diagnostics, items };
}

/**
 * Whether an error overlaps [start, end) (start < end of range, end > start),
 * in O(log n) per question: the errors are sorted by start, and the largest
 * end among those that start before `end` decides. A quadratic scan here made
 * a file of 10,000 items with errors take seconds per keystroke.
 */
function errorIndex(errors: readonly Diagnostic[]): (start: number, end: number) => boolean {
  const sorted = [...errors].sort((a, b) => a.range.start - b.range.start);
  const maxEnd: number[] = [];
  let m = -Infinity;
  for (const d of sorted) maxEnd.push((m = Math.max(m, d.range.end)));
  return (start, end) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.range.start < end) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && maxEnd[lo - 1]! > start;
  };
}

/**
 * The checker recurses over expressions and let chains; the parser and the
 * checker's own depth guard keep that bounded, and this turns anything that
 * still exhausts the stack into a diagnostic instead of a crash.
 */
function checkSafely(program: Parameters<typeof check>[0], text: string): Checked {
  try {
    return check(program, text);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const empty = check({ range: program.range, items: [] }, text);
    empty.diagnostics.push({
      range: { start: 0, end: Math.min(text.length, 1) },
      severity: 'error',
      code: 'file.too-complex',
      message: `this file is too deeply nested to analyse (${e.message}); split long chains of 'let' into separate items`,
    });
    return empty;
  }
}

export class ItemError extends EligoError {
  constructor(
    message: string,
    readonly range?: Range,
  ) {
    super('compile.item', message);
  }
}

export function findItem(c: Compiled, name: string | undefined, kinds?: readonly NamedItem['kind'][]): NamedItem {
  const candidates = c.items.filter((i) => !kinds || kinds.includes(i.kind));
  if (name === undefined) {
    if (candidates.length === 0) throw new ItemError(`the file has no ${kinds ? kinds.join(' or ') : 'item'}`);
    return candidates[0]!;
  }
  const item = candidates.find((i) => i.name === name);
  if (!item) {
    throw new ItemError(
      `no ${kinds ? kinds.join(' or ') : 'item'} named '${name}' in the file (it has: ${candidates.map((i) => i.name).join(', ') || 'none'})`,
    );
  }
  return item;
}

function usable(item: NamedItem): ItemScope {
  if (item.hasErrors || !item.scope) throw new ItemError(`'${item.name}' has errors; fix them first (eligo check)`, item.nameRange);
  return item.scope;
}

/** The graph of a function, or of one time step of a model. */
export function graphOf(c: Compiled, item: NamedItem): Graph {
  const scope = usable(item);
  try {
    if (scope.kind === 'function') return buildFunction(c.checked, scope);
    if (scope.kind === 'model') return buildModelStep(c.checked, scope);
    if (scope.kind === 'grad' && scope.of) return gradientGraph(buildFunction(c.checked, scope.of), item.name);
  } catch (e) {
    if (e instanceof BuildError || e instanceof GradError) throw new ItemError(e.message, e.range);
    throw e;
  }
  throw new ItemError(`'${item.name}' is a ${item.kind}; it has no graph of its own${item.kind === 'rule' ? ' (its model has)' : ''}`, item.nameRange);
}

export function modelStep(c: Compiled, item: NamedItem): { scope: ModelScope; graph: ModelStepGraph } {
  const scope = usable(item);
  if (scope.kind !== 'model') throw new ItemError(`'${item.name}' is a ${item.kind}, not a model`, item.nameRange);
  return { scope, graph: buildModelStep(c.checked, scope) };
}

export function unrolled(c: Compiled, item: NamedItem, steps: number): { scope: ModelScope; graph: UnrolledGraph } {
  const scope = usable(item);
  if (scope.kind !== 'model') throw new ItemError(`'${item.name}' is a ${item.kind}, not a model`, item.nameRange);
  return { scope, graph: unrollModel(c.checked, scope, steps) };
}
