// The online update program: what a learning rule computes at every time
// step, as plain data. The rules engine derives it from a `rule` item (its
// approximations applied to the model's equation-level Jacobian blocks,
// `derive.ts`); `execute.ts` runs it in Float64 (the reference); the
// TensorFlow.js trainer (train/) runs the same program on tensors.
//
// The maths (shared/reference/vertex-elimination.md §4; Williams & Zipser
// 1989 for RTRL, Bellec et al. 2020 for e-prop). For every model step t → t+1
// the *blocks* are the partial Jacobians of one equation with respect to one
// operand it reads directly (through lets):
//
//   E^{a,b}   = ∂a[t+1]/∂b[t]      a state's update w.r.t. a state at t
//   E^{a,b'}  = ∂a[t+1]/∂b[t+1]    … w.r.t. a state computed earlier in the step (z[t+1] reads u[t+1])
//   F^{a,W}   = ∂a[t+1]/∂W         … w.r.t. a parameter
//   ℓ^{a}     = ∂loss_t/∂a[t+1]    the loss w.r.t. a state it reads
//   ℓ^{W}     = ∂loss_t/∂W
//
// after the rule's approximations (dropped blocks are absent, `diagonal`
// keeps the diagonal). A *trace* is the sensitivity G^{a,W} = da/dW carried
// forward in time, in the equations' order within a step:
//
//   G^{a,W}[t+1] = Σ_b E^{a,b} · G^{b,W}[t]  +  Σ_b' E^{a,b'} · G^{b,W}[t+1]  +  F^{a,W}
//
// A *learning signal* is the loss's sensitivity to a state within the step
// (reverse over the step's equations):
//
//   λ^{a} = ℓ^{a} + Σ_c λ^{c} · E^{c,a'}      (c reads a[t+1])
//
// and the gradient accumulates, per parameter (the step's own loss only —
// online, no future terms):
//
//   ΔW += Σ_a λ^{a} · Ĝ^{a,W}  +  ℓ^{W}  (+ ℓ^{b[t]} · G^{b,W}[t] if the loss reads b[t]),     Ĝ^{a,W} = Σ_b E^{a,b} · G^{b,W}[t] + F^{a,W}
//
// (Ĝ leaves out the same-step terms, which λ already carries.) With nothing
// approximated this is exact RTRL; with diagonal recurrent blocks the traces
// are per-synapse (or per-presynaptic-neuron) eligibility traces and the
// update is three-factor: learning signal × postsynaptic factor (the
// surrogate derivative ψ inside λ) × presynaptic trace.
//
// Value layouts (row-major Float64Array, one per block or trace per step):
//
//   form        logical J (out × in)                         stored values
//   scalar      c·I                                          [1]
//   diagonal    diag(d)                                      outShape (= inShape)
//   dense       J                                            [...outShape, ...inShape]
//   shared      J[j; j', r] = δ(j = j') · v[r]               inShape.slice(1)
//   row         J[j; j', r] = δ(j = j') · V[j, r]            [outShape[0], ...inShape.slice(1)]
//
// `shared` and `row` tie the state's axis to the parameter's first (output)
// axis, as ∂(W @ v)/∂W does: a `shared` trace is one presynaptic vector for
// every row (LIF e-prop's z̄), a `row` trace one value per synapse (ALIF's
// ε^a), a `dense` trace the full RTRL sensitivity. Loss blocks have
// outShape [] (the per-step loss is a scalar).

export type Shape = readonly number[];

/** How the values of a block or trace are stored (table above). */
export type BlockForm = 'scalar' | 'diagonal' | 'dense' | 'shared' | 'row';

/** Storage of a trace: the forms a sensitivity w.r.t. a parameter can take. */
export type TraceStorage = 'shared' | 'row' | 'dense';

/**
 * What an approximation did to a block (`exact`: nothing; `dense`: kept as is, stated explicitly;
 * `filter`: exact, read as the scalar c·I or the shared vector its structure guarantees; `random`:
 * computed with fixed random matrices in place of W at its `W @ operand` products; `local`: a
 * feedback block the rule adds, from an output state's learning signal to a layer's spikes).
 */
export type BlockApproximation = 'exact' | 'dense' | 'diagonal' | 'filter' | 'random' | 'local' | 'top';

/** The fixed random matrices of a `random` or `local` block (rules/kinds.ts feedbackMatrix). */
export interface FeedbackSpec {
  readonly seed: number;
  readonly scale: number;
  /**
   * `random`: one matrix per product W @ operand (vertex `matmul` of the step graph, W's shape, seed + k);
   * `local`: one matrix [output size, layer size] (`matrices[0]`, vertex −1).
   */
  readonly matrices: readonly { readonly param: string | null; readonly matmul: number; readonly shape: Shape; readonly seed: number }[];
}

/** A readable symbol or equation, in plain text (Unicode) and LaTeX. */
export interface Rendered {
  readonly text: string;
  readonly latex: string;
}

/** The operand of a block: a state at t or at t+1, or a parameter. */
export interface Operand {
  readonly name: string;
  readonly kind: 'state' | 'param';
  /** 0: the state at t (carried in); 1: at t+1 (computed earlier in the same step). Parameters: 0. */
  readonly offset: 0 | 1;
}

/** One equation-level Jacobian block that the program needs every step. */
export interface BlockSpec {
  /** Unique id, e.g. `d u[t+1]/d z[t]`, `d loss/d W_out`. */
  readonly id: string;
  /** The equation: a state name (its t+1 update) or 'loss'. */
  readonly of: string;
  readonly wrt: Operand;
  readonly outShape: Shape;
  readonly inShape: Shape;
  readonly form: BlockForm;
  readonly valueShape: Shape;
  readonly approximation: BlockApproximation;
  /** Same values at every step (depends on parameters and constants only): computed once. */
  readonly constant: boolean;
  /** The engine's sparsity of the block, in words (ad/sparsity.ts describeSparsity). */
  readonly sparsity: string;
  readonly symbol: Rendered;
  /** `random` and `local` blocks: their matrices. */
  readonly feedback?: FeedbackSpec;
  /** `top(k)`: the entries kept, row-major flat indices into the block's dense values (ascending). */
  readonly mask?: readonly number[];
}

/** A block dropped by the rule (`= 0` or `= stop`): listed for display; nothing is computed. */
export interface DroppedBlock {
  readonly of: string;
  readonly wrt: Operand;
  /** `local`: dropped, and the operand's layer gets a feedback signal instead (a `local` BlockSpec). */
  readonly approximation: 'zero' | 'stop' | 'local';
}

/** One term E · G of a trace recursion. */
export interface TraceTerm {
  /** Block id (a state-to-state block E). */
  readonly block: string;
  /** Trace name G^{b,W}. */
  readonly trace: string;
  /** 'previous': G^{b,W}[t] (from the last step); 'current': G^{b,W}[t+1] (already updated this step). */
  readonly time: 'previous' | 'current';
  /** The block is not applied here: it is a factor of the trace's `filtered.chain` (a factored scalar filter). */
  readonly pulled?: true;
}

/** A sensitivity G^{a,W} = d a / d W carried forward in time (an eligibility trace or vector). */
export interface TraceSpec {
  /** e.g. `G_u_W_rec`. */
  readonly name: string;
  readonly state: string;
  readonly param: string;
  readonly storage: TraceStorage;
  /** [...state shape, ...param shape]. */
  readonly logicalShape: Shape;
  readonly valueShape: Shape;
  /** Read by the next step (it takes memory between steps); else only used within the step. */
  readonly carried: boolean;
  /** Initial value: zero (the initial states do not depend on the parameters). */
  readonly initial: 'zero';
  /** G[t+1] = Σ terms + direct. */
  readonly terms: readonly TraceTerm[];
  /** Block id of F^{a,W}, when the state's update reads W directly. */
  readonly direct?: string;
  readonly symbol: Rendered;
  /** The recursion as an equation. */
  readonly equation: Rendered;
  /**
   * A factored scalar filter (Bellec et al. 2020's F_κ): this trace H, stored as a trace of `state` (the
   * filter's input), stands for G^{of,W} = C_1 · … · C_m · H with C the constant blocks of `chain`
   * (outermost first). The filter state `of` has no trace of its own.
   */
  readonly filtered?: { readonly of: string; readonly chain: readonly string[] };
  /** `top(k)` (SnAp-2): entries (j, p) of a dense trace kept, as flat j·P + p (ascending); the others are dropped every step. */
  readonly pattern?: readonly number[];
}

/** λ^{a}: the step's loss's sensitivity to a[t+1] within the step. Signals are listed in evaluation order. */
export interface SignalSpec {
  /** e.g. `L_z`. */
  readonly name: string;
  readonly state: string;
  readonly shape: Shape;
  /** Block id of ℓ^{a} = ∂loss/∂a[t+1], when the loss reads a[t+1]. */
  readonly direct?: string;
  /** λ^{a} += λ^{c} · E^{c,a'} (a vector-Jacobian product) for each c that reads a[t+1]. */
  readonly terms: readonly { readonly signal: string; readonly block: string }[];
  readonly symbol: Rendered;
  readonly equation: Rendered;
}

/** What a learning signal multiplies in a weight update. */
export type UpdateFactor =
  /** G^{a,W}[t+1] (used when the trace has no same-step terms, so Ĝ = G[t+1]). */
  | { readonly kind: 'trace'; readonly trace: string }
  /** E^{a,b} · G^{b,W}[t] (a term of Ĝ when the trace has same-step terms). */
  | { readonly kind: 'product'; readonly block: string; readonly trace: string }
  /** F^{a,W}. */
  | { readonly kind: 'direct'; readonly block: string };

/**
 * An update term through a factored filter's trace H (TraceSpec.filtered): μ = λ^{signal} (· E^{a,a},
 * `scale`, for the previous step's part) · C_1 · … · C_m, then ΔW += μ · H (at t+1, or at t with `scale`).
 */
export interface FilteredTerm {
  readonly signal: string;
  readonly trace: string;
  readonly chain: readonly string[];
  readonly time: 'current' | 'previous';
  readonly scale?: string;
}

export interface UpdateTerm {
  /** Signal name λ^{a}. */
  readonly signal: string;
  readonly factor: UpdateFactor;
}

/**
 * The three-factor reading of an update term, when λ^{a} reaches the loss
 * through diagonal (elementwise) blocks only: learning signal L (ℓ of the
 * state the loss reads) × postsynaptic factors (those diagonal blocks, e.g.
 * ψ = ∂z[t+1]/∂u[t+1]) × presynaptic trace.
 */
export interface ThreeFactor {
  /** State whose direct loss signal ℓ is the learning signal (e.g. `z`). */
  readonly learningSignal: string;
  /** Block ids of the postsynaptic factors, from the learning signal's state back to the trace's state. */
  readonly post: readonly string[];
  /** Trace name (the presynaptic / eligibility factor), or a direct block id. */
  readonly pre: string;
  readonly equation: Rendered;
}

export interface UpdateSpec {
  readonly param: string;
  readonly shape: Shape;
  /** ΔW += Σ_terms λ · factor (the contraction of the table in the header) + ℓ^{W}. */
  readonly terms: readonly UpdateTerm[];
  /** Block id of ℓ^{W} = ∂loss/∂W, when the loss reads W. */
  readonly direct?: string;
  /**
   * When the loss reads a state at t (a bare `z` in `loss = …`): ΔW += ℓ^{b[t]} · G^{b,W}[t],
   * with ℓ^{b[t]} = ∂loss/∂b[t] (block id) and the trace from the previous step.
   */
  readonly lossPrevious: readonly { readonly block: string; readonly trace: string }[];
  /** Terms through factored filters (absent when the rule factors none for this parameter). */
  readonly filtered?: readonly FilteredTerm[];
  readonly threeFactor: readonly ThreeFactor[];
  readonly equation: Rendered;
}

/** The whole per-step program of an online rule. Executors run, every step: blocks → signals → traces → updates. */
export interface OnlineProgram {
  readonly version: 1;
  readonly model: string;
  /** The rule's name, or null for a rule made up by a search or a test. */
  readonly rule: string | null;
  readonly states: readonly { readonly name: string; readonly shape: Shape }[];
  readonly params: readonly { readonly name: string; readonly shape: Shape }[];
  /** Blocks needed each step (constant ones once). */
  readonly blocks: readonly BlockSpec[];
  readonly dropped: readonly DroppedBlock[];
  /** In evaluation order (the equations' order within a step). */
  readonly traces: readonly TraceSpec[];
  /** In evaluation order (reverse of the equations' order). */
  readonly signals: readonly SignalSpec[];
  /** One per trained parameter (parameters the rule gives no gradient are absent). */
  readonly updates: readonly UpdateSpec[];
  /** Parameters that get no update under the rule. */
  readonly untrained: readonly string[];
  /** `truncate K`: every carried trace restarts from zero at steps K, 2K, … (the gradient of truncated BPTT over windows of K). */
  readonly truncate?: number;
  /** `quantize traces …`: every carried trace is rounded (rules/kinds.ts quantizeTrace) as it is written, before the updates read it. */
  readonly quantize?: { readonly bits: number; readonly rounding: 'nearest' | 'stochastic'; readonly seed: number };
  /** The whole program as equations, one line each, plain text and LaTeX. */
  readonly equations: { readonly text: readonly string[]; readonly latex: readonly string[] };
}

/** Per-step block values, keyed by block id, in the layouts of the header. */
export type BlockValues = ReadonlyMap<string, Float64Array>;

/** Bytes carried between steps by a program: its carried traces at 8 bytes per value. */
/**
 * Whether a program uses structures beyond keep/diagonal/drop (factored filters, feedback or masked
 * blocks, truncation, quantisation): executors that do not know them must refuse it.
 */
export function usesExtendedKinds(p: OnlineProgram): boolean {
  return (
    p.truncate !== undefined ||
    p.quantize !== undefined ||
    p.blocks.some((b) => b.feedback !== undefined || b.mask !== undefined) ||
    p.traces.some((t) => t.filtered !== undefined || t.pattern !== undefined || t.terms.some((x) => x.pulled)) ||
    p.updates.some((u) => (u.filtered?.length ?? 0) > 0)
  );
}

export function carriedBytes(p: OnlineProgram): number {
  let n = 0;
  for (const t of p.traces) if (t.carried) n += 8 * t.valueShape.reduce((a, b) => a * b, 1);
  return n;
}
