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

export type Atom =
  | { readonly kind: 'state'; readonly name: string; readonly offset: 0 | 1 }
  | { readonly kind: 'input'; readonly name: string }
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
  constructor(message: string, readonly range: Range) {
    super('interop.equation', message);
  }
}

export function atomKey(a: Atom): string {
  switch (a.kind) {
    case 'state': return `${a.name}@${a.offset}`;
    case 'input': return `${a.name}@in`;
    case 'param': return `${a.name}`;
    case 'matvec': return `${a.W}@(${polyKey(a.operand)})`;
    case 'spike': return `spike(${polyKey(a.arg)})`;
  }
}

export function polyKey(p: Poly): string {
  return [...p.monos.values()].map((m) => `${m.coef}*${m.atoms.join('*')}`).sort().join(' + ');
}

/** The analysis of one model: polynomials of its equations, memoised per expression. */
export class EquationReader {
  private readonly atoms = new Map<string, Atom>();

  constructor(private readonly checked: Checked, private readonly scope: ModelScope) {}

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
      case 'number': return this.constant(e.value);
      case 'name': return this.name(e.name, 0, e.range);
      case 'time': return this.name(e.name.name, e.offset === 1 ? 1 : 0, e.range);
      case 'unary': return e.op === '-' ? this.scale(this.of(e.operand), -1) : this.of(e.operand);
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
          if (!W || W.kind !== 'param' || W.shape.length !== 2) throw new EquationError("'@' with something other than a weight matrix param on the left", e.left.range);
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
        throw new EquationError(`${e.callee.name}(…) of a varying quantity does not match a NIR node`, e.range);
      default:
        throw new EquationError('this expression does not match a NIR node', e.range);
    }
  }

  private name(name: string, offset: 0 | 1, range: Range): Poly {
    const sym = this.scope.symbols.get(name);
    if (!sym) throw new EquationError(`unknown name '${name}'`, range);
    switch (sym.kind) {
      case 'const': case 'dim':
        if (sym.value === undefined) throw new EquationError(`'${name}' has no value`, range);
        return this.constant(sym.value);
      case 'state': return this.atom({ kind: 'state', name, offset });
      case 'input': case 'target': return this.atom({ kind: 'input', name });
      case 'param': return this.atom({ kind: 'param', name });
      case 'let': {
        const node = sym.node;
        if (node && 'kind' in node && node.kind === 'let') return this.of(node.value);
        throw new EquationError(`'${name}' cannot be read here`, range);
      }
      default: throw new EquationError(`'${name}' cannot be read here`, range);
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
    for (const m of f.monos.values()) if (m.atoms.includes(self) && m.atoms.length > 1) throw new EquationError(`d${state}/dt is not affine in ${state}`, eq.range);
    const rest = this.add(f, this.scale(this.atom({ kind: 'state', name: state, offset: 0 }), k), -1);
    const a = Math.exp(k * dt);
    const gain = k === 0 ? dt : (a - 1) / k;
    return { poly: this.add(this.scale(this.atom({ kind: 'state', name: state, offset: 0 }), a), this.scale(rest, gain)), range: eq.range };
  }

  atomOf(key: string): Atom {
    return this.atoms.get(key)!;
  }
}
