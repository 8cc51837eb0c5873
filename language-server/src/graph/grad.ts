// `let g = grad(f)`: the gradient of a scalar function as a new graph.
//
// This is reverse-mode AD written out as a program (the adjoint code of
// Griewank & Walther ch. 3): the forward vertices of f are copied, then every
// vertex's adjoint is accumulated from its users' adjoints by vector-Jacobian
// products made of elemental ops. The result is an ordinary graph, so it can
// be evaluated, eliminated and searched like any other — which is how
// AlphaGrad's BlackScholes_Jacobian task (second-order Greeks) is built.

import type { Range } from '../lang/ast.js';
import { GraphAssembler } from './build.js';
import type { Graph, Op, Shape, Surrogate, Vertex } from './types.js';
import { surrogatePsi, type SurrogateOps } from '../lang/surrogates.js';

/** The step H(x) inside a gradient graph (relu′, max′): a surrogate so sharp it is H's derivative almost everywhere (0). */
const HEAVISIDE: Surrogate = { kind: 'exponential', slope: 1e9, scale: 1 };
import { sizeOf } from './types.js';
import { EligoError } from '../util/errors.js';

export class GradError extends EligoError {
  constructor(
    message: string,
    readonly range: Range,
  ) {
    super('graph.grad', message);
  }
}

const same = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

export function gradientGraph(f: Graph, name: string): Graph {
  if (f.outputs.length !== 1 || f.vertices[f.outputs[0]!]!.shape.length !== 0) {
    throw new GradError(`grad(${f.name}) needs one scalar output`, f.vertices[f.outputs[0] ?? 0]?.range ?? { start: 0, end: 0 });
  }
  const g = new GraphAssembler();
  const map: number[] = [];
  // Forward sweep: copy f.
  for (const v of f.vertices) {
    g.group = v.group;
    if (v.op === 'input') map[v.id] = g.leaf('input', v.name!, v.shape, v.range);
    else if (v.op === 'const') map[v.id] = g.constant(v.attrs.value![0]!, v.range);
    else {
      const id = g.op(
        v.op,
        v.inputs.map((i) => map[i]!),
        v.shape,
        v.range,
        v.attrs,
      );
      const copy = g.vertices[id]!;
      if (copy.role === 'op' && v.name !== undefined && f.vertices[v.id]!.role === 'op') copy.name = v.name;
      map[v.id] = id;
    }
  }
  // Reverse sweep: adjoints, seeded with 1 at the output.
  const adjoint = new Map<number, number>();
  const out = f.outputs[0]!;
  adjoint.set(out, g.constant(1, f.vertices[out]!.range));
  const b = new Builder(g);
  for (let id = f.vertices.length - 1; id >= 0; id--) {
    const v = f.vertices[id]!;
    const gbar = adjoint.get(id);
    if (gbar === undefined || v.inputs.length === 0) continue;
    g.group = v.group ? `∂${v.group}` : undefined;
    const contributions = vjp(
      b,
      v,
      gbar,
      v.inputs.map((i) => map[i]!),
      map[id]!,
      f,
    );
    v.inputs.forEach((src, k) => {
      const c = contributions[k];
      if (c === undefined) return;
      const fitted = b.fit(c, f.vertices[src]!.shape, v.range);
      const prev = adjoint.get(src);
      adjoint.set(src, prev === undefined ? fitted : b.add(prev, fitted, v.range));
    });
  }
  g.group = 'return';
  const outputs = f.inputs.map((i) => {
    const v = f.vertices[i]!;
    const a = adjoint.get(i) ?? b.zeros(v.shape, v.range);
    return g.name(a, `∂${f.vertices[out]!.name ?? 'f'}/∂${v.name}`, 'output', v.range);
  });
  const m = g.compact();
  return { name, kind: 'function', vertices: g.vertices, inputs: f.inputs.map((i) => m(map[i]!)), outputs: outputs.map(m) };
}

/** Small constructors that fold and broadcast like the language's operators. */
class Builder {
  constructor(readonly g: GraphAssembler) {}
  shape(id: number): Shape {
    return this.g.shapeOf(id);
  }
  bin(op: Op, a: number, b: number, r: Range): number {
    const [sa, sb] = [this.shape(a), this.shape(b)];
    return this.g.op(op, [a, b], sa.length === 0 ? sb : sa, r);
  }
  add(a: number, b: number, r: Range): number {
    return this.bin('add', a, b, r);
  }
  sub(a: number, b: number, r: Range): number {
    return this.bin('sub', a, b, r);
  }
  mul(a: number, b: number, r: Range): number {
    if (this.g.constValue(a) === 1) return b;
    if (this.g.constValue(b) === 1) return a;
    return this.bin('mul', a, b, r);
  }
  div(a: number, b: number, r: Range): number {
    return this.bin('div', a, b, r);
  }
  un(op: Op, a: number, r: Range, attrs = {}): number {
    return this.g.op(op, [a], this.shape(a), r, attrs);
  }
  neg(a: number, r: Range): number {
    return this.un('neg', a, r);
  }
  c(v: number, r: Range): number {
    return this.g.constant(v, r);
  }
  sq(a: number, r: Range): number {
    return this.un('powc', a, r, { exponent: 2 });
  }
  zeros(shape: Shape, r: Range): number {
    const z = this.c(0, r);
    return shape.length === 0 ? z : this.g.op('broadcast', [z], shape, r, { shape, axes: [] });
  }
  /** Make an adjoint contribution match its source's shape (sum a broadcast scalar back). */
  fit(c: number, target: Shape, r: Range): number {
    const s = this.shape(c);
    if (same(s, target)) return c;
    if (target.length === 0) return this.g.op('sum', [c], [], r);
    if (s.length === 0) return this.g.op('broadcast', [c], target, r, { shape: target, axes: [] });
    throw new GradError(`internal: adjoint of shape [${s.join(', ')}] for a value of shape [${target.join(', ')}]`, r);
  }
}

/** ψ(x) of lang/surrogates.ts as vertices of the gradient graph (the same formula the evaluator runs). */
function surrogateDerivative(b: Builder, s: Surrogate, x: number, r: Range): number {
  const ops: SurrogateOps<number> = {
    abs: (a) => b.un('abs', a, r),
    mulc: (a, k) => b.mul(b.c(k, r), a, r),
    divc: (a, k) => b.div(a, b.c(k, r), r),
    addc: (a, k) => b.add(a, b.c(k, r), r),
    rsubc: (k, a) => b.sub(b.c(k, r), a, r),
    mul: (p, q) => b.mul(p, q, r),
    reciprocal: (a) => b.un('powc', a, r, { exponent: -1 }),
    square: (a) => b.sq(a, r),
    sigmoid: (a) => b.un('sigmoid', a, r),
    exp: (a) => b.un('exp', a, r),
    relu: (a) => b.un('relu', a, r),
  };
  return surrogatePsi(ops, s, x);
}

/** Vector-Jacobian products: the adjoint contribution to each operand of v. */
function vjp(b: Builder, v: Vertex, gbar: number, xs: number[], y: number, f: Graph): (number | undefined)[] {
  const r = v.range;
  const [x0, x1] = [xs[0]!, xs[1]!];
  const times = (d: number): number[] => [b.mul(gbar, d, r)];
  const one = b.c(1, r);
  switch (v.op) {
    case 'neg':
      return [b.neg(gbar, r)];
    case 'exp':
      return times(y);
    case 'log':
      return [b.div(gbar, x0, r)];
    case 'sqrt':
      return [b.div(b.mul(gbar, b.c(0.5, r), r), y, r)];
    case 'abs':
      return times(b.div(x0, y, r));
    case 'sin':
      return times(b.un('cos', x0, r));
    case 'cos':
      return [b.neg(b.mul(gbar, b.un('sin', x0, r), r), r)];
    case 'tan':
      return times(b.add(one, b.sq(y, r), r));
    case 'asin':
      return [b.div(gbar, b.un('sqrt', b.sub(one, b.sq(x0, r), r), r), r)];
    case 'acos':
      return [b.neg(b.div(gbar, b.un('sqrt', b.sub(one, b.sq(x0, r), r), r), r), r)];
    case 'atan':
      return [b.div(gbar, b.add(one, b.sq(x0, r), r), r)];
    case 'sinh':
      return times(b.un('cosh', x0, r));
    case 'cosh':
      return times(b.un('sinh', x0, r));
    case 'tanh':
      return times(b.sub(one, b.sq(y, r), r));
    case 'asinh':
      return [b.div(gbar, b.un('sqrt', b.add(one, b.sq(x0, r), r), r), r)];
    case 'acosh':
      return [b.div(gbar, b.un('sqrt', b.sub(b.sq(x0, r), one, r), r), r)];
    case 'atanh':
      return [b.div(gbar, b.sub(one, b.sq(x0, r), r), r)];
    case 'log1p':
      return [b.div(gbar, b.add(one, x0, r), r)];
    case 'erf':
      return times(b.mul(b.c(2 / Math.sqrt(Math.PI), r), b.un('exp', b.neg(b.sq(x0, r), r), r), r));
    case 'sigmoid':
      return times(b.mul(y, b.sub(one, y, r), r));
    case 'softplus':
      return times(b.un('sigmoid', x0, r));
    case 'relu':
      return times(b.un('spike', x0, r, { surrogate: HEAVISIDE }));
    case 'powc': {
      const k = v.attrs.exponent!;
      return times(k === 2 ? b.mul(b.c(2, r), x0, r) : b.mul(b.c(k, r), b.un('powc', x0, r, { exponent: k - 1 }), r));
    }
    case 'spike':
      return times(surrogateDerivative(b, v.attrs.surrogate!, x0, r));
    case 'stop':
      return [undefined];
    case 'add':
      return [gbar, gbar];
    case 'sub':
      return [gbar, b.neg(gbar, r)];
    case 'mul':
      return [b.mul(gbar, x1, r), b.mul(gbar, x0, r)];
    case 'div':
      return [b.div(gbar, x1, r), b.neg(b.div(b.mul(gbar, y, r), x1, r), r)];
    case 'pow':
      return [b.mul(gbar, b.mul(x1, b.bin('pow', x0, b.sub(x1, one, r), r), r), r), b.mul(gbar, b.mul(b.un('log', x0, r), y, r), r)];
    case 'atan2': {
      // atan2(p, q): ∂/∂p = q/(p²+q²), ∂/∂q = −p/(p²+q²)
      const den = b.add(b.sq(x0, r), b.sq(x1, r), r);
      return [b.div(b.mul(gbar, x1, r), den, r), b.neg(b.div(b.mul(gbar, x0, r), den, r), r)];
    }
    case 'max':
    case 'min': {
      // Indicator of the chosen operand (ties go to the second, as in jax.lax.max's rule).
      const d = v.op === 'max' ? b.sub(x0, x1, r) : b.sub(x1, x0, r);
      const pick = b.un('spike', d, r, { surrogate: HEAVISIDE });
      return [b.mul(gbar, pick, r), b.mul(gbar, b.sub(one, pick, r), r)];
    }
    case 'matmul':
      return matmulVjp(b, gbar, x0, x1, r);
    case 'sum': {
      const xs0 = f.vertices[v.inputs[0]!]!.shape;
      const axes = v.attrs.axes ?? xs0.map((_, i) => i);
      const keep = xs0.map((_, i) => i).filter((i) => !axes.includes(i));
      return [b.g.op('broadcast', [gbar], xs0, r, { shape: xs0, axes: keep })];
    }
    case 'broadcast': {
      const xs0 = f.vertices[v.inputs[0]!]!.shape;
      const mapped = v.attrs.axes ?? [];
      const summed = v.shape.map((_, i) => i).filter((i) => !mapped.includes(i));
      return [summed.length ? b.g.op('sum', [gbar], xs0, r, { axes: summed }) : gbar];
    }
    case 'transpose': {
      const perm = v.attrs.perm!;
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [b.g.op('transpose', [gbar], f.vertices[v.inputs[0]!]!.shape, r, { perm: inv })];
    }
    case 'reshape': {
      const xs0 = f.vertices[v.inputs[0]!]!.shape;
      return [b.g.op('reshape', [gbar], xs0, r, { shape: xs0 })];
    }
    default:
      throw new GradError(
        `grad(${f.name}): the adjoint of '${v.op}' is not supported yet (Eligo builds gradients of scalar code, matmul, sum, broadcast, reshape and transpose)`,
        r,
      );
  }
}

function matmulVjp(b: Builder, gbar: number, a: number, c: number, r: Range): number[] {
  const [sa, sc] = [b.shape(a), b.shape(c)];
  const g = b.g;
  const T = (x: number): number => {
    const s = b.shape(x);
    return s.length < 2 ? x : g.op('transpose', [x], [s[1]!, s[0]!], r, { perm: [1, 0] });
  };
  const outer = (p: number, q: number): number => {
    const [m, n] = [sizeOf(b.shape(p)), sizeOf(b.shape(q))];
    const P = g.op('broadcast', [p], [m, n], r, { shape: [m, n], axes: [0] });
    const Q = g.op('broadcast', [q], [m, n], r, { shape: [m, n], axes: [1] });
    return g.op('mul', [P, Q], [m, n], r);
  };
  if (sa.length === 2 && sc.length === 2) return [g.op('matmul', [gbar, T(c)], sa, r), g.op('matmul', [T(a), gbar], sc, r)];
  if (sa.length === 2) return [outer(gbar, c), g.op('matmul', [T(a), gbar], sc, r)];
  if (sc.length === 2) return [g.op('matmul', [c, gbar], sa, r), outer(a, gbar)];
  return [b.mul(gbar, c, r), b.mul(gbar, a, r)];
}
