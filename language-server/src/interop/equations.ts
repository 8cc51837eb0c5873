// A model equation as a polynomial over atoms with constant coefficients,
// read from the checked AST: the form an exporter matches against a
// neuron's equations (NIR's LIF, LI, CubaLIF, …). Atoms are a state at t or
// t+1, an input, a param used elementwise (a bias), a matrix-vector product
// `W @ p` of a param with a linear operand, and `spike(p)`. Constants are the
// checker's folded values, so `exp(-dt / tau)` is one number. Anything else
// (a non-constant `exp`, a division by a state, …) is an `EquationError` at
// the sub-expression that does not fit.

import type { Expr, Range } from '../lang/ast.js';
import type { Checked, ModelScope } from '../lang/symbols.js';
import { EligoError } from '../util/errors.js';

/**
 * `offset` is the step read, relative to t: 1 for s[t+1] (and an input's x[t+1]), 0 for s[t],
 * −k for s[t-k] (graph/build.ts keys delay registers the same way). Its lag, 1 − offset, is the
 * number of steps between the value read and the step being computed.
 */
export type Atom =
  | { readonly kind: 'state'; readonly name: string; readonly offset: number }
  | { readonly kind: 'input'; readonly name: string; readonly offset: number }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'matvec'; readonly W: string; readonly operand: Poly }
  | { readonly kind: 'spike'; readonly arg: Poly };

export interface Mono {
  /** Atom keys, sorted (with repeats for powers). */
  readonly atoms: readonly string[];
  readonly coef: number;
}

export interface Poly {
  readonly monos: ReadonlyMap<string, Mono>;
  /** Every atom by key (shared across the polynomials of one analysis). */
  readonly atoms: ReadonlyMap<string, Atom>;
}

export class EquationError extends EligoError {
  constructor(
    message: string,
    readonly range: Range,
  ) {
    super('interop.equation', message);
  }
}

export function atomKey(a: Atom): string {
  switch (a.kind) {
    case 'state':
      return `${a.name}@${a.offset}`;
    case 'input':
      return a.offset === 1 ? `${a.name}@in` : `${a.name}@in${a.offset}`;
    case 'param':
      return `${a.name}`;
    case 'matvec':
      return `${a.W}@(${polyKey(a.operand)})`;
    case 'spike':
      return `spike(${polyKey(a.arg)})`;
  }
}

export function polyKey(p: Poly): string {
  return [...p.monos.values()]
    .map((m) => `${m.coef}*${m.atoms.join('*')}`)
    .sort()
    .join(' + ');
}

/** The analysis of one model: polynomials of its equations, memoised per expression. */
export class EquationReader {
  private readonly atoms = new Map<string, Atom>();

  constructor(
    private readonly checked: Checked,
    private readonly scope: ModelScope,
  ) {}

  private make(monos: Map<string, Mono>): Poly {
    for (const [k, m] of monos) if (m.coef === 0) monos.delete(k);
    return { monos, atoms: this.atoms };
  }

  constant(c: number): Poly {
    return this.make(new Map([['', { atoms: [], coef: c }]]));
  }

  atom(a: Atom): Poly {
    const key = atomKey(a);
    this.atoms.set(key, a);
    return this.make(new Map([[key, { atoms: [key], coef: 1 }]]));
  }

  add(p: Poly, q: Poly, sign = 1): Poly {
    const out = new Map(p.monos);
    for (const [k, m] of q.monos) {
      const prev = out.get(k);
      out.set(k, { atoms: m.atoms, coef: (prev?.coef ?? 0) + sign * m.coef });
    }
    return this.make(out);
  }

  scale(p: Poly, c: number): Poly {
    return this.make(new Map([...p.monos].map(([k, m]) => [k, { atoms: m.atoms, coef: m.coef * c }])));
  }

  mul(p: Poly, q: Poly, range: Range): Poly {
    let out = this.make(new Map());
    for (const a of p.monos.values()) {
      for (const b of q.monos.values()) {
        const atoms = [...a.atoms, ...b.atoms].sort();
        if (atoms.length > 3) throw new EquationError('a product of more than three varying quantities does not match a neuron equation', range);
        const key = atoms.join('*');
        out = this.add(out, this.make(new Map([[key, { atoms, coef: a.coef * b.coef }]])));
      }
    }
    return out;
  }

  /** The polynomial of an expression of the model. */
  of(e: Expr): Poly {
    const c = this.checked.constants.get(e);
    if (c !== undefined) return this.constant(c);
    switch (e.kind) {
      case 'number':
        return this.constant(e.value);
      case 'name':
        return this.name(e.name, 'bare', e.range);
      case 'time': {
        const k = e.delay ? this.checked.constants.get(e.delay) : 0;
        if (k === undefined || !Number.isInteger(k)) throw new EquationError('a delay that is not a whole number of steps', e.range);
        return this.name(e.name.name, e.offset - k, e.range);
      }
      case 'unary':
        return e.op === '-' ? this.scale(this.of(e.operand), -1) : this.of(e.operand);
      case 'binary': {
        if (e.op === '+' || e.op === '-') return this.add(this.of(e.left), this.of(e.right), e.op === '-' ? -1 : 1);
        if (e.op === '*') return this.mul(this.of(e.left), this.of(e.right), e.range);
        if (e.op === '/') {
          const d = this.checked.constants.get(e.right);
          if (d === undefined || d === 0) throw new EquationError('division by a quantity that is not a nonzero constant', e.right.range);
          return this.scale(this.of(e.left), 1 / d);
        }
        if (e.op === '@') {
          const wName = e.left.kind === 'name' ? e.left.name : '';
          const W = wName ? this.scope.symbols.get(wName) : undefined;
          if (!W || W.kind !== 'param' || W.shape.length !== 2)
            throw new EquationError("'@' with something other than a weight matrix param on the left", e.left.range);
          const operand = this.of(e.right);
          // W @ (Σ c·a) = Σ c·(W @ a): one atom per operand atom, so currents split into their sources.
          let out = this.make(new Map());
          for (const m of operand.monos.values()) {
            if (m.atoms.length === 0) throw new EquationError(`'${wName} @ …' of a constant`, e.right.range);
            const unit: Poly = this.make(new Map([[m.atoms.join('*'), { atoms: m.atoms, coef: 1 }]]));
            out = this.add(out, this.scale(this.atom({ kind: 'matvec', W: wName, operand: unit }), m.coef));
          }
          return out;
        }
        throw new EquationError(`'${e.op}' with a varying operand does not match a neuron equation`, e.range);
      }
      case 'call':
        if (e.callee.name === 'spike' && e.args.length === 1) return this.atom({ kind: 'spike', arg: this.of(e.args[0]!) });
        // A named surrogate is a spike with another backward pass: the same forward step.
        if (this.scope.surrogates.has(e.callee.name) && e.args.length === 1) return this.atom({ kind: 'spike', arg: this.of(e.args[0]!) });
        if (e.callee.name === 'stop' && e.args.length === 1) return this.of(e.args[0]!);
        throw new EquationError(`${e.callee.name}(…) of a varying quantity does not match a NIR node`, e.range);
      default:
        throw new EquationError('this expression does not match a NIR node', e.range);
    }
  }

  /** A name read at `offset`; 'bare' is a name without a time index: s[t] for a state, x[t+1] for an input. */
  private name(name: string, at: number | 'bare', range: Range): Poly {
    const sym = this.scope.symbols.get(name);
    if (!sym) throw new EquationError(`unknown name '${name}'`, range);
    switch (sym.kind) {
      case 'const':
      case 'dim':
        if (sym.value === undefined) throw new EquationError(`'${name}' has no value`, range);
        return this.constant(sym.value);
      case 'state':
        return this.atom({ kind: 'state', name, offset: at === 'bare' ? 0 : at });
      case 'input':
      case 'target':
        return this.atom({ kind: 'input', name, offset: at === 'bare' ? 1 : at });
      case 'param':
        return this.atom({ kind: 'param', name });
      case 'let': {
        const node = sym.node;
        if (node && 'kind' in node && node.kind === 'let') return this.of(node.value);
        throw new EquationError(`'${name}' cannot be read here`, range);
      }
      default:
        throw new EquationError(`'${name}' cannot be read here`, range);
    }
  }

  /** The t+1 update of a state as a polynomial (`du/dt = f` discretised exactly when f is affine in u, as graph/build.ts does). */
  update(state: string): { poly: Poly; range: Range } {
    const eq = this.scope.updates.get(state);
    if (!eq) throw new Error(`no update for '${state}'`);
    const f = this.of(eq.value);
    if (eq.kind === 'update') return { poly: f, range: eq.range };
    const dt = this.scope.symbols.get('dt')?.value;
    if (dt === undefined) throw new EquationError(`'d${state}/dt' needs a const dt`, eq.range);
    const self = `${state}@0`;
    const k = f.monos.get(self)?.coef ?? 0;
    for (const m of f.monos.values())
      if (m.atoms.includes(self) && m.atoms.length > 1) throw new EquationError(`d${state}/dt is not affine in ${state}`, eq.range);
    const rest = this.add(f, this.scale(this.atom({ kind: 'state', name: state, offset: 0 }), k), -1);
    const a = Math.exp(k * dt);
    const gain = k === 0 ? dt : (a - 1) / k;
    return { poly: this.add(this.scale(this.atom({ kind: 'state', name: state, offset: 0 }), a), this.scale(rest, gain)), range: eq.range };
  }

  atomOf(key: string): Atom {
    return this.atoms.get(key)!;
  }

  /** The atom read `s` steps earlier: every state and input in it moved back by s (W @ z[t] → W @ z[t-s]). */
  shiftAtom(key: string, s: number): string {
    if (s === 0) return key;
    const a = this.atomOf(key);
    let b: Atom;
    switch (a.kind) {
      case 'state':
      case 'input':
        b = { ...a, offset: a.offset - s };
        break;
      case 'param':
        return key;
      case 'matvec':
        b = { ...a, operand: this.shift(a.operand, s) };
        break;
      case 'spike':
        b = { ...a, arg: this.shift(a.arg, s) };
        break;
    }
    const k = atomKey(b);
    this.atoms.set(k, b);
    return k;
  }

  /** The polynomial read `s` steps earlier. */
  shift(p: Poly, s: number): Poly {
    const out = new Map<string, Mono>();
    for (const m of p.monos.values()) {
      const atoms = m.atoms.map((k) => this.shiftAtom(k, s)).sort();
      out.set(atoms.join('*'), { atoms, coef: m.coef });
    }
    return this.make(out);
  }
}
