// A model ready for rules: its step structure once, then any number of rules
// prepared against it (approximations applied, online program derived), and
// the gradient of a rule on a sequence under its schedule.

import { compile, findItem, modelStep, ItemError, type Compiled } from '../compile.js';
import type { ModelScope } from '../lang/symbols.js';
import type { ModelStepGraph } from '../graph/build.js';
import { initialParams, initialStates, randomData } from '../graph/simulate.js';
import type { Tensor } from '../graph/types.js';
import { approximate, BlockEvaluator, replayable, stepStructure, type ApproximatedBlocks, type BlockTape, type StepStructure } from './blocks.js';
import { chooseMasks } from './topk.js';
import { deriveProgram, type Derived } from './derive.js';
import { runOnline, type RunInput } from './execute.js';
import type { RuleSpec } from './rule.js';
import { weightedEvaluator } from './weighted.js';
import { eliminateGradient, equationGraph, runReverse, scheduleOrder, trajectoryJacobians } from './schedules.js';

export interface ModelContext {
  readonly compiled: Compiled;
  readonly name: string;
  readonly scope: ModelScope;
  readonly graph: ModelStepGraph;
  readonly structure: StepStructure;
}

export function modelContext(c: Compiled, modelName: string | undefined): ModelContext {
  const item = findItem(c, modelName, ['model']);
  const { scope, graph } = modelStep(c, item);
  return { compiled: c, name: item.name, scope, graph, structure: stepStructure(scope, graph) };
}

export function modelContextOf(text: string, modelName?: string): ModelContext {
  return modelContext(compile(text), modelName);
}

export interface PreparedRule {
  readonly spec: RuleSpec;
  readonly approx: ApproximatedBlocks;
  readonly derived: Derived;
}

/**
 * Approximations applied, online program derived. `data`: sequences to choose top(k) patterns on
 * (rules/topk.ts; default: two of the model's random sequences at its initial parameters), unless the
 * spec carries them (Approximation.mask: chosen elsewhere, used as given).
 */
export function prepareRule(ctx: ModelContext, spec: RuleSpec, data?: readonly RunInput[]): PreparedRule {
  let approx = approximate(ctx.structure, spec.approximations);
  if (approx.blocks.some((b) => b.top !== undefined && !b.mask))
    approx = chooseMasks(ctx, spec.approximations, approx, data ?? [sampleInput(ctx, 20, 1), sampleInput(ctx, 20, 2)]);
  const opts = { ...(spec.truncate !== undefined ? { truncate: spec.truncate } : {}), ...(spec.quantize ? { quantize: spec.quantize } : {}) };
  return { spec, approx, derived: deriveProgram(ctx.structure, approx, spec.name, opts) };
}

/** A sample: initial parameters, states and random data, all from a seed (graph/simulate.ts). */
export function sampleInput(ctx: ModelContext, steps: number, seed: number): RunInput & { initial: Map<string, Tensor> } {
  return { steps, params: initialParams(ctx.scope, seed), data: randomData(ctx.scope, steps, seed), initial: initialStates(ctx.scope) };
}

export interface GradientRun {
  readonly gradient: Map<string, Float64Array>;
  readonly totalLoss: number;
}

/** The rule's update direction on a sequence (the exact gradient when nothing is approximated). */
export function ruleGradient(ctx: ModelContext, rule: PreparedRule, input: RunInput, tape?: BlockTape): GradientRun {
  const raw =
    tape && tape.length >= input.steps && replayable(rule.approx.blocks)
      ? tape.replay(rule.approx.blocks)
      : new BlockEvaluator(ctx.structure, rule.approx.blocks);
  const ev = input.lossWeights ? weightedEvaluator(raw, input.lossWeights) : raw;
  const s = rule.spec.schedule;
  if (input.lossWeights && s.kind !== 'online' && s.kind !== 'reverse')
    throw new Error(`per-step loss weights are applied by the online and reverse schedules, not by schedule ${s.kind}`);
  if (s.kind === 'online') {
    const r = runOnline(rule.derived.program, ev, input);
    return { gradient: r.gradient, totalLoss: r.totalLoss };
  }
  if (s.kind === 'reverse') {
    const r = runReverse(ev, rule.approx.blocks, rule.spec.truncate !== undefined ? { ...input, truncate: rule.spec.truncate } : input);
    return { gradient: r.gradient, totalLoss: r.totalLoss };
  }
  const { jacobians, losses } = trajectoryJacobians(ev, input);
  const eg = equationGraph(ctx.structure, rule.approx.blocks, input.steps, jacobians);
  const order = scheduleOrder(eg, s.kind === 'order' ? s.order.map((o) => o.name) : 'forward');
  return { gradient: eliminateGradient(eg, order), totalLoss: losses.reduce((a, b) => a + b, 0) };
}

export { ItemError };
