// Which parameters a rule updates, and through which credit path: the
// honest label of a find-rule candidate. A rule whose approximations cut
// every path from the loss to the recurrent weights still "runs" and still
// has a cosine with BPTT (the readout's gradient is exact), so without this
// a front can show a readout-only rule, or one that updates nothing, under a
// known rule's name. Read from the structure the rules engine derived (the
// online program's updates and traces, computed for every schedule: the
// approximated graph is the same, only the order of elimination differs).

import { classify, type StepStructure } from './blocks.js';
import type { PreparedRule } from './model.js';
import type { OnlineProgram, UpdateSpec } from './program.js';

/** How the credit reaches one parameter. */
export type CreditPath =
  /** The rule's update equals the exact gradient for this parameter (a readout whose own equation is not approximated). */
  | 'exact'
  /** Carried per-synapse or presynaptic traces (e-prop's eligibility traces) times a learning signal. */
  | 'eligibility'
  /** Carried full sensitivities d state / d W (RTRL-like) times a learning signal. */
  | 'sensitivity'
  /** Credit within the step only: no trace is carried to the next step (no credit through time). */
  | 'within-step'
  /** The adjoint recursion over the stored sequence (BPTT), through the kept blocks. */
  | 'bptt'
  /** BPTT within windows of K steps (`truncate K`). */
  | 'truncated-bptt'
  /** Carried traces times a learning signal that comes through a fixed random matrix (`random`, `local`). */
  | 'feedback';

export const CREDIT_TEXT: Readonly<Record<CreditPath, string>> = {
  exact: 'exact',
  eligibility: 'eligibility × learning signal',
  sensitivity: 'full sensitivity (RTRL) × learning signal',
  'within-step': 'within-step credit × learning signal (none through time)',
  bptt: 'backpropagation through time',
  'truncated-bptt': 'truncated backpropagation through time',
  feedback: 'eligibility × random feedback (a fixed random matrix, not the transpose)',
};

export interface Credit {
  /** Parameters the rule updates, in declaration order. */
  readonly updatedParams: readonly string[];
  /** Parameters it gives no update: no credit path reaches them under its approximations. */
  readonly untrained: readonly string[];
  readonly paths: Readonly<Record<string, CreditPath>>;
  /** Parameters that only shape the readout: no hidden (recurrent) state depends on them. */
  readonly readoutParams: readonly string[];
  /**
   * `full`: every parameter is updated; `partial`: a hidden parameter is not;
   * `readout-only`: only readout parameters are; `none`: nothing is.
   */
  readonly kind: 'full' | 'partial' | 'readout-only' | 'none';
  /** e.g. `W_in, W_rec: eligibility × learning signal; W_out: exact`. */
  readonly summary: string;
  /** What the rule cannot learn, in sentences (empty when it learns every parameter). */
  readonly warnings: readonly string[];
}

/**
 * The model's hidden states: those on a cycle of the state dependency graph
 * (a reads b at t or t+1) — a cycle of two or more states, or a state whose
 * dependence on itself is not elementwise (a dense recurrent matrix) — and
 * every state that feeds one. The others (a leaky readout `o[t+1] = κ·o +
 * W_out @ z[t+1]`) only shape the output.
 */
export function hiddenStates(structure: StepStructure): Set<string> {
  const names = structure.states.map((s) => s.name);
  const reads = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  const denseSelf = new Set<string>();
  for (const b of structure.blocks) {
    if (b.of === 'loss' || b.wrt.kind !== 'state') continue;
    if (b.wrt.name === b.of) {
      const form = classify(b.sparsity).form;
      if (form !== 'scalar' && form !== 'diagonal') denseSelf.add(b.of);
      continue;
    }
    reads.get(b.of)?.add(b.wrt.name);
  }
  // reach[a] = states a depends on, transitively.
  const reach = new Map<string, Set<string>>();
  for (const a of names) {
    const seen = new Set<string>();
    const todo = [...(reads.get(a) ?? [])];
    while (todo.length) {
      const b = todo.pop()!;
      if (seen.has(b)) continue;
      seen.add(b);
      for (const c of reads.get(b) ?? []) todo.push(c);
    }
    reach.set(a, seen);
  }
  const core = new Set(names.filter((a) => denseSelf.has(a) || reach.get(a)!.has(a)));
  const hidden = new Set(core);
  for (const a of core) for (const b of reach.get(a)!) hidden.add(b);
  return hidden;
}

/** Parameters read only by the loss or by non-hidden states' equations. */
export function readoutParams(structure: StepStructure): string[] {
  const hidden = hiddenStates(structure);
  return structure.params
    .map((p) => p.name)
    .filter((w) => {
      const readers = structure.blocks.filter((b) => b.wrt.kind === 'param' && b.wrt.name === w).map((b) => b.of);
      return readers.length > 0 && readers.every((of) => of === 'loss' || !hidden.has(of));
    });
}

function pathOf(u: UpdateSpec, program: OnlineProgram, exactReadout: boolean): CreditPath {
  if (exactReadout) return 'exact';
  const traces = new Map(program.traces.map((t) => [t.name, t]));
  const used = new Set<string>();
  for (const t of u.terms) if (t.factor.kind !== 'direct') used.add(t.factor.trace);
  for (const lp of u.lossPrevious) used.add(lp.trace);
  for (const ft of u.filtered ?? []) used.add(ft.trace);
  // The traces an update reads, and the traces those read (a trace's terms name its sources).
  const todo = [...used];
  while (todo.length) {
    const t = traces.get(todo.pop()!);
    for (const term of t?.terms ?? [])
      if (!used.has(term.trace)) {
        used.add(term.trace);
        todo.push(term.trace);
      }
  }
  const read = [...used].map((n) => traces.get(n)).filter((t) => t !== undefined);
  if (read.length === 0) return u.terms.length === 0 && u.lossPrevious.length === 0 && !u.filtered?.length ? 'exact' : 'within-step';
  if (read.some((t) => t.carried && t.storage === 'dense')) return 'sensitivity';
  if (read.some((t) => t.carried)) return 'eligibility';
  return 'within-step';
}

/** The credit of a prepared rule. */
export function ruleCredit(structure: StepStructure, rule: PreparedRule): Credit {
  const program = rule.derived.program;
  const params = structure.params.map((p) => p.name);
  const updated = params.filter((p) => program.updates.some((u) => u.param === p));
  const untrained = params.filter((p) => !updated.includes(p));
  const readout = readoutParams(structure);
  const hidden = hiddenStates(structure);
  // A readout's update is exact when the rule approximates none of the readout states' own blocks (and none of the loss's).
  const readoutStates = new Set(structure.states.map((s) => s.name).filter((s) => !hidden.has(s)));
  const approximatedReadout =
    rule.approx.dropped.some((d) => d.of === 'loss' || readoutStates.has(d.of)) ||
    rule.approx.blocks.some((b) => (b.approximation === 'diagonal' || b.approximation === 'top') && (b.of === 'loss' || readoutStates.has(b.of))) ||
    rule.spec.truncate !== undefined ||
    rule.spec.quantize !== undefined;
  const reverse = rule.spec.schedule.kind !== 'online';
  const paths: Record<string, CreditPath> = {};
  // Learning signals that reach their state through a random or local feedback block.
  const fed = new Set<string>();
  for (const sg of program.signals) {
    if (sg.terms.some((t) => fed.has(t.signal) || program.blocks.find((b) => b.id === t.block)?.feedback)) fed.add(sg.name);
    if (sg.direct && program.blocks.find((b) => b.id === sg.direct)?.feedback) fed.add(sg.name);
  }
  for (const u of program.updates) {
    const isReadout = readout.includes(u.param);
    const viaFeedback = [...u.terms.map((t) => t.signal), ...(u.filtered ?? []).map((t) => t.signal)].some((sg) => fed.has(sg));
    paths[u.param] =
      isReadout && !approximatedReadout
        ? 'exact'
        : reverse
          ? rule.spec.truncate !== undefined
            ? 'truncated-bptt'
            : 'bptt'
          : viaFeedback && pathOf(u, program, false) !== 'within-step'
            ? 'feedback'
            : pathOf(u, program, false);
  }
  const hiddenParams = params.filter((p) => !readout.includes(p));
  const kind: Credit['kind'] =
    updated.length === 0
      ? 'none'
      : hiddenParams.length > 0 && updated.every((p) => readout.includes(p))
        ? 'readout-only'
        : untrained.length > 0
          ? 'partial'
          : 'full';
  const groups = new Map<CreditPath, string[]>();
  for (const p of updated) {
    const g = groups.get(paths[p]!) ?? [];
    g.push(p);
    groups.set(paths[p]!, g);
  }
  const summary = updated.length === 0 ? 'updates no parameter' : [...groups].map(([path, ps]) => `${ps.join(', ')}: ${CREDIT_TEXT[path]}`).join('; ');
  const warnings: string[] = [];
  if (kind === 'none') warnings.push(`updates no parameter: its approximations cut every path from the loss to ${params.join(', ')}`);
  else if (kind === 'readout-only')
    warnings.push(`updates only the readout (${updated.join(', ')}): it cannot learn ${untrained.join(', ')}, which the model's hidden states need`);
  else if (untrained.length)
    warnings.push(`cannot learn ${untrained.join(', ')}: no credit path reaches ${untrained.length === 1 ? 'it' : 'them'} under these approximations`);
  return { updatedParams: updated, untrained, paths, readoutParams: readout, kind, summary, warnings };
}

/** A short label of the kind for tables: `readout only`, `updates nothing`, or null for rules that learn the hidden weights. */
export function creditLabel(c: Credit): string | null {
  return c.kind === 'none' ? 'updates nothing' : c.kind === 'readout-only' ? 'readout only' : null;
}
