// The checker: resolves names, folds dims and consts, infers the shape of
// every expression, orders a model's same-step equations (reporting cycles),
// and validates rules against their model. It never throws on bad input: each
// problem becomes one located diagnostic and checking goes on, so every other
// item of the file is still analysed.

import { elementwiseShape, formatShape as fmtShape, matmulShape, sameShape, sizeOf as numel, type Shape } from './shapes.js';
import { DEFAULT_SURROGATE_NAME, isSurrogateKind, makeSurrogate, SURROGATE_KINDS, SURROGATE_SCALE, type Surrogate } from './surrogates.js';
import type {
  Binary, Call, ConstDecl, Diagnostic, DimDecl, Expr, FunctionItem, GradItem, Ident, Index, Item, LetStmt,
  LossEq, ModelItem, NameRef, OdeEq, Program, Range, RelatedInfo, RuleItem, ShapeAnnot, SurrogateDecl, TimeRef, UpdateEq, VarDecl,
} from './ast.js';
import { BUILTINS, INITIALISERS } from './builtins.js';
import { APPROXIMATIONS, approximationArgs } from './approximations.js';
import { didYouMean } from './suggest.js';
import { formatBytes, SIZE_UNITS } from '../util/units.js';
import type { DiagnosticCodeOf } from '../util/codes.js';
import {
  readKey, type Checked, type FunctionScope, type HiddenState, type Initialiser, type ItemScope, type LossWindow, type ModelScope, type StepEquation, type Symbol,
} from './symbols.js';

/** Tensors larger than this are refused: 2²⁷ Float64 values is 1 GiB. */
export const MAX_ELEMENTS = 2 ** 27;
/** −(2 − 2⁻²³)·2¹²⁷: the lowest finite float32. */
export const LOWEST_FLOAT32 = -3.4028234663852886e38;
/** Longest delay `z[t-k]` accepted (each step of delay is one more copy of the state). */
export const MAX_DELAY = 10000;
const MAX_DIM = 2 ** 31 - 1;

export function check(program: Program, text: string): Checked {
  return new Checker(program, text).run();
}


type Env = {
  readonly scope: Map<string, Symbol>;
  /** Inside a model: the names of states with an update, lets, and the equation being checked. */
  readonly model?: {
    readonly updates: Map<string, UpdateEq | OdeEq>;
    readonly lets: Map<string, LetStmt>;
    /** Same-step reads collected for the current equation: `name@offset`. */
    reads: Set<string>;
    /** The same-step dependency edges of the current equation, with the reading range. */
    deps: { name: string; range: Range }[];
    /** Declared surrogates by name (`spike` and any other `surrogate NAME = …`). */
    readonly surrogates: ReadonlyMap<string, { readonly surrogate: Surrogate; readonly decl: Ident }>;
    /** Delayed reads `z[t-k]`: the longest delay of each quantity. */
    readonly delays: Map<string, { depth: number; role: 'state' | 'input' | 'target'; range: Range }>;
    /** `max_over_time(…)` / `mean_over_time(…)` calls seen. */
    readonly readouts: Set<Call>;
  };
  /** Inside a function: names defined so far (lets are sequential). */
  readonly defined?: Set<string>;
};

class Checker {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly fileSymbols = new Map<string, Symbol>();
  private readonly items = new Map<string, ItemScope>();
  private readonly shapes = new Map<Expr, Shape>();
  private readonly constants = new Map<Expr, number>();
  private readonly references = new Map<NameRef | TimeRef | Ident, Symbol>();
  private readonly itemDecls = new Map<string, Ident>();

  constructor(private readonly program: Program, private readonly text: string) {}

  run(): Checked {
    // File-level dims and consts first: every item may use them.
    for (const item of this.program.items) {
      if (item.kind === 'dim' || item.kind === 'const') this.declareFolded(item, this.fileSymbols);
    }
    for (const item of this.program.items) this.declareItem(item);
    // Functions and models before rules and grads, which refer to them.
    for (const item of this.program.items) {
      if (item.kind === 'function') this.items.set(item.name.name, this.checkFunction(item));
      else if (item.kind === 'model') this.items.set(item.name.name, this.checkModel(item));
    }
    for (const item of this.program.items) {
      if (item.kind === 'rule') this.checkRule(item);
      else if (item.kind === 'grad') this.checkGrad(item);
    }
    return {
      text: this.text, program: this.program, diagnostics: this.diagnostics, fileSymbols: this.fileSymbols,
      items: this.items, shapes: this.shapes, constants: this.constants, references: this.references,
    };
  }

  // ------------------------------------------------------------ reporting

  private error(range: Range, code: DiagnosticCodeOf<'error'>, message: string, related?: RelatedInfo[], data?: unknown): void {
    this.diagnostics.push({ range, severity: 'error', code, message, ...(related ? { related } : {}), ...(data !== undefined ? { data } : {}) });
  }

  private warning(range: Range, code: DiagnosticCodeOf<'warning'>, message: string, data?: unknown): void {
    this.diagnostics.push({ range, severity: 'warning', code, message, ...(data !== undefined ? { data } : {}) });
  }

  private src(node: { range: Range }): string {
    const s = this.text.slice(node.range.start, node.range.end).replace(/\s+/g, ' ');
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  }

  private duplicate(name: Ident, previous: Range, what: string): void {
    this.error(name.range, 'name.duplicate', `duplicate ${what} '${name.name}'`, [{ range: previous, message: `'${name.name}' is first declared here` }]);
  }

  private declare(scope: Map<string, Symbol>, sym: Symbol, ident: Ident, what: string): boolean {
    const prev = scope.get(sym.name);
    // A local name may shadow a file-level dim or const; anything else is a duplicate.
    if (prev && (scope === this.fileSymbols || this.fileSymbols.get(sym.name) !== prev)) {
      this.duplicate(ident, prev.decl, what);
      return false;
    }
    scope.set(sym.name, sym);
    this.references.set(ident, sym);
    return true;
  }

  // ------------------------------------------------------------ items

  private declareItem(item: Item): void {
    if (item.kind === 'dim' || item.kind === 'const') return;
    const prev = this.itemDecls.get(item.name.name);
    if (prev) {
      this.duplicate(item.name, prev.range, item.kind === 'rule' ? 'rule' : 'item');
      return;
    }
    this.itemDecls.set(item.name.name, item.name);
    this.references.set(item.name, { name: item.name.name, kind: 'item', decl: item.name.range, shape: [], node: item });
  }

  /** `dim n = 64` or `const alpha = exp(-1/20)`: fold to a number. */
  private declareFolded(decl: DimDecl | ConstDecl, scope: Map<string, Symbol>): void {
    const value = this.fold(decl.value, scope);
    // A declaration in error is still declared, poisoned: its uses stay quiet (one error per mistake).
    const poison = (): void => {
      this.declare(scope, { name: decl.name.name, kind: decl.kind, decl: decl.name.range, shape: [], poisoned: true, node: decl }, decl.name, decl.kind === 'dim' ? 'dimension' : 'constant');
    };
    if (value === undefined) return poison();
    if (decl.kind === 'dim') {
      if (!Number.isInteger(value) || value < 1) {
        this.error(decl.value.range, 'dim.invalid', value === 0
          ? `dimension '${decl.name.name}' is 0: a tensor with a zero-sized axis holds no values; give it at least 1`
          : `dimension '${decl.name.name}' must be a positive integer, got ${value}`);
        return poison();
      }
      if (value > MAX_DIM) {
        this.error(decl.value.range, 'dim.too-large', `dimension '${decl.name.name}' = ${value.toExponential(2)} is larger than ${MAX_DIM} (2³¹ − 1)`);
        return poison();
      }
    } else if (!Number.isFinite(value)) {
      this.error(decl.value.range, 'const.not-finite', `constant '${decl.name.name}' evaluates to ${value}`);
    }
    this.declare(scope, { name: decl.name.name, kind: decl.kind, decl: decl.name.range, shape: [], value, node: decl }, decl.name, decl.kind === 'dim' ? 'dimension' : 'constant');
  }

  private childScope(): Map<string, Symbol> {
    return new Map(this.fileSymbols);
  }

  private checkFunction(item: FunctionItem): FunctionScope {
    const scope = this.childScope();
    const defined = new Set<string>(this.fileSymbols.keys());
    // Local dims and consts may size the parameters.
    for (const stmt of item.body) {
      if (stmt.kind === 'dim' || stmt.kind === 'const') {
        this.shadowCheck(stmt.name, scope);
        this.declareFolded(stmt, scope);
        defined.add(stmt.name.name);
      }
    }
    for (const p of item.params) {
      const shape = p.shape ? this.shapeOf(p.shape, scope, p.name.name) : [];
      if (shape === undefined) {
        this.declare(scope, { name: p.name.name, kind: 'argument', decl: p.name.range, shape: [], poisoned: true, node: p }, p.name, 'parameter');
        defined.add(p.name.name);
        continue;
      }
      this.declare(scope, { name: p.name.name, kind: 'argument', decl: p.name.range, shape, node: p }, p.name, 'parameter');
      defined.add(p.name.name);
    }
    const env: Env = { scope, defined };
    for (const stmt of item.body) {
      if (stmt.kind !== 'let') continue;
      const shape = this.infer(stmt.value, env);
      if (shape === undefined) continue;
      if (this.declare(scope, { name: stmt.name.name, kind: 'let', decl: stmt.name.range, shape, node: stmt }, stmt.name, 'name')) {
        defined.add(stmt.name.name);
      }
    }
    if (!item.returns) {
      this.error(item.name.range, 'function.no-return', `function '${item.name.name}' has no 'return': list its outputs, e.g. 'return y'`);
    } else {
      for (const v of item.returns.values) this.infer(v, env);
    }
    return { kind: 'function', item, symbols: scope };
  }

  private shadowCheck(ident: Ident, scope: Map<string, Symbol>): void {
    // Local declarations may shadow file-level dims/consts; drop the file one
    // from this scope so `declare` does not call it a duplicate.
    const prev = scope.get(ident.name);
    if (prev && this.fileSymbols.get(ident.name) === prev) scope.delete(ident.name);
  }

  private checkModel(item: ModelItem): ModelScope {
    const scope = this.childScope();
    const updates = new Map<string, UpdateEq | OdeEq>();
    const lets = new Map<string, LetStmt>();
    const initialisers = new Map<string, Initialiser>();
    const initialStates = new Map<string, number>();
    const surrogates = new Map<string, { surrogate: Surrogate; decl: Ident }>();
    let loss: Expr | undefined;
    let lossRange: Range | undefined;
    let lossStmt: LossEq | undefined;

    for (const stmt of item.body) {
      if (stmt.kind === 'dim' || stmt.kind === 'const') {
        this.shadowCheck(stmt.name, scope);
        this.declareFolded(stmt, scope);
      }
    }
    for (const stmt of item.body) {
      if (stmt.kind === 'var') this.declareVar(stmt, scope, initialisers, initialStates);
      else if (stmt.kind === 'surrogate') this.declareSurrogate(stmt, scope, surrogates);
    }
    // Collect equations before inferring, so reads of `s[t+1]` and of later lets resolve.
    for (const stmt of item.body) {
      if (stmt.kind === 'update' || stmt.kind === 'ode') {
        const sym = scope.get(stmt.target.name);
        if (!sym) {
          this.unknownName(stmt.target, scope);
          continue;
        }
        this.references.set(stmt.target, sym);
        if (sym.kind !== 'state') {
          this.error(stmt.target.range, 'equation.not-state', `'${stmt.target.name}' is ${article(sym.kind)}, not a state: only states have updates ('state ${stmt.target.name}: […] = 0')`);
          continue;
        }
        const prev = updates.get(stmt.target.name);
        if (prev) {
          this.error(stmt.target.range, 'equation.duplicate', `state '${stmt.target.name}' has two equations`, [{ range: prev.target.range, message: 'the first equation' }]);
          continue;
        }
        updates.set(stmt.target.name, stmt);
      } else if (stmt.kind === 'let') {
        const prev = scope.get(stmt.name.name);
        if (prev) {
          this.duplicate(stmt.name, prev.decl, 'name');
          continue;
        }
        lets.set(stmt.name.name, stmt);
      } else if (stmt.kind === 'loss') {
        if (loss) {
          this.error(stmt.keyword, 'loss.duplicate', 'the model has two loss equations', lossRange ? [{ range: lossRange, message: 'the first loss' }] : undefined);
          continue;
        }
        loss = stmt.value;
        lossRange = stmt.keyword;
        lossStmt = stmt;
      }
    }
    if (updates.has('dt') || (!scope.has('dt') && [...updates.values()].some((u) => u.kind === 'ode'))) {
      for (const u of updates.values()) {
        if (u.kind === 'ode') this.error(u.range, 'ode.no-dt', `'d${u.target.name}/dt' needs a time step: add 'const dt = 1' to the model`);
      }
    }
    // dt ≤ 0 (or not finite) makes every `du/dt` step meaningless: dt = 0 freezes the states at
    // their initial values, so a model would train on constants; a negative dt runs time backwards.
    const dtSym = scope.get('dt');
    if (dtSym?.kind === 'const' && dtSym.value !== undefined && !(dtSym.value > 0 && Number.isFinite(dtSym.value))) {
      for (const u of updates.values()) {
        if (u.kind !== 'ode') continue;
        this.error(u.range, 'ode.bad-dt', `'d${u.target.name}/dt' needs a positive, finite time step; dt = ${dtSym.value} ${dtSym.value === 0 ? `would leave ${u.target.name} at its initial value forever` : 'is not one'}`,
          [{ range: dtSym.decl, message: 'dt is defined here' }]);
      }
    }

    const env: Env = {
      scope,
      model: { updates, lets, reads: new Set(), deps: [], surrogates, delays: new Map(), readouts: new Set() },
    };
    const deps = new Map<string, { name: string; range: Range }[]>();
    const directReads = new Map<string, Set<string>>();
    // Lets: infer in dependency order (a let may read a later let).
    const letShapes = new Map<string, Shape | undefined>();
    const visiting = new Set<string>();
    const inferLet = (name: string): Shape | undefined => {
      if (letShapes.has(name)) return letShapes.get(name);
      const stmt = lets.get(name)!;
      if (visiting.has(name)) return undefined; // cycle: reported by the ordering pass
      visiting.add(name);
      const saved = { reads: env.model!.reads, deps: env.model!.deps };
      env.model!.reads = new Set();
      env.model!.deps = [];
      // Shapes of lets read by this let are needed first.
      this.prefetchLets(stmt.value, lets, inferLet);
      const shape = this.infer(stmt.value, env);
      deps.set(name, env.model!.deps);
      directReads.set(name, env.model!.reads);
      env.model!.reads = saved.reads;
      env.model!.deps = saved.deps;
      visiting.delete(name);
      letShapes.set(name, shape);
      if (shape !== undefined) {
        const sym: Symbol = { name, kind: 'let', decl: stmt.name.range, shape, node: stmt };
        scope.set(name, sym);
        this.references.set(stmt.name, sym);
      }
      return shape;
    };
    for (const name of lets.keys()) inferLet(name);

    for (const [name, eq] of updates) {
      env.model!.reads = new Set();
      env.model!.deps = [];
      const state = scope.get(name)!;
      const value = eq.kind === 'ode' ? eq.value : eq.value;
      const shape = this.infer(value, env);
      deps.set(`${name}@1`, env.model!.deps);
      directReads.set(`${name}@1`, env.model!.reads);
      if (state.poisoned) continue;
      if (shape !== undefined && !sameShape(shape, state.shape) && !(shape.length === 0)) {
        this.error(value.range, 'shape.mismatch', `shape mismatch: ${this.src(value)} has shape ${fmtShape(shape)} but ${name} has shape ${fmtShape(state.shape)}`);
      }
    }
    if (loss) {
      env.model!.reads = new Set();
      env.model!.deps = [];
      const shape = this.infer(loss, env);
      directReads.set('loss', env.model!.reads);
      if (shape !== undefined && shape.length !== 0) {
        this.error(loss.range, 'loss.not-scalar', `the loss must be a scalar, but ${this.src(loss)} has shape ${fmtShape(shape)}: wrap it in sum(…) or mse(…)`);
      }
    }
    for (const [name, sym] of scope) {
      if (sym.kind === 'state' && !updates.has(name)) {
        this.warning(sym.decl, 'state.no-update', `state '${name}' has no equation: it keeps its initial value ('${name}[t+1] = …')`);
      }
    }

    const order = this.orderEquations(lets, updates, deps);
    // What each equation reads through lets: memoised per let, since lets
    // form long chains in generated models.
    const reads = new Map<string, Set<string>>();
    const letClosure = new Map<string, Set<string>>();
    const closure = (key: string): Set<string> => {
      const memo = letClosure.get(key);
      if (memo) return memo;
      const out = new Set<string>();
      letClosure.set(key, out); // a cyclic let sees a partial set; the cycle is reported anyway
      for (const r of directReads.get(key) ?? []) {
        const at = r.lastIndexOf('@');
        const name = r.slice(0, at);
        if (lets.has(name)) for (const x of closure(name)) out.add(x);
        else out.add(r);
      }
      return out;
    };
    for (const name of updates.keys()) reads.set(name, closure(`${name}@1`));
    if (loss) reads.set('loss', closure('loss'));

    const lossWindow = this.lossWindow(lossStmt, scope);
    const { hidden, readouts } = this.hiddenStates(env.model!, scope, initialStates);
    this.modellerWarnings(updates, lets, reads, scope, env);

    return {
      kind: 'model', item, symbols: scope, order, updates, initialisers, initialStates, reads, lossWindow, hidden, readouts,
      surrogates: new Map([...surrogates].filter(([, x]) => x.surrogate !== POISONED_SURROGATE).map(([n, x]) => [n, x.surrogate])),
      ...(surrogates.has(DEFAULT_SURROGATE_NAME) ? { surrogate: surrogates.get(DEFAULT_SURROGATE_NAME)!.surrogate } : {}), ...(loss ? { loss } : {}),
    };
  }

  /** `at last`, `for last K`, `after K` on the loss, resolved. */
  private lossWindow(stmt: LossEq | undefined, scope: Map<string, Symbol>): LossWindow {
    const w = stmt?.when;
    if (!w) return { kind: 'every' };
    if (w.kind === 'last') return { kind: 'last', range: w.range };
    const k = this.fold(w.count, scope);
    if (k === undefined) return { kind: 'every' };
    if (!Number.isInteger(k) || k < (w.from === 'end' ? 1 : 0)) {
      this.error(w.count.range, 'loss.window', w.from === 'end'
        ? `'for last K' needs a positive whole number of steps, got ${k}`
        : `'after K' needs a whole number of steps ≥ 0 (the steps skipped at the start), got ${k}`);
      return { kind: 'every' };
    }
    return { kind: 'window', from: w.from, count: k, range: w.range };
  }

  /**
   * The shift registers of the delays and the readouts over time, as states
   * with stable names: `z_delay1 … z_delayK` (register k holds z[t-k]),
   * `x_delay1 …` for data (register k holds x[t+1-k]), `max_over_time1`,
   * `mean_over_time1` and the mean's step counter `step_count`. A name the
   * user took gets a trailing `_`.
   */
  private hiddenStates(m: NonNullable<Env['model']>, scope: Map<string, Symbol>, initialStates: Map<string, number>): { hidden: HiddenState[]; readouts: Map<Call, string> } {
    const taken = new Set(scope.keys());
    const fresh = (base: string): string => {
      let n = base;
      while (taken.has(n)) n = `${n}_`;
      taken.add(n);
      return n;
    };
    const hidden: HiddenState[] = [];
    for (const [source, d] of m.delays) {
      const sym = scope.get(source)!;
      const initial = d.role === 'state' ? initialStates.get(source) ?? 0 : 0;
      for (let k = 1; k <= d.depth; k++) {
        const name = fresh(`${source}_delay${k}`);
        hidden.push({ kind: 'delay', name, shape: sym.shape, initial, range: d.range, source, sourceRole: d.role, depth: k });
        initialStates.set(name, initial);
      }
    }
    const readouts = new Map<Call, string>();
    const calls = [...m.readouts].sort((a, b) => a.range.start - b.range.start);
    let count: string | undefined;
    const seen = { max: 0, mean: 0 };
    for (const call of calls) {
      const kind = call.callee.name === 'max_over_time' ? 'max' : 'mean';
      const shape = this.shapes.get(call);
      if (!shape) continue;
      if (kind === 'mean' && count === undefined) {
        count = fresh('step_count');
        hidden.push({ kind: 'count', name: count, shape: [], initial: 0, range: call.range });
        initialStates.set(count, 0);
      }
      const name = fresh(`${call.callee.name}${++seen[kind]}`);
      // The running maximum starts below every value (the lowest finite float32, so both the Float64
      // engine and float32 TensorFlow.js hold it); the running mean at 0 (its first step overwrites it).
      const initial = kind === 'max' ? LOWEST_FLOAT32 : 0;
      hidden.push({ kind, name, shape, initial, range: call.range, call });
      initialStates.set(name, initial);
      readouts.set(call, name);
    }
    return { hidden, readouts };
  }

  /**
   * Warnings a modeller wants (LANGUAGE.md §6): a state whose own coefficient
   * in its update exceeds one in magnitude (it grows without bound), an ODE
   * with a positive rate, a non-positive time constant, and a target read by
   * the dynamics (the label leaks into the network).
   */
  private modellerWarnings(updates: Map<string, UpdateEq | OdeEq>, lets: Map<string, LetStmt>, reads: Map<string, Set<string>>, scope: Map<string, Symbol>, env: Env): void {
    for (const [name, sym] of scope) {
      const node = sym.node as ConstDecl | undefined;
      if (this.fileSymbols.get(name) === sym) continue;
      if (sym.kind === 'const' && /^tau/i.test(name) && sym.value !== undefined && sym.value <= 0 && node) {
        this.warning(node.value.range, 'const.time-constant', `time constant '${name}' = ${sym.value} is not positive: exp(-dt/${name}) ${sym.value < 0 ? 'exceeds 1 and the state grows without bound' : 'is undefined'}`);
      }
    }
    for (const [name, eq] of updates) {
      const coef = ownCoefficient(eq.value, name, this.constants);
      if (coef !== undefined) {
        if (eq.kind === 'update' && Math.abs(coef) > 1) {
          this.warning(eq.value.range, 'state.unstable', `unstable: '${name}' enters its own update with coefficient ${fmtNum(coef)}, |${fmtNum(coef)}| > 1, so it grows without bound; a decay is exp(-dt/tau) with tau > 0`);
        } else if (eq.kind === 'ode' && coef > 0) {
          this.warning(eq.value.range, 'state.unstable', `unstable: d${name}/dt grows with ${name} (rate ${fmtNum(coef)} > 0); a leak is -${name}/tau with tau > 0`);
        }
      }
      const targets = [...(reads.get(name) ?? [])].map((r) => r.slice(0, r.lastIndexOf('@'))).filter((n) => scope.get(n)?.kind === 'target');
      if (targets.length) {
        const at = findRead(eq.value, targets, lets) ?? eq.target.range;
        this.warning(at, 'target.in-dynamics', `the dynamics of '${name}' read the target '${targets[0]}': the label leaks into the network, which can then copy it instead of learning; read targets only in the loss`);
      }
    }
    void env;
  }

  /** Make sure every let read by `e` has its shape inferred (recursion through `inferLet`). */
  private prefetchLets(e: Expr, lets: Map<string, LetStmt>, inferLet: (n: string) => Shape | undefined): void {
    walk(e, (n) => {
      if (n.kind === 'name' && lets.has(n.name)) inferLet(n.name);
    });
  }

  /**
   * Topological order of lets and updates by same-step reads; a cycle is
   * reported once, at the read that closes it, with the whole loop named.
   */
  private orderEquations(lets: Map<string, LetStmt>, updates: Map<string, UpdateEq | OdeEq>, deps: Map<string, { name: string; range: Range }[]>): StepEquation[] {
    const nodes: { key: string; eq: StepEquation }[] = [];
    for (const [n, l] of lets) nodes.push({ key: n, eq: l });
    for (const [n, u] of updates) nodes.push({ key: `${n}@1`, eq: u });
    // Keep source order where possible: sort nodes by position first.
    nodes.sort((a, b) => a.eq.range.start - b.eq.range.start);
    const byKey = new Map(nodes.map((n) => [n.key, n]));
    const state = new Map<string, 0 | 1 | 2>();
    const out: StepEquation[] = [];
    const path: string[] = [];
    const label = (k: string): string => (k.endsWith('@1') ? `${k.slice(0, -2)}[t+1]` : k);
    const visit = (key: string): void => {
      const s = state.get(key) ?? 0;
      if (s === 2) return;
      if (s === 1) return;
      state.set(key, 1);
      path.push(key);
      for (const d of deps.get(key) ?? []) {
        if (!byKey.has(d.name)) continue;
        if (state.get(d.name) === 1) {
          const loop = path.slice(path.indexOf(d.name)).concat(d.name).map(label).join(' → ');
          this.error(d.range, 'equation.cycle', `same-step cycle: ${loop}; read the previous step's value instead (e.g. '${label(d.name).replace('[t+1]', '')}')`);
          continue;
        }
        visit(d.name);
      }
      path.pop();
      state.set(key, 2);
      out.push(byKey.get(key)!.eq);
    };
    for (const n of nodes) visit(n.key);
    return out;
  }

  private declareVar(stmt: VarDecl, scope: Map<string, Symbol>, inits: Map<string, Initialiser>, initialStates: Map<string, number>): void {
    const shape = stmt.shape ? this.shapeOf(stmt.shape, scope, stmt.name.name) : [];
    if (shape === undefined) {
      this.declare(scope, { name: stmt.name.name, kind: stmt.role, decl: stmt.name.range, shape: [], poisoned: true, node: stmt }, stmt.name, stmt.role);
      return;
    }
    if (!this.declare(scope, { name: stmt.name.name, kind: stmt.role, decl: stmt.name.range, shape, node: stmt }, stmt.name, stmt.role)) return;
    if (stmt.role === 'param') {
      const init: Initialiser | undefined = stmt.data
        ? { kind: 'data', file: stmt.data.file, dataset: stmt.data.dataset ?? stmt.name.name, range: stmt.data.range }
        : stmt.init ? this.checkInitialiser(stmt.init, scope) : { kind: 'normal' as const, mean: 0, std: 0.1 };
      if (stmt.data && stmt.init) this.error(stmt.data.range, 'init.data-and-init', `a param takes either an initialiser '~ …' or data '= data(…)', not both`);
      if (init) inits.set(stmt.name.name, init);
    } else if (stmt.init) {
      this.error(stmt.init.range, 'var.init-not-param', `only params take an initialiser '~ …'; a ${stmt.role} ${stmt.role === 'state' ? "takes an initial value '= 0'" : 'is read from the data'}`);
    }
    if (stmt.role === 'state') {
      const v = stmt.initial ? this.fold(stmt.initial, scope) : 0;
      if (v !== undefined) initialStates.set(stmt.name.name, v);
    } else if (stmt.initial) {
      this.error(stmt.initial.range, 'var.initial-not-state', `only states take an initial value; for a param write '~ normal(0, 0.1)'`);
    }
  }

  private checkInitialiser(init: Call | NameRef, scope: Map<string, Symbol>): Initialiser | undefined {
    const name = init.kind === 'call' ? init.callee.name : init.name;
    const range = init.kind === 'call' ? init.callee.range : init.range;
    const spec = INITIALISERS.get(name);
    if (!spec) {
      const hint = didYouMean(name, [...INITIALISERS.keys()]);
      this.error(range, 'init.unknown', `unknown initialiser '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (normal, uniform, zeros, glorot)`, undefined, hint ? { suggestion: hint } : undefined);
      return undefined;
    }
    const args = init.kind === 'call' ? init.args : [];
    if (args.length !== spec.arity) {
      this.error(init.range, 'init.arity', `'${name}' takes ${spec.arity} argument${spec.arity === 1 ? '' : 's'}: ${spec.signature}`);
      return undefined;
    }
    const vals = args.map((a) => this.fold(a, scope));
    if (vals.some((v) => v === undefined)) return undefined;
    switch (name) {
      case 'normal':
        if (vals[1]! < 0) this.error(args[1]!.range, 'init.negative-std', 'the standard deviation must be ≥ 0');
        return { kind: 'normal', mean: vals[0]!, std: vals[1]! };
      case 'uniform':
        if (vals[1]! <= vals[0]!) this.error(init.range, 'init.empty-range', `uniform(lo, hi) needs lo < hi, got ${vals[0]} and ${vals[1]}`);
        return { kind: 'uniform', lo: vals[0]!, hi: vals[1]! };
      case 'zeros':
        return { kind: 'zeros' };
      default:
        return { kind: 'glorot' };
    }
  }

  /**
   * `surrogate NAME = KIND(param = v, scale = γ)`: a named pseudo-derivative,
   * called as `NAME(x)` (`spike` is the default name). Several per model.
   */
  private declareSurrogate(stmt: SurrogateDecl, scope: Map<string, Symbol>, surrogates: Map<string, { surrogate: Surrogate; decl: Ident }>): void {
    const name = stmt.name;
    const prev = surrogates.get(name.name);
    if (prev) {
      this.error(name.range, 'surrogate.duplicate', `surrogate '${name.name}' is declared twice; keep one line (the second would silently replace the first)`, [{ range: prev.decl.range, message: `'${name.name}' is first declared here` }]);
      return;
    }
    if (name.name !== DEFAULT_SURROGATE_NAME && BUILTINS.has(name.name)) {
      this.error(name.range, 'surrogate.name', `'${name.name}' is a builtin function; give the surrogate another name, e.g. 'surrogate ${name.name}_spike = …' (and call it as ${name.name}_spike(x))`);
      return;
    }
    const clash = scope.get(name.name);
    if (clash && this.fileSymbols.get(name.name) !== clash) {
      this.duplicate(name, clash.decl, 'name');
      return;
    }
    const surrogate = this.checkSurrogate(stmt.fn, name.name, scope);
    // A surrogate in error is still a name: calls of it are not reported again.
    surrogates.set(name.name, { surrogate: surrogate ?? POISONED_SURROGATE, decl: name });
    this.references.set(name, { name: name.name, kind: 'surrogate', decl: name.range, shape: [], node: stmt });
  }

  private checkSurrogate(fn: Call | NameRef, declName: string, scope: Map<string, Symbol>): Surrogate | undefined {
    const fname = fn.kind === 'call' ? fn.callee.name : fn.name;
    const range = fn.kind === 'call' ? fn.callee.range : fn.range;
    const kinds = [...SURROGATE_KINDS.keys()];
    if (!isSurrogateKind(fname)) {
      const hint = didYouMean(fname, kinds);
      this.error(range, 'surrogate.unknown', `unknown surrogate '${fname}'${hint ? ` — did you mean '${hint}'?` : ''} (${kinds.join(', ')})`, undefined, hint ? { suggestion: hint } : undefined);
      return undefined;
    }
    const spec = SURROGATE_KINDS.get(fname)!;
    const usage = `${fname}(${spec.param} = ${spec.default}, scale = 1)`;
    let value = spec.default;
    let scale: number = SURROGATE_SCALE.default;
    if (fn.kind === 'call') {
      if (fn.args.length > 1) {
        this.error(fn.args[1]!.range, 'surrogate.arity', `'${fname}' takes its ${spec.param} and a scale, the scale by name: ${usage}`);
        return undefined;
      }
      const positional = fn.args[0];
      const named = new Map<string, Expr>();
      for (const a of fn.named) {
        if (a.name.name !== spec.param && a.name.name !== SURROGATE_SCALE.name) {
          const hint = didYouMean(a.name.name, [spec.param, SURROGATE_SCALE.name]);
          this.error(a.name.range, 'surrogate.param', `'${fname}' has no parameter '${a.name.name}'${hint ? ` — did you mean '${hint}'?` : ''}; it takes '${spec.param}' and '${SURROGATE_SCALE.name}': ${usage}`);
          return undefined;
        }
        if (named.has(a.name.name) || (a.name.name === spec.param && positional)) {
          this.error(a.name.range, 'surrogate.param', `'${a.name.name}' is given twice`);
          return undefined;
        }
        named.set(a.name.name, a.value);
      }
      const sharp = named.get(spec.param) ?? positional;
      for (const [what, arg] of [[spec.param, sharp], [SURROGATE_SCALE.name, named.get(SURROGATE_SCALE.name)]] as const) {
        if (!arg) continue;
        const v = this.fold(arg, scope);
        if (v === undefined) return undefined;
        if (!(v > 0) || !Number.isFinite(v)) {
          this.error(arg.range, 'surrogate.param-range', `'${what}' must be a positive number, got ${v}${what === SURROGATE_SCALE.name ? ' (a scale of 0 would stop every gradient through the spikes: use stop(…) for that)' : ''}`);
          return undefined;
        }
        if (what === SURROGATE_SCALE.name) scale = v;
        else value = v;
      }
    }
    return makeSurrogate(fname, value, scale, declName);
  }

  private checkRule(item: RuleItem): void {
    const target = this.items.get(item.model.name);
    let model: ModelScope | undefined;
    if (!target) {
      const models = [...this.items.values()].filter((s) => s.kind === 'model').map((s) => s.item.name.name);
      const hint = didYouMean(item.model.name, models);
      this.error(item.model.range, 'rule.unknown-model', `rule '${item.name.name}' is for an unknown model '${item.model.name}'${hint ? ` — did you mean '${hint}'?` : ''}`, undefined, hint ? { suggestion: hint } : undefined);
    } else if (target.kind !== 'model') {
      this.error(item.model.range, 'rule.not-model', `'${item.model.name}' is a ${target.kind}, not a model: rules are for models`);
    } else {
      model = target;
      const sym = this.references.get(target.item.name);
      if (sym) this.references.set(item.model, sym);
      if (!model.loss) this.error(item.model.range, 'rule.no-loss', `model '${item.model.name}' has no loss: add 'loss = …' so a rule has something to minimise`);
    }
    let schedules = 0;
    let truncates = 0;
    let quantizes = 0;
    for (const stmt of item.body) {
      switch (stmt.kind) {
        case 'approximate':
          if (model) this.checkApprox(stmt, model);
          break;
        case 'schedule':
          if (++schedules > 1) this.error(stmt.range, 'rule.two-schedules', 'a rule has one schedule');
          break;
        case 'objective':
          if (!['multiplications', 'memory', 'time'].includes(stmt.objective.name)) {
            const hint = didYouMean(stmt.objective.name, ['multiplications', 'memory', 'time']);
            this.error(stmt.objective.range, 'rule.unknown-objective', `unknown objective '${stmt.objective.name}'${hint ? ` — did you mean '${hint}'?` : ''} (multiplications, memory, time)`, undefined, hint ? { suggestion: hint } : undefined);
          }
          break;
        case 'truncate':
          if (++truncates > 1) this.error(stmt.range, 'rule.two-truncations', 'a rule truncates once');
          if (!Number.isInteger(stmt.steps) || stmt.steps < 1) this.error(stmt.stepsRange, 'rule.truncate-range', `truncate needs a whole number of steps ≥ 1, got ${stmt.steps}`);
          break;
        case 'quantize':
          if (++quantizes > 1) this.error(stmt.range, 'rule.two-quantizations', 'a rule quantizes its traces once');
          if (!Number.isInteger(stmt.bits) || stmt.bits < 2 || stmt.bits > 24) this.error(stmt.bitsRange, 'rule.quantize-range', `quantize traces needs 2 to 24 bits (a sign bit and at least one more), got ${stmt.bits}`);
          if (!Number.isInteger(stmt.seed) || stmt.seed < 0) this.error(stmt.range, 'rule.quantize-range', `the seed of stochastic rounding is a whole number ≥ 0, got ${stmt.seed}`);
          break;
        case 'limit':
          if (stmt.what.name !== 'memory') this.error(stmt.what.range, 'rule.unknown-limit', `unknown limit '${stmt.what.name}': write 'limit memory 128 KiB'`);
          if (stmt.unit && memoryUnit(stmt.unit.name) === undefined) {
            this.error(stmt.unit.range, 'rule.unknown-unit', `unknown unit '${stmt.unit.name}' (${Object.keys(SIZE_UNITS).join(', ')})`);
          }
          if (!(stmt.value > 0)) this.error(stmt.range, 'rule.limit-range', 'a memory limit must be positive');
          break;
      }
    }
    this.items.set(item.name.name, { kind: 'rule', item, ...(model ? { model } : {}) });
  }

  private checkApprox(stmt: Extract<RuleItem['body'][number], { kind: 'approximate' }>, model: ModelScope): void {
    this.checkApproxArgs(stmt);
    const of = stmt.of.name;
    let key: string;
    if (of === 'loss') {
      if (!model.loss) return;
      key = 'loss';
    } else {
      const sym = model.symbols.get(of);
      if (!sym) {
        this.unknownName(stmt.of, model.symbols);
        return;
      }
      this.references.set(stmt.of, sym);
      if (sym.kind !== 'state' || !model.updates.has(of) || stmt.ofOffset !== 1) {
        this.error(stmt.of.range, 'rule.unknown-equation', `d(${of}${stmt.ofOffset ? '[t+1]' : ''})/d(…) names no equation: write d(s[t+1])/d(…) for a state s with an update, or d(loss)/d(…)`);
        return;
      }
      key = of;
    }
    const wrt = model.symbols.get(stmt.wrt.name);
    const register = model.hidden.find((h) => h.name === stmt.wrt.name);
    if (!wrt && register?.kind === 'delay') {
      // A delay register (`z_delay2` holds z[t-2]): the block exists when the equation reads that delay.
      const key = readKey(register.source, register.sourceRole === 'state' ? -register.depth : 1 - register.depth);
      if (!(model.reads.get(of === 'loss' ? 'loss' : of) ?? new Set()).has(key)) {
        const ofLabel = of === 'loss' ? 'loss' : `${of}[t+1]`;
        this.error(stmt.wrt.range, 'rule.no-block', `the block d(${ofLabel})/d(${stmt.wrt.name}) does not exist: ${ofLabel} does not read ${register.source} ${register.depth} step${register.depth === 1 ? '' : 's'} back, which ${stmt.wrt.name} holds`);
      }
      return;
    }
    if (!wrt) {
      this.unknownName(stmt.wrt, model.symbols, model.hidden.map((h) => h.name));
      return;
    }
    this.references.set(stmt.wrt, wrt);
    const reads = model.reads.get(key) ?? new Set();
    const offset = wrt.kind === 'input' || wrt.kind === 'target' ? 1 : wrt.kind === 'param' ? 0 : stmt.wrtOffset;
    if (!reads.has(readKey(stmt.wrt.name, offset))) {
      const ofLabel = of === 'loss' ? 'loss' : `${of}[t+1]`;
      const wrtLabel = offset === 1 && wrt.kind === 'state' ? `${stmt.wrt.name}[t+1]` : stmt.wrt.name;
      const has = [...reads].map((r) => (r.endsWith('@1') && model.symbols.get(r.slice(0, -2))?.kind === 'state' ? `${r.slice(0, -2)}[t+1]` : r.split('@')[0]!));
      this.error(stmt.wrt.range, 'rule.no-block', `the block d(${ofLabel})/d(${wrtLabel}) does not exist: ${ofLabel} does not read ${wrtLabel}${has.length ? ` (it reads ${[...new Set(has)].join(', ')})` : ''}`);
    }
  }

  /** The arguments of `random(scale = 0.1, seed = 2)`, `top(4)`: known names, once each, in range; required ones present. */
  private checkApproxArgs(stmt: Extract<RuleItem['body'][number], { kind: 'approximate' }>): void {
    const known = approximationArgs(stmt.approx);
    const written = APPROXIMATIONS.find((a) => a.kind === stmt.approx)!.written;
    const args = stmt.args ?? [];
    if (!known.length && args.length) {
      this.error(stmt.approxRange, 'rule.approx-args', `'${written}' takes no arguments`);
      return;
    }
    const seen = new Set<string>();
    for (const a of args) {
      const k = known.find((x) => x.name === a.name);
      if (!k) {
        this.error(a.range, 'rule.approx-args', a.name.startsWith('#')
          ? `'${written}' takes ${known.length} argument${known.length === 1 ? '' : 's'} (${known.map((x) => x.name).join(', ')}), not ${args.length}`
          : `'${written}' has no argument '${a.name}' (it takes ${known.map((x) => x.name).join(', ')})`);
        continue;
      }
      if (seen.has(a.name)) this.error(a.range, 'rule.approx-args', `'${a.name}' is given twice`);
      seen.add(a.name);
      if ((k.integer && !Number.isInteger(a.value)) || (k.exclusiveMin ? a.value <= k.min : a.value < k.min)) {
        this.error(a.range, 'rule.approx-args', `'${a.name}' of '${written}' must be ${k.integer ? 'a whole number' : 'a number'} ${k.exclusiveMin ? '>' : '≥'} ${k.min}, got ${a.value}`);
      }
    }
    for (const k of known) {
      if (k.default === null && !seen.has(k.name)) this.error(stmt.approxRange, 'rule.approx-args', `'${written}' needs '${k.name}' (${k.description}), as in ${written}(${k.name === 'k' ? 4 : 1})`);
    }
  }

  private checkGrad(item: GradItem): void {
    const target = this.items.get(item.of.name);
    if (!target || target.kind !== 'function') {
      const fns = [...this.items.values()].filter((s) => s.kind === 'function').map((s) => s.item.name.name);
      const hint = didYouMean(item.of.name, fns);
      this.error(item.of.range, 'grad.unknown-function', `grad(${item.of.name}): '${item.of.name}' is not a function in this file${hint ? ` — did you mean '${hint}'?` : ''}`, undefined, hint ? { suggestion: hint } : undefined);
      this.items.set(item.name.name, { kind: 'grad', item });
      return;
    }
    const sym = this.references.get(target.item.name);
    if (sym) this.references.set(item.of, sym);
    const outs = target.item.returns?.values ?? [];
    const shapes = outs.map((o) => this.shapes.get(o));
    if (outs.length !== 1 || (shapes[0] && shapes[0].length !== 0)) {
      this.error(item.of.range, 'grad.not-scalar', `grad(${item.of.name}) needs a function with one scalar output; '${item.of.name}' returns ${outs.length === 1 ? `shape ${fmtShape(shapes[0] ?? [])}` : `${outs.length} values`}`);
    }
    this.items.set(item.name.name, { kind: 'grad', item, of: target });
  }

  // ------------------------------------------------------------ shapes and folding

  private shapeOf(annot: ShapeAnnot, scope: Map<string, Symbol>, owner: string): Shape | undefined {
    const dims: number[] = [];
    for (const d of annot.dims) {
      const v = this.fold(d, scope);
      if (v === undefined) return undefined;
      if (!Number.isInteger(v) || v < 1) {
        this.error(d.range, 'shape.bad-dim', `a dimension must be a positive integer, got ${v}`);
        return undefined;
      }
      dims.push(v);
    }
    const n = numel(dims);
    if (n > MAX_ELEMENTS) {
      this.error(annot.range, 'shape.too-large', `'${owner}' of shape ${fmtShape(dims)} would hold ${n.toExponential(2)} values (${formatBytes(n * 8)}); the limit is ${MAX_ELEMENTS.toExponential(2)} values (${formatBytes(MAX_ELEMENTS * 8)})`);
      return undefined;
    }
    return dims;
  }

  /** Fold a constant scalar expression; report and return undefined otherwise. */
  private fold(e: Expr, scope: Map<string, Symbol>): number | undefined {
    const v = this.tryFold(e, scope, true);
    if (v !== undefined) this.constants.set(e, v);
    return v;
  }

  private tryFold(e: Expr, scope: Map<string, Symbol>, report: boolean): number | undefined {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'name': {
        const sym = scope.get(e.name);
        if (sym?.poisoned) {
          this.references.set(e, sym);
          return undefined;
        }
        if (sym && (sym.kind === 'dim' || sym.kind === 'const') && sym.value !== undefined) {
          this.references.set(e, sym);
          return sym.value;
        }
        if (report) {
          if (sym) this.error(e.range, 'const.not-constant', `'${e.name}' is ${article(sym.kind)}, not a constant: dims, consts and shapes must be known before the model runs`);
          else this.unknownName(e, scope);
        }
        return undefined;
      }
      case 'unary': {
        const v = this.tryFold(e.operand, scope, report);
        return v === undefined ? undefined : e.op === '-' ? -v : v;
      }
      case 'binary': {
        const a = this.tryFold(e.left, scope, report);
        const b = this.tryFold(e.right, scope, report);
        if (a === undefined || b === undefined) return undefined;
        switch (e.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': return a / b;
          case '^': return a ** b;
          default:
            if (report) this.error(e.opRange, 'const.not-constant', "'@' is a matrix product; it cannot appear in a constant");
            return undefined;
        }
      }
      case 'call': {
        const fn = SCALAR_FOLDS[e.callee.name];
        if (!fn || e.named.length) {
          if (report) this.error(e.range, 'const.not-constant', `'${e.callee.name}(…)' cannot be folded to a constant`);
          return undefined;
        }
        const args = e.args.map((a) => this.tryFold(a, scope, report));
        if (args.some((a) => a === undefined)) return undefined;
        if (args.length !== fn.length) {
          if (report) this.error(e.range, 'call.arity', `'${e.callee.name}' takes ${fn.length} argument${fn.length === 1 ? '' : 's'}`);
          return undefined;
        }
        return fn(...(args as number[]));
      }
      case 'error':
        return undefined;
      default:
        if (report) this.error(e.range, 'const.not-constant', `${this.src(e)} is not a constant`);
        return undefined;
    }
  }

  private unknownName(ident: { name: string; range: Range }, scope: Map<string, Symbol>, extra: string[] = []): void {
    const candidates = [...scope.keys(), ...extra];
    const hint = didYouMean(ident.name, candidates);
    this.error(ident.range, 'name.unknown', `unknown name '${ident.name}'${hint ? ` — did you mean '${hint}'?` : ''}`, undefined, hint ? { suggestion: hint } : undefined);
  }

  /** Infer the shape of `e`; undefined when it is ill-formed (already reported). */
  private infer(e: Expr, env: Env): Shape | undefined {
    if (this.depthChecked.has(e)) return this.inferChecked(e, env);
    const depth = exprDepth(e);
    if (depth > MAX_EXPR_DEPTH) {
      this.error(e.range, 'expr.too-deep', `this expression nests ${depth} levels deep; Eligo accepts up to ${MAX_EXPR_DEPTH}: split it with 'let'`);
      return undefined;
    }
    walk(e, (x) => this.depthChecked.add(x));
    return this.inferChecked(e, env);
  }

  private readonly depthChecked = new WeakSet<Expr>();

  private inferChecked(e: Expr, env: Env): Shape | undefined {
    const s = this.inferInner(e, env);
    if (s !== undefined) {
      this.shapes.set(e, s);
      const c = this.tryFoldQuiet(e, env);
      if (c !== undefined) this.constants.set(e, c);
    }
    return s;
  }

  private tryFoldQuiet(e: Expr, env: Env): number | undefined {
    if (e.kind === 'number') return e.value;
    if (e.kind === 'name') {
      const sym = env.scope.get(e.name);
      return sym && (sym.kind === 'dim' || sym.kind === 'const') ? sym.value : undefined;
    }
    if (e.kind === 'unary') {
      const v = this.constants.get(e.operand);
      return v === undefined ? undefined : e.op === '-' ? -v : v;
    }
    if (e.kind === 'binary' && e.op !== '@') {
      const a = this.constants.get(e.left);
      const b = this.constants.get(e.right);
      if (a === undefined || b === undefined) return undefined;
      return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : e.op === '/' ? a / b : a ** b;
    }
    if (e.kind === 'call' && SCALAR_FOLDS[e.callee.name] && e.named.length === 0) {
      const args = e.args.map((a) => this.constants.get(a));
      const fn = SCALAR_FOLDS[e.callee.name]!;
      if (args.length === fn.length && args.every((a) => a !== undefined)) return fn(...(args as number[]));
    }
    return undefined;
  }

  private inferInner(e: Expr, env: Env): Shape | undefined {
    switch (e.kind) {
      case 'number':
        return [];
      case 'error':
        return undefined;
      case 'list':
        this.error(e.range, 'expr.list', 'a list [ … ] is only allowed as the shape or permutation argument of reshape/transpose');
        return undefined;
      case 'name':
        return this.inferName(e, env);
      case 'time':
        return this.inferTime(e, env);
      case 'unary':
        return this.infer(e.operand, env);
      case 'binary':
        return this.inferBinary(e, env);
      case 'index':
        return this.inferIndex(e, env);
      case 'call':
        return this.inferCall(e, env);
    }
  }

  private inferName(e: NameRef, env: Env): Shape | undefined {
    const sym = env.scope.get(e.name);
    const m = env.model;
    if (!sym) {
      if (m?.lets.has(e.name)) {
        // A let whose own definition failed: already reported there.
        return undefined;
      }
      if (BUILTINS.has(e.name)) {
        this.error(e.range, 'name.builtin-as-value', `'${e.name}' is a function: call it, e.g. '${BUILTINS.get(e.name)!.signature}'`);
        return undefined;
      }
      this.unknownName(e, env.scope, m ? [...m.lets.keys()] : []);
      return undefined;
    }
    if (sym.poisoned) {
      // Quiet, but still a read: a rule about this equation must not report a missing block.
      this.references.set(e, sym);
      if (m && (sym.kind === 'state' || sym.kind === 'param')) m.reads.add(readKey(e.name, 0));
      else if (m && (sym.kind === 'input' || sym.kind === 'target')) m.reads.add(readKey(e.name, 1));
      return undefined;
    }
    if (env.defined && !env.defined.has(e.name)) {
      this.error(e.range, 'name.before-definition', `'${e.name}' is used before its definition`, [{ range: sym.decl, message: 'defined here' }]);
      return undefined;
    }
    this.references.set(e, sym);
    if (m) {
      if (sym.kind === 'let') {
        m.reads.add(readKey(e.name, 0));
        m.deps.push({ name: e.name, range: e.range });
      } else if (sym.kind === 'state' || sym.kind === 'param') {
        m.reads.add(readKey(e.name, 0));
      } else if (sym.kind === 'input' || sym.kind === 'target') {
        m.reads.add(readKey(e.name, 1));
      }
    } else if (sym.kind === 'state' || sym.kind === 'input' || sym.kind === 'target' || sym.kind === 'param') {
      this.error(e.range, 'name.outside-model', `'${e.name}' is ${article(sym.kind)}; those exist only inside a model`);
    }
    return sym.shape;
  }

  private inferTime(e: TimeRef, env: Env): Shape | undefined {
    const m = env.model;
    const sym = env.scope.get(e.name.name);
    if (!m) {
      this.error(e.range, 'time.outside-model', `time index '${this.src(e)}' is only meaningful inside a model`);
      return undefined;
    }
    if (!sym) {
      this.unknownName(e.name, env.scope);
      return undefined;
    }
    this.references.set(e, sym);
    this.references.set(e.name, sym);
    if (sym.poisoned) {
      m.reads.add(readKey(e.name.name, sym.kind === 'state' ? e.offset : 1));
      return undefined;
    }
    if (e.invalid !== undefined) {
      this.error(e.range, 'time.index', `'${e.invalid}' is not a time index: write ${e.name.name}[t] (this step), ${e.name.name}[t+1] (the step being computed) or a constant delay ${e.name.name}[t-k] / ${e.name.name}[t+1-k] with k ≥ 1`);
      return undefined;
    }
    if (e.delay) return this.inferDelayed(e, sym, m, env.scope);
    if (sym.kind === 'state') {
      if (e.offset === 1) {
        if (!m.updates.has(e.name.name)) {
          this.error(e.range, 'time.no-update', `'${e.name.name}[t+1]' is read but state '${e.name.name}' has no equation`);
          return undefined;
        }
        m.deps.push({ name: `${e.name.name}@1`, range: e.range });
      }
      m.reads.add(readKey(e.name.name, e.offset));
      return sym.shape;
    }
    if (sym.kind === 'input' || sym.kind === 'target') {
      // x[t] is the input one step back: a delay of one (x[t+1-1]).
      if (e.offset === 0) return this.needDelay(e, sym, m, 1);
      m.reads.add(readKey(e.name.name, 1));
      return sym.shape;
    }
    this.error(e.range, 'time.not-temporal', `'${e.name.name}' is ${article(sym.kind)}; only states, inputs and targets have a time index`);
    return undefined;
  }

  /**
   * `z[t-k]` or `x[t+1-k]`: the value k steps before `z[t]` / `x[t+1]`. The
   * graph keeps a shift register of k states for it (graph/build.ts), so
   * every schedule, trace and cost sees the delay as ordinary state.
   */
  private inferDelayed(e: TimeRef, sym: Symbol, m: NonNullable<Env['model']>, scope: Map<string, Symbol>): Shape | undefined {
    const k = this.fold(e.delay!, scope);
    if (k === undefined) return undefined;
    if (!Number.isInteger(k) || k < 1) {
      this.error(e.delay!.range, 'time.delay', `a delay must be a positive integer number of steps, got ${k}: write ${e.name.name}[t-1], ${e.name.name}[t-2], …`);
      return undefined;
    }
    if (k > MAX_DELAY) {
      this.error(e.delay!.range, 'time.delay', `a delay of ${k} steps is longer than ${MAX_DELAY}: Eligo keeps one copy of '${e.name.name}' per step of delay`);
      return undefined;
    }
    if (sym.kind === 'state') {
      // z[t+1-k] with k = 1 is z[t]: no delay.
      const depth = k - e.offset;
      if (depth === 0) {
        m.reads.add(readKey(e.name.name, 0));
        return sym.shape;
      }
      return this.needDelay(e, sym, m, depth);
    }
    if (sym.kind === 'input' || sym.kind === 'target') {
      // x[t+1-k] is k steps before x[t+1]; x[t-k] is k + 1 steps before it.
      return this.needDelay(e, sym, m, k + 1 - e.offset);
    }
    this.error(e.range, 'time.not-temporal', `'${e.name.name}' is ${article(sym.kind)}; only states, inputs and targets have a time index`);
    return undefined;
  }

  private needDelay(e: TimeRef, sym: Symbol, m: NonNullable<Env['model']>, depth: number): Shape | undefined {
    if (numel(sym.shape) * depth > MAX_ELEMENTS) {
      this.error(e.range, 'time.delay', `a delay of ${depth} steps of '${sym.name}' ${fmtShape(sym.shape)} would hold ${(numel(sym.shape) * depth).toExponential(2)} values; the limit is ${MAX_ELEMENTS.toExponential(2)}`);
      return undefined;
    }
    const prev = m.delays.get(sym.name);
    if (!prev || prev.depth < depth) m.delays.set(sym.name, { depth, role: sym.kind as 'state' | 'input' | 'target', range: prev?.range ?? e.range });
    // A delayed read is no same-step dependency: the register holds a value of an earlier step.
    m.reads.add(readKey(sym.name, sym.kind === 'state' ? -depth : 1 - depth));
    return sym.shape;
  }

  private inferBinary(e: Binary, env: Env): Shape | undefined {
    const a = this.infer(e.left, env);
    const b = this.infer(e.right, env);
    if (a === undefined || b === undefined) return undefined;
    if (e.op === '@') {
      const m = matmulShape(a, b);
      if ('error' in m) {
        if (m.error === 'rank') this.error(e.opRange, 'shape.matmul-rank', `'@' needs vectors or matrices: ${this.src(e.left)} has shape ${fmtShape(a)} and ${this.src(e.right)} has shape ${fmtShape(b)}; use '*' for scalars`);
        else this.error(e.range, 'shape.mismatch', `shape mismatch: ${this.src(e.left)} @ ${this.src(e.right)} multiplies ${fmtShape(a)} by ${fmtShape(b)}; the inner dimensions ${m.k1} and ${m.k2} differ`);
        return undefined;
      }
      return m;
    }
    return elementwiseShape(a, b) ?? this.mismatch(e, a, b);
  }

  private mismatch(e: Binary, a: Shape, b: Shape): undefined {
    this.error(e.range, 'shape.mismatch', `shape mismatch: ${this.src(e.left)} has shape ${fmtShape(a)} but ${this.src(e.right)} has shape ${fmtShape(b)}`);
    return undefined;
  }

  private inferIndex(e: Index, env: Env): Shape | undefined {
    const base = this.infer(e.target, env);
    if (base === undefined) return undefined;
    if (e.subscripts.length > base.length) {
      this.error(e.range, 'index.rank', `${this.src(e.target)} has shape ${fmtShape(base)}: ${e.subscripts.length} subscripts are too many`);
      return undefined;
    }
    const out: number[] = [];
    for (let ax = 0; ax < base.length; ax++) {
      const sub = e.subscripts[ax];
      const size = base[ax]!;
      if (!sub) {
        out.push(size);
        continue;
      }
      if (sub.kind === 'at') {
        const i = this.fold(sub.index, env.scope);
        if (i === undefined) return undefined;
        if (!Number.isInteger(i) || i < -size || i >= size) {
          this.error(sub.range, 'index.range', `index ${i} is out of range for axis ${ax} of size ${size}`);
          return undefined;
        }
      } else {
        const lo = sub.start ? this.fold(sub.start, env.scope) : 0;
        const hi = sub.end ? this.fold(sub.end, env.scope) : size;
        if (lo === undefined || hi === undefined) return undefined;
        const [l, h] = [lo < 0 ? lo + size : lo, hi < 0 ? hi + size : hi];
        if (!Number.isInteger(l) || !Number.isInteger(h) || l < 0 || h > size || l >= h) {
          this.error(sub.range, 'index.range', `slice ${lo}:${hi} is empty or out of range for axis ${ax} of size ${size}`);
          return undefined;
        }
        out.push(h - l);
      }
    }
    return out;
  }

  private axisArg(e: Call, rank: number, env: Env): number | null | undefined {
    const arg = e.named.find((a) => a.name.name === 'axis');
    if (!arg) return null;
    const v = this.fold(arg.value, env.scope);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < -rank || v >= rank) {
      this.error(arg.value.range, 'axis.range', `axis ${v} is out of range for a tensor of rank ${rank}`);
      return undefined;
    }
    return v < 0 ? v + rank : v;
  }

  private inferCall(e: Call, env: Env): Shape | undefined {
    const name = e.callee.name;
    const declared = env.model?.surrogates.get(name);
    if (declared?.surrogate === POISONED_SURROGATE) {
      for (const a of e.args) this.infer(a, env);
      return undefined;
    }
    if (declared && name !== DEFAULT_SURROGATE_NAME) return this.inferSurrogateCall(e, env, declared.decl);
    if (declared) this.references.set(e.callee, { name, kind: 'surrogate', decl: declared.decl.range, shape: [] });
    const b = BUILTINS.get(name);
    if (!b) {
      const named = env.model ? [...env.model.surrogates.keys()] : [];
      const near = didYouMean(name, named);
      if (near && near !== DEFAULT_SURROGATE_NAME) {
        this.error(e.callee.range, 'surrogate.unknown-name', `unknown function '${name}' — did you mean the surrogate '${near}'? (this model declares ${named.map((n) => `'${n}'`).join(', ')})`, undefined, { suggestion: near });
        for (const a of e.args) if (a.kind !== 'list') this.infer(a, env);
        return undefined;
      }
      const userFn = this.items.get(name) ?? (this.itemDecls.has(name) ? undefined : undefined);
      if (userFn || this.itemDecls.has(name)) {
        this.error(e.callee.range, 'call.user-function', `'${name}' is an item of this file; calling items is not supported yet — inline its body or use 'let'`);
        return undefined;
      }
      const hint = didYouMean(name, [...BUILTINS.keys()]);
      this.error(e.callee.range, 'call.unknown', `unknown function '${name}'${hint ? ` — did you mean '${hint}'?` : ''}`, undefined, hint ? { suggestion: hint } : undefined);
      for (const a of e.args) if (a.kind !== 'list') this.infer(a, env);
      return undefined;
    }
    for (const a of e.named) {
      if (!b.named.includes(a.name.name)) {
        this.error(a.name.range, 'call.named', `'${name}' has no argument '${a.name.name}'${b.named.length ? ` (it takes ${b.named.map((n) => `'${n}'`).join(', ')})` : ''}`);
        return undefined;
      }
    }
    const [lo, hi] = b.arity;
    if (e.args.length < lo || e.args.length > hi) {
      this.error(e.range, 'call.arity', `'${name}' takes ${lo === hi ? lo : hi === Infinity ? `at least ${lo}` : `${lo} or ${hi}`} argument${hi === 1 ? '' : 's'}: ${b.signature}`);
      return undefined;
    }
    if (name === 'grad') {
      this.error(e.range, 'grad.position', "grad(f) makes a new item: write it at file level as 'let g = grad(f)'");
      return undefined;
    }
    if ((name === 'reshape' || name === 'transpose') && e.args[1]) return this.inferShapeChange(e, env);
    const args: Shape[] = [];
    for (const a of e.args) {
      const s = this.infer(a, env);
      if (s === undefined) return undefined;
      args.push(s);
    }
    const x = args[0]!;
    switch (b.kind) {
      case 'unary':
        return x;
      case 'binary':
      case 'reduction': {
        if ((name === 'max' || name === 'min') && args.length === 2 || b.kind === 'binary' && name !== 'max' && name !== 'min') {
          if (e.named.length) {
            this.error(e.named[0]!.range, 'call.named', `elementwise '${name}(a, b)' takes no 'axis'`);
            return undefined;
          }
          const [p, q] = [args[0]!, args[1]!];
          if (p.length === 0) return q;
          if (q.length === 0) return p;
          if (!sameShape(p, q)) {
            this.error(e.range, 'shape.mismatch', `shape mismatch: ${this.src(e.args[0]!)} has shape ${fmtShape(p)} but ${this.src(e.args[1]!)} has shape ${fmtShape(q)}`);
            return undefined;
          }
          return p;
        }
        const axis = this.axisArg(e, x.length, env);
        if (axis === undefined) return undefined;
        if (name === 'softmax') return x;
        return axis === null ? [] : x.filter((_, i) => i !== axis);
      }
      default:
        break;
    }
    switch (name) {
      case 'transpose':
        return [...x].reverse();
      case 'dot':
        if (x.length !== 1 || !sameShape(x, args[1]!)) {
          this.error(e.range, 'shape.mismatch', `dot needs two vectors of equal length: ${fmtShape(x)} and ${fmtShape(args[1]!)}`);
          return undefined;
        }
        return [];
      case 'outer':
        if (x.length !== 1 || args[1]!.length !== 1) {
          this.error(e.range, 'shape.mismatch', `outer needs two vectors: ${fmtShape(x)} and ${fmtShape(args[1]!)}`);
          return undefined;
        }
        return [x[0]!, args[1]![0]!];
      case 'stack':
        for (let i = 1; i < args.length; i++) {
          if (!sameShape(args[i]!, x)) {
            this.error(e.args[i]!.range, 'shape.mismatch', `stack needs equal shapes: ${this.src(e.args[0]!)} has shape ${fmtShape(x)} but ${this.src(e.args[i]!)} has shape ${fmtShape(args[i]!)}`);
            return undefined;
          }
        }
        return [args.length, ...x];
      case 'spike':
        if (env.model && !env.model.surrogates.has(DEFAULT_SURROGATE_NAME)) {
          const others = [...env.model.surrogates.keys()];
          this.error(e.callee.range, 'spike.no-surrogate', `'spike' needs a surrogate: add 'surrogate spike = fast_sigmoid(slope = 10)'${others.length ? ` or call a declared one (${others.map((o) => `${o}(x)`).join(', ')})` : ''}`, undefined, { insert: 'surrogate spike = fast_sigmoid(slope = 10)' });
        } else if (!env.model) {
          this.error(e.callee.range, 'spike.no-surrogate', "'spike' needs a surrogate, which only a model can declare: use it inside a model with 'surrogate spike = fast_sigmoid(slope = 10)'");
        }
        return x;
      case 'stop':
        return x;
      case 'max_over_time':
      case 'mean_over_time':
        if (!env.model) {
          this.error(e.callee.range, 'readout.outside-model', `'${name}' is a readout over the time steps of a model; use it inside a model`);
          return undefined;
        }
        env.model.readouts.add(e);
        return x;
      case 'mse':
        if (!sameShape(x, args[1]!) && x.length !== 0 && args[1]!.length !== 0) {
          this.error(e.range, 'shape.mismatch', `shape mismatch: ${this.src(e.args[0]!)} has shape ${fmtShape(x)} but ${this.src(e.args[1]!)} has shape ${fmtShape(args[1]!)}`);
          return undefined;
        }
        return [];
      case 'cross_entropy': {
        if (!sameShape(x, args[1]!)) {
          this.error(e.range, 'shape.mismatch', `shape mismatch: logits ${this.src(e.args[0]!)} have shape ${fmtShape(x)} but the target ${this.src(e.args[1]!)} has shape ${fmtShape(args[1]!)}`);
          return undefined;
        }
        if (x.length === 0) {
          this.error(e.range, 'shape.rank', 'cross_entropy needs a vector or matrix of logits');
          return undefined;
        }
        const axis = this.axisArg(e, x.length, env);
        if (axis === undefined) return undefined;
        return axis === null ? [] : x.filter((_, i) => i !== axis);
      }
      default:
        return x;
    }
  }

  /** `NAME(x)` for a declared `surrogate NAME = …`: a spike with that pseudo-derivative. */
  private inferSurrogateCall(e: Call, env: Env, decl: Ident): Shape | undefined {
    this.references.set(e.callee, { name: e.callee.name, kind: 'surrogate', decl: decl.range, shape: [] });
    if (e.named.length) {
      this.error(e.named[0]!.range, 'call.named', `'${e.callee.name}' is a surrogate spike function: it takes one argument, ${e.callee.name}(x); its parameters belong to its 'surrogate' line`);
      return undefined;
    }
    if (e.args.length !== 1) {
      this.error(e.range, 'call.arity', `'${e.callee.name}' is a surrogate spike function and takes one argument: ${e.callee.name}(x)`);
      return undefined;
    }
    return this.infer(e.args[0]!, env);
  }

  private inferShapeChange(e: Call, env: Env): Shape | undefined {
    const x = this.infer(e.args[0]!, env);
    if (x === undefined) return undefined;
    const list = e.args[1]!;
    if (list.kind !== 'list') {
      this.error(list.range, 'call.list', `${e.callee.name} needs a list as its second argument, e.g. [1, 0]`);
      return undefined;
    }
    const items: number[] = [];
    for (const it of list.items) {
      const v = this.fold(it, env.scope);
      if (v === undefined) return undefined;
      if (!Number.isInteger(v)) {
        this.error(it.range, 'call.list', `expected an integer, got ${v}`);
        return undefined;
      }
      items.push(v);
    }
    if (e.callee.name === 'transpose') {
      const ok = items.length === x.length && [...items].sort((p, q) => p - q).every((v, i) => v === i);
      if (!ok) {
        this.error(list.range, 'transpose.perm', `[${items.join(', ')}] is not a permutation of the ${x.length} axes of ${fmtShape(x)}`);
        return undefined;
      }
      return items.map((i) => x[i]!);
    }
    const free = items.filter((v) => v === -1).length;
    const known = items.filter((v) => v !== -1).reduce((p, q) => p * q, 1);
    const total = numel(x);
    if (free > 1 || items.some((v) => v < -1 || v === 0) || (free === 0 && known !== total) || (free === 1 && total % known !== 0)) {
      this.error(list.range, 'reshape.size', `cannot reshape ${fmtShape(x)} (${total} values) to [${items.join(', ')}]`);
      return undefined;
    }
    return items.map((v) => (v === -1 ? total / known : v));
  }
}

/** Stands for a surrogate whose declaration is in error (never reaches a graph: the model has errors). */
const POISONED_SURROGATE: Surrogate = { kind: 'fast_sigmoid', slope: 1, scale: 1, name: '(in error)' };

const fmtNum = (v: number): string => String(Number(v.toPrecision(4)));

/**
 * The coefficient a of u in e when e = a·u + (terms without u) with a
 * constant a (the form of a leaky update, a = exp(-dt/tau)); undefined when e
 * is not of that form (then nothing is claimed about stability).
 */
export function ownCoefficient(e: Expr, u: string, constants: ReadonlyMap<Expr, number>): number | undefined {
  const isU = (x: Expr): boolean => (x.kind === 'name' && x.name === u) || (x.kind === 'time' && x.name.name === u && x.offset === 0 && !x.delay && x.invalid === undefined);
  const mentions = (x: Expr): boolean => {
    let found = false;
    walk(x, (y) => { if (isU(y)) found = true; });
    return found;
  };
  const go = (x: Expr): number | undefined => {
    if (isU(x)) return 1;
    if (!mentions(x)) return 0;
    if (x.kind === 'unary') {
      const a = go(x.operand);
      return a === undefined ? undefined : x.op === '-' ? -a : a;
    }
    if (x.kind === 'binary') {
      if (x.op === '+' || x.op === '-') {
        const a = go(x.left);
        const b = go(x.right);
        return a === undefined || b === undefined ? undefined : x.op === '+' ? a + b : a - b;
      }
      const l = constants.get(x.left);
      const r = constants.get(x.right);
      if (x.op === '*') {
        if (l !== undefined) { const a = go(x.right); return a === undefined ? undefined : l * a; }
        if (r !== undefined) { const a = go(x.left); return a === undefined ? undefined : r * a; }
      }
      if (x.op === '/' && r !== undefined) {
        const a = go(x.left);
        return a === undefined ? undefined : a / r;
      }
    }
    return undefined;
  };
  return go(e);
}

/** Where `e` (or a let it reads) first reads one of `names`. */
function findRead(e: Expr, names: readonly string[], lets: ReadonlyMap<string, LetStmt>, seen = new Set<string>()): Range | undefined {
  let at: Range | undefined;
  const viaLets: string[] = [];
  walk(e, (x) => {
    if (at) return;
    const n = x.kind === 'name' ? x.name : x.kind === 'time' ? x.name.name : undefined;
    if (n === undefined) return;
    if (names.includes(n)) at = x.range;
    else if (lets.has(n) && !seen.has(n)) viaLets.push(n);
  });
  if (at) return at;
  for (const n of viaLets) {
    seen.add(n);
    const r = findRead(lets.get(n)!.value, names, lets, seen);
    if (r) return r;
  }
  return undefined;
}

/** Scalar math usable in `const` and `dim` expressions. */
const SCALAR_FOLDS: Record<string, (...a: number[]) => number> = {
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, abs: Math.abs, sin: Math.sin, cos: Math.cos, tan: Math.tan,
  asin: Math.asin, acos: Math.acos, atan: Math.atan, sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh,
  asinh: Math.asinh, acosh: Math.acosh, atanh: Math.atanh, log1p: Math.log1p,
  atan2: Math.atan2, pow: Math.pow,
};

function article(kind: string): string {
  const word = kind === 'argument' ? 'a function argument' : kind === 'let' ? "a 'let' value" : kind === 'item' ? 'an item' : kind;
  return /^(a |an )/.test(word) ? word : /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** Nesting depth of an expression, measured without recursion (it guards the recursive passes). */
export function exprDepth(root: Expr): number {
  let max = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    switch (e.kind) {
      case 'unary': stack.push([e.operand, d + 1]); break;
      case 'binary': stack.push([e.left, d + 1], [e.right, d + 1]); break;
      case 'call': for (const a of e.args) stack.push([a, d + 1]); for (const a of e.named) stack.push([a.value, d + 1]); break;
      case 'index': stack.push([e.target, d + 1]); break;
      case 'list': for (const a of e.items) stack.push([a, d + 1]); break;
      default: break;
    }
  }
  return max;
}

/** Deeper expressions are refused: the checker and the builder recurse over them. */
export const MAX_EXPR_DEPTH = 1000;

/** Visit every sub-expression of `e` (pre-order, without recursion: expressions may be deep). */
export function walk(root: Expr, visit: (e: Expr) => void): void {
  const stack: Expr[] = [root];
  while (stack.length) {
    const e = stack.pop()!;
    visit(e);
    switch (e.kind) {
      case 'unary': stack.push(e.operand); break;
      case 'binary': stack.push(e.right, e.left); break;
      case 'call':
        for (let i = e.named.length - 1; i >= 0; i--) stack.push(e.named[i]!.value);
        for (let i = e.args.length - 1; i >= 0; i--) stack.push(e.args[i]!);
        break;
      case 'index':
        for (let i = e.subscripts.length - 1; i >= 0; i--) {
          const s = e.subscripts[i]!;
          if (s.kind === 'at') stack.push(s.index);
          else { if (s.end) stack.push(s.end); if (s.start) stack.push(s.start); }
        }
        stack.push(e.target);
        break;
      case 'list': for (let i = e.items.length - 1; i >= 0; i--) stack.push(e.items[i]!); break;
      default: break;
    }
  }
}

/** Bytes per unit as a rule writes it (`limit memory 128 KiB`): util/units.ts's table, units spelt as written. */
export function memoryUnit(unit: string): number | undefined {
  return Object.hasOwn(SIZE_UNITS, unit) ? SIZE_UNITS[unit] : undefined;
}

export { formatBytes };
