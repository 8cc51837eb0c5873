// Limits on the size of what one item may ask for, checked on the syntax
// tree before the checker runs: a call with 100,000 arguments, or an item of
// millions of nodes, would cost the checker and the graph builder seconds and
// gigabytes on every keystroke (issue 12). An item over a limit gets one
// error at the offending place and is not checked further; the rest of the
// file is analysed as usual. Nesting depth is bounded by the parser (500).

import type { Diagnostic, Item, Program, Range } from './ast.js';

/** Most arguments of one call (`stack`, `concat`, a user function). */
export const MAX_CALL_ARGUMENTS = 1024;

/** Most syntax-tree nodes in one item (a 1,000-equation model has about 20,000). */
export const MAX_ITEM_NODES = 500_000;

interface Node {
  readonly kind?: unknown;
  readonly range?: Range;
  readonly args?: readonly unknown[];
}

/** The first limit the item breaks, as a diagnostic; undefined when it keeps them. */
function itemLimit(item: Item): Diagnostic | undefined {
  let nodes = 0;
  // An explicit stack: the tree may be deeper than the call stack allows.
  const stack: unknown[] = [item];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push(x);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const n = v as Node;
    if (typeof n.kind === 'string') {
      nodes++;
      if (nodes > MAX_ITEM_NODES) {
        return {
          range: item.name.range,
          severity: 'error',
          code: 'limit.item-size',
          message: `'${item.name.name}' has more than ${MAX_ITEM_NODES.toLocaleString('en-US')} terms, more than Eligo analyses; split it into several items`,
        };
      }
      if (n.kind === 'call' && Array.isArray(n.args) && n.args.length > MAX_CALL_ARGUMENTS && n.range) {
        return {
          range: n.range,
          severity: 'error',
          code: 'limit.arguments',
          message: `this call has ${n.args.length.toLocaleString('en-US')} arguments, more than the ${MAX_CALL_ARGUMENTS.toLocaleString('en-US')} Eligo accepts; use a tensor argument (x: [n]) instead of listing elements`,
        };
      }
    }
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (k !== 'range' && typeof x === 'object' && x !== null) stack.push(x);
    }
  }
  return undefined;
}

/** Items over a limit, with their diagnostics. */
export function checkLimits(program: Program): { readonly over: ReadonlySet<Item>; readonly diagnostics: readonly Diagnostic[] } {
  const over = new Set<Item>();
  const diagnostics: Diagnostic[] = [];
  for (const item of program.items) {
    // A call of more than MAX_CALL_ARGUMENTS arguments needs that many commas, a node is at least a character:
    // a shorter item keeps both limits and is not walked (the walk would cost every keystroke of a large file).
    if (item.range.end - item.range.start < 2 * MAX_CALL_ARGUMENTS) continue;
    const d = itemLimit(item);
    if (d) {
      over.add(item);
      diagnostics.push(d);
    }
  }
  return { over, diagnostics };
}
