// The rule view: which Jacobian blocks of a model a learning rule drops (= 0,
// stop) or keeps diagonal, located on the model's step graph. A block
// d(A)/d(B) of a rule is carried by the edges from B's vertex into the
// vertices of A's equation (A's group); those edges are what the view marks.

import type { Compiled } from '../compile.js';
import type { Graph } from '../graph/types.js';
import type { ApproxStmt, RuleItem } from '../lang/ast.js';
import type { RuleBlockView, RuleView } from './viewmodel.js';

function scheduleText(rule: RuleItem): string | undefined {
  for (const s of rule.body) {
    if (s.kind !== 'schedule') continue;
    const sc = s.schedule;
    return sc.kind === 'order' ? `order [${sc.order.map((i) => i.name).join(', ')}]` : sc.kind;
  }
  return undefined;
}

function blockOf(graph: Graph, c: Compiled, a: ApproxStmt): RuleBlockView {
  const of = a.ofOffset === 1 ? `${a.of.name}[t+1]` : a.of.name;
  const wrt = a.wrtOffset === 1 ? `${a.wrt.name}[t+1]` : a.wrt.name;
  const src = graph.vertices.find((v) => v.name === wrt && (a.wrtOffset === 1 ? v.role === 'state-next' : v.inputs.length === 0));
  const pairs: [number, number][] = [];
  if (src) {
    for (const v of graph.vertices) {
      if (v.group !== of) continue;
      if (v.inputs.includes(src.id)) pairs.push([src.id, v.id]);
    }
  }
  const kind = a.approx;
  return {
    of,
    wrt,
    kind,
    pairs,
    range: c.lines.rangeToLsp(a.range),
    text: c.text.slice(a.range.start, a.range.end).replace(/\s+/g, ' ').trim(),
  };
}

/** The rules written for `model` in the file, located on its step graph. */
export function rulesFor(c: Compiled, model: string, graph: Graph): RuleView[] {
  const out: RuleView[] = [];
  for (const item of c.checked.program.items) {
    if (item.kind !== 'rule' || item.model.name !== model) continue;
    const blocks = item.body.filter((s): s is ApproxStmt => s.kind === 'approximate').map((a) => blockOf(graph, c, a));
    const schedule = scheduleText(item);
    out.push({ name: item.name.name, model, ...(schedule ? { schedule } : {}), blocks, range: c.lines.rangeToLsp(item.range) });
  }
  return out;
}
