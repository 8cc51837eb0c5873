// The checker: resolves names, folds dims and consts, infers the shape of
// every expression, orders a model's same-step equations (reporting cycles),
// and validates rules against their model. It never throws on bad input: each
// problem becomes one located diagnostic and checking goes on, so every other
// item of the file is still analysed.

import type { Shape, Surrogate } from '../graph/types.js';
import type {
  Binary, Call, ConstDecl, Diagnostic, DimDecl, Expr, FunctionItem, GradItem, Ident, Index, Item, LetStmt,
  ModelItem, NameRef, OdeEq, Program, Range, RelatedInfo, RuleItem, ShapeAnnot, TimeRef, UpdateEq, VarDecl,
} from './ast.js';
import { BUILTINS, INITIALISERS, SURROGATES } from './builtins.js';
import { didYouMean } from './suggest.js';
import {
  readKey, type Checked, type FunctionScope, type Initialiser, type ItemScope, type ModelScope, type StepEquation, type Symbol,
} from './symbols.js';

/** Tensors larger than this are refused: 2²⁷ Float64 values is 1 GiB. */
export const MAX_ELEMENTS = 2 ** 27;
const MAX_DIM = 2 ** 31 - 1;

export function check(program: Program, text: string): Checked {
  return new Checker(program, text).run();
}

const fmtShape = (s: Shape): string => `[${s.join(', ')}]`;
const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);

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
    readonly hasSurrogate: boolean;
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

  private error(range: Range, code: string, message: string, related?: RelatedInfo[], data?: unknown): void {
    this.diagnostics.push({ range, severity: 'error', code, message, ...(related ? { related } : {}), ...(data !== undefined ? { data } : {}) });
  }

  private warning(range: Range, code: string, message: string, data?: unknown): void {
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
    if (value === undefined) return;
    if (decl.kind === 'dim') {
      if (!Number.isInteger(value) || value < 1) {
        this.error(decl.value.range, 'dim.invalid', `dimension '${decl.name.name}' must be a positive integer, got ${value}`);
        return;
      }
      if (value > MAX_DIM) {
        this.error(decl.value.range, 'dim.too-large', `dimension '${decl.name.name}' = ${value.toExponential(2)} is larger than ${MAX_DIM} (2³¹ − 1)`);
        return;
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
      if (shape === undefined) continue;
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
    let surrogate: Surrogate | undefined;
    let loss: Expr | undefined;
    let lossRange: Range | undefined;

    for (const stmt of item.body) {
      if (stmt.kind === 'dim' || stmt.kind === 'const') {
        this.shadowCheck(stmt.name, scope);
        this.declareFolded(stmt, scope);
      }
    }
    for (const stmt of item.body) {
      if (stmt.kind === 'var') this.declareVar(stmt, scope, initialisers, initialStates);
      else if (stmt.kind === 'surrogate') surrogate = this.checkSurrogate(stmt.fn, stmt.name, scope) ?? surrogate;
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
      }
    }
    if (updates.has('dt') || (!scope.has('dt') && [...updates.values()].some((u) => u.kind === 'ode'))) {
      for (const u of updates.values()) {
        if (u.kind === 'ode') this.error(u.range, 'ode.no-dt', `'d${u.target.name}/dt' needs a time step: add 'const dt = 1' to the model`);
      }
    }

    const env: Env = {
      scope,
      model: { updates, lets, reads: new Set(), deps: [], hasSurrogate: surrogate !== undefined },
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

    return {
      kind: 'model', item, symbols: scope, order, updates, initialisers, initialStates, reads,
      ...(surrogate ? { surrogate } : {}), ...(loss ? { loss } : {}),
    };
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
    if (shape === undefined) return;
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

  private checkSurrogate(fn: Call | NameRef, name: Ident, scope: Map<string, Symbol>): Surrogate | undefined {
    if (name.name !== 'spike') {
      this.error(name.range, 'surrogate.target', `surrogates are declared for 'spike': 'surrogate spike = fast_sigmoid(slope = 10)'`);
      return undefined;
    }
    const fname = fn.kind === 'call' ? fn.callee.name : fn.name;
    const range = fn.kind === 'call' ? fn.callee.range : fn.range;
    const spec = SURROGATES.get(fname);
    if (!spec) {
      const hint = didYouMean(fname, [...SURROGATES.keys()]);
      this.error(range, 'surrogate.unknown', `unknown surrogate '${fname}'${hint ? ` — did you mean '${hint}'?` : ''} (fast_sigmoid, sigmoid, triangle, exponential)`, undefined, hint ? { suggestion: hint } : undefined);
      return undefined;
    }
    let value = spec.default;
    if (fn.kind === 'call') {
      if (fn.args.length > 1) this.error(fn.range, 'surrogate.arity', `'${fname}' takes one parameter: ${fname}(${spec.param} = ${spec.default})`);
      const arg = fn.named.find((a) => a.name.name === spec.param)?.value ?? fn.args[0];
      for (const a of fn.named) {
        if (a.name.name !== spec.param) this.error(a.name.range, 'surrogate.param', `'${fname}' has no parameter '${a.name.name}'; it takes '${spec.param}'`);
      }
      if (arg) {
        const v = this.fold(arg, scope);
        if (v === undefined) return undefined;
        if (!(v > 0)) {
          this.error(arg.range, 'surrogate.param-range', `'${spec.param}' must be positive, got ${v}`);
          return undefined;
        }
        value = v;
      }
    }
    switch (fname) {
      case 'triangle': return { kind: 'triangle', width: value };
      case 'fast_sigmoid': return { kind: 'fast_sigmoid', slope: value };
      case 'sigmoid': return { kind: 'sigmoid', slope: value };
      default: return { kind: 'exponential', slope: value };
    }
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
        case 'limit':
          if (stmt.what.name !== 'memory') this.error(stmt.what.range, 'rule.unknown-limit', `unknown limit '${stmt.what.name}': write 'limit memory 128 KiB'`);
          if (stmt.unit && memoryUnit(stmt.unit.name) === undefined) {
            this.error(stmt.unit.range, 'rule.unknown-unit', `unknown unit '${stmt.unit.name}' (B, KB, KiB, MB, MiB, GB, GiB)`);
          }
          if (!(stmt.value > 0)) this.error(stmt.range, 'rule.limit-range', 'a memory limit must be positive');
          break;
      }
    }
    this.items.set(item.name.name, { kind: 'rule', item, ...(model ? { model } : {}) });
  }

  private checkApprox(stmt: Extract<RuleItem['body'][number], { kind: 'approximate' }>, model: ModelScope): void {
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
    if (!wrt) {
      this.unknownName(stmt.wrt, model.symbols);
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
      if (e.offset !== 1) {
        this.error(e.range, 'time.input-offset', `${sym.kind}s are read at the step being computed: write '${e.name.name}[t+1]'`);
        return undefined;
      }
      m.reads.add(readKey(e.name.name, 1));
      return sym.shape;
    }
    this.error(e.range, 'time.not-temporal', `'${e.name.name}' is ${article(sym.kind)}; only states, inputs and targets have a time index`);
    return undefined;
  }

  private inferBinary(e: Binary, env: Env): Shape | undefined {
    const a = this.infer(e.left, env);
    const b = this.infer(e.right, env);
    if (a === undefined || b === undefined) return undefined;
    if (e.op === '@') {
      const [m, k1] = a.length === 2 ? [a[0]!, a[1]!] : a.length === 1 ? [undefined, a[0]!] : [undefined, undefined];
      const [k2, n] = b.length === 2 ? [b[0]!, b[1]!] : b.length === 1 ? [b[0]!, undefined] : [undefined, undefined];
      if (k1 === undefined || k2 === undefined) {
        this.error(e.opRange, 'shape.matmul-rank', `'@' needs vectors or matrices: ${this.src(e.left)} has shape ${fmtShape(a)} and ${this.src(e.right)} has shape ${fmtShape(b)}; use '*' for scalars`);
        return undefined;
      }
      if (k1 !== k2) {
        this.error(e.range, 'shape.mismatch', `shape mismatch: ${this.src(e.left)} @ ${this.src(e.right)} multiplies ${fmtShape(a)} by ${fmtShape(b)}; the inner dimensions ${k1} and ${k2} differ`);
        return undefined;
      }
      return [...(m !== undefined ? [m] : []), ...(n !== undefined ? [n] : [])];
    }
    if (e.op === '^') {
      if (b.length !== 0 && !sameShape(a, b) && a.length !== 0) return this.mismatch(e, a, b);
      return a.length === 0 ? b : a;
    }
    if (a.length === 0) return b;
    if (b.length === 0) return a;
    if (!sameShape(a, b)) return this.mismatch(e, a, b);
    return a;
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
    const b = BUILTINS.get(name);
    if (!b) {
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
        if (env.model && !env.model.hasSurrogate) {
          this.error(e.callee.range, 'spike.no-surrogate', "'spike' needs a surrogate: add 'surrogate spike = fast_sigmoid(slope = 10)'", undefined, { insert: 'surrogate spike = fast_sigmoid(slope = 10)' });
        } else if (!env.model) {
          this.error(e.callee.range, 'spike.no-surrogate', "'spike' needs a surrogate, which only a model can declare: use it inside a model with 'surrogate spike = fast_sigmoid(slope = 10)'");
        }
        return x;
      case 'stop':
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

export function memoryUnit(unit: string): number | undefined {
  const units: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
  return units[unit];
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
