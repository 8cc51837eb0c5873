// Which gradient a training run uses: a `rule … for MODEL` item of the file
// (its online update program from the rules engine, or — for a reverse,
// forward or order schedule — the gradient of the approximated unrolled
// graph, whose value does not depend on the elimination order), or exact BPTT
// when no rule is named.

import type { Compiled } from '../compile.js';
import { approximate, stepStructure, type Block } from '../rules/blocks.js';
import { deriveProgram, type OnlineCost } from '../rules/derive.js';
import type { OnlineProgram } from '../rules/program.js';
import { ruleSpec, type RuleSpec } from '../rules/rule.js';
import { stopKey } from './compileGraph.js';
import type { ModelSpec } from './model.js';
import { EligoError } from '../util/errors.js';
import { scheduleProblems } from '../rules/kinds.js';
import { chooseMasks } from '../rules/topk.js';
import { sampleInput, type ModelContext } from '../rules/model.js';
import type { RunInput } from '../rules/execute.js';

export type Method =
  /**
   * Reverse-mode autodiff over the unrolled sequence (tf.variableGrads).
   * `stopped` are the step graph's operand edges of blocks the rule drops
   * (`= 0`, `= stop`): read through a stop-gradient, the gradient is that of
   * the approximated graph.
   */
  | { readonly kind: 'bptt'; readonly stopped: ReadonlySet<string>; readonly note?: string; readonly truncate?: number }
  | { readonly kind: 'online'; readonly program: OnlineProgram; readonly blocks: readonly Block[]; readonly cost: OnlineCost };

export interface ResolvedRule {
  /** The rule's name ('bptt' when none was named). */
  readonly name: string;
  readonly method: Method;
  readonly spec?: RuleSpec;
}

export class RuleError extends EligoError {
  constructor(message: string) {
    super('train.rule', message);
  }
}

/** Operand edges (vertex:k) of the step graph that carry the dropped block d(of)/d(wrt). */
export function droppedEdges(spec: ModelSpec, dropped: readonly { src: number; dst: number }[]): Set<string> {
  const g = spec.graph;
  const stopped = new Set<string>();
  const nexts = new Set(spec.states.map((s) => s.next));
  for (const d of dropped) {
    // The equation's cone: vertices between the block's source and its equation output, not through other equations.
    const cone = new Set<number>([d.dst]);
    for (let v = d.dst; v > d.src; v--) {
      if (!cone.has(v)) continue;
      if (v !== d.dst && nexts.has(v)) continue;
      for (const u of g.vertices[v]!.inputs) cone.add(u);
    }
    for (const v of cone) {
      if (v !== d.dst && nexts.has(v)) continue;
      g.vertices[v]!.inputs.forEach((u, k) => {
        if (u === d.src) stopped.add(stopKey(v, k));
      });
    }
  }
  return stopped;
}

/**
 * The rule named `name` for the model (or exact BPTT for undefined/'bptt'
 * when the file has no rule of that name).
 */
export function resolveRule(c: Compiled, spec: ModelSpec, name: string | undefined, maskData?: (ctx: ModelContext) => readonly RunInput[]): ResolvedRule {
  const rules = c.items.filter((i) => i.kind === 'rule');
  if (name === undefined || (name === 'bptt' && !rules.some((r) => r.name === 'bptt'))) {
    return { name: 'bptt', method: { kind: 'bptt', stopped: new Set() } };
  }
  const item = rules.find((r) => r.name === name);
  if (!item) {
    const forModel = rules.filter((r) => r.scope?.kind === 'rule' && r.scope.item.model.name === spec.name).map((r) => r.name);
    throw new RuleError(
      `no rule named '${name}' in the file (rules for '${spec.name}': ${forModel.length ? forModel.join(', ') : 'none'}; without --rule the exact gradient, BPTT, is used)`,
    );
  }
  if (item.hasErrors || item.scope?.kind !== 'rule') throw new RuleError(`rule '${name}' has errors; fix them first (eligo check)`);
  const rs = ruleSpec(item.scope.item);
  if (rs.model !== spec.name)
    throw new RuleError(`rule '${name}' is for model '${rs.model}', not '${spec.name}' (use --model ${rs.model}, or a rule written for '${spec.name}')`);
  const structure = stepStructure(spec.scope, spec.graph);
  let approx = approximate(structure, rs.approximations);
  if (approx.blocks.some((b) => b.top !== undefined) && !approx.problems.some((p) => p.severity === 'error')) {
    const ctx: ModelContext = { compiled: c, name: spec.name, scope: spec.scope, graph: spec.graph, structure };
    approx = chooseMasks(ctx, rs.approximations, approx, maskData ? maskData(ctx) : [sampleInput(ctx, 20, 1), sampleInput(ctx, 20, 2)]);
  }
  const errors = approx.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new RuleError(`rule '${name}': ${errors.map((p) => p.message).join('; ')}`);
  const wrong = scheduleProblems(rs);
  if (wrong.length) throw new RuleError(`rule '${name}': ${wrong.map((p) => p.message).join('; ')}`);
  if (rs.schedule.kind === 'online') {
    const derived = deriveProgram(structure, approx, rs.name, {
      ...(rs.truncate !== undefined ? { truncate: rs.truncate } : {}),
      ...(rs.quantize ? { quantize: rs.quantize } : {}),
    });
    return { name, spec: rs, method: { kind: 'online', program: derived.program, blocks: approx.blocks, cost: derived.cost } };
  }
  const random = approx.blocks.filter((b) => b.feedback);
  if (random.length) {
    throw new RuleError(
      `rule '${name}' uses random feedback in ${random.map((b) => b.id).join(', ')} with a ${rs.schedule.kind} schedule; the trainer runs random feedback online only (write 'schedule online')`,
    );
  }
  if (rs.truncate !== undefined && rs.schedule.kind !== 'reverse') throw new RuleError(`rule '${name}': truncate runs with schedule online or reverse`);
  const diagonal = approx.blocks.filter((b) => b.approximation === 'diagonal');
  if (diagonal.length) {
    throw new RuleError(
      `rule '${name}' keeps only the diagonal of ${diagonal.map((b) => b.id).join(', ')} with a ${rs.schedule.kind} schedule; the trainer runs diagonal approximations online only (write 'schedule online')`,
    );
  }
  const note =
    rs.schedule.kind === 'reverse'
      ? undefined
      : `schedule ${rs.schedule.kind}: the gradient is computed in reverse mode (the elimination order changes the cost, not the value)`;
  return {
    name,
    spec: rs,
    method: {
      kind: 'bptt',
      stopped: droppedEdges(spec, approx.dropped),
      ...(note ? { note } : {}),
      ...(rs.truncate !== undefined ? { truncate: rs.truncate } : {}),
    },
  };
}
