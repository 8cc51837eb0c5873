// Builds computational graphs (graph/types.ts) by hand in tests:
//
//   const b = new GraphBuilder('f');
//   const x1 = b.input([], 'x1'), x2 = b.input([], 'x2');
//   const v1 = b.mul(x1, x2);
//   b.output(b.log(b.sin(v1)));
//   const g = b.build();
//
// Shapes are inferred from the operands and attrs; `b.op(op, inputs, attrs, shape)`
// covers anything without a shorthand.

import { sizeOf, type Attrs, type Graph, type Op, type Shape, type Vertex, type VertexRole } from '../../language-server/src/graph/types.js';

interface Draft {
  op: Op;
  shape: Shape;
  inputs: number[];
  attrs: Attrs;
  role: VertexRole;
  name?: string;
}

export class GraphBuilder {
  private readonly drafts: Draft[] = [];
  private readonly ins: number[] = [];
  private readonly outs: number[] = [];

  constructor(
    readonly name = 'test',
    readonly kind: Graph['kind'] = 'function',
  ) {}

  /** An independent variable (listed in graph.inputs). */
  input(shape: Shape = [], name?: string): number {
    const id = this.leaf('input', shape, name);
    this.ins.push(id);
    return id;
  }

  /** A trainable parameter, independent (listed in graph.inputs). */
  param(shape: Shape = [], name?: string): number {
    const id = this.leaf('param', shape, name);
    this.ins.push(id);
    return id;
  }

  /** A leaf that is data: read, but not differentiated (no Jacobian edges). */
  data(shape: Shape = [], name?: string): number {
    return this.leaf('input', shape, name);
  }

  const(value: number | readonly number[], shape: Shape = []): number {
    const data = Float64Array.from(typeof value === 'number' ? Array(sizeOf(shape)).fill(value) : value);
    return this.push({ op: 'const', shape, inputs: [], attrs: { value: data }, role: 'const' });
  }

  private leaf(op: Op, shape: Shape, name?: string): number {
    const d: Draft = { op, shape, inputs: [], attrs: {}, role: op === 'param' ? 'param' : 'input' };
    if (name !== undefined) d.name = name;
    return this.push(d);
  }

  private push(d: Draft): number {
    this.drafts.push(d);
    return this.drafts.length - 1;
  }

  shapeOf(id: number): Shape {
    const d = this.drafts[id];
    if (!d) throw new Error(`no vertex ${id}`);
    return d.shape;
  }

  get size(): number {
    return this.drafts.length;
  }

  /** Any op; the shape is inferred unless given. */
  op(op: Op, inputs: readonly number[], attrs: Attrs = {}, shape?: Shape, name?: string): number {
    for (const u of inputs) if (u < 0 || u >= this.drafts.length) throw new Error(`operand ${u} does not exist`);
    const d: Draft = { op, shape: shape ?? this.infer(op, inputs, attrs), inputs: [...inputs], attrs, role: 'op' };
    if (name !== undefined) d.name = name;
    return this.push(d);
  }

  private infer(op: Op, inputs: readonly number[], attrs: Attrs): Shape {
    const s = inputs.map((u) => this.shapeOf(u));
    switch (op) {
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
      case 'pow':
      case 'atan2':
      case 'max':
      case 'min':
        return s[0]!.length >= s[1]!.length ? s[0]! : s[1]!;
      case 'matmul': {
        const [a, c] = [s[0]!, s[1]!];
        return [...(a.length === 2 ? [a[0]!] : []), ...(c.length === 2 ? [c[1]!] : [])];
      }
      case 'sum':
      case 'reduce_max':
      case 'reduce_min': {
        const axes = attrs.axes ?? s[0]!.map((_, k) => k);
        return s[0]!.filter((_, k) => !axes.includes(k));
      }
      case 'broadcast':
      case 'reshape':
        if (!attrs.shape) throw new Error(`${op} needs attrs.shape`);
        return attrs.shape;
      case 'transpose': {
        const perm = attrs.perm ?? s[0]!.map((_, k) => s[0]!.length - 1 - k);
        return perm.map((p) => s[0]![p]!);
      }
      case 'slice': {
        const x = s[0]!;
        const starts = attrs.starts ?? x.map(() => 0);
        const ends = attrs.ends ?? x;
        const squeeze = attrs.squeeze ?? [];
        return x.map((_, k) => ends[k]! - starts[k]!).filter((_, k) => !squeeze.includes(k));
      }
      case 'concat': {
        const axis = attrs.axis ?? 0;
        const total = s.reduce((acc, x) => acc + x[axis]!, 0);
        return s[0]!.map((n, k) => (k === axis ? total : n));
      }
      default:
        return s[0]!; // elementwise unary
    }
  }

  // Shorthands.
  add(a: number, b: number): number {
    return this.op('add', [a, b]);
  }
  sub(a: number, b: number): number {
    return this.op('sub', [a, b]);
  }
  mul(a: number, b: number): number {
    return this.op('mul', [a, b]);
  }
  div(a: number, b: number): number {
    return this.op('div', [a, b]);
  }
  pow(a: number, b: number): number {
    return this.op('pow', [a, b]);
  }
  powc(a: number, exponent: number): number {
    return this.op('powc', [a], { exponent });
  }
  matmul(a: number, b: number): number {
    return this.op('matmul', [a, b]);
  }
  sum(a: number, axes?: number[]): number {
    return this.op('sum', [a], axes ? { axes } : {});
  }
  neg(a: number): number {
    return this.op('neg', [a]);
  }
  sin(a: number): number {
    return this.op('sin', [a]);
  }
  cos(a: number): number {
    return this.op('cos', [a]);
  }
  exp(a: number): number {
    return this.op('exp', [a]);
  }
  log(a: number): number {
    return this.op('log', [a]);
  }
  sqrt(a: number): number {
    return this.op('sqrt', [a]);
  }
  abs(a: number): number {
    return this.op('abs', [a]);
  }
  tanh(a: number): number {
    return this.op('tanh', [a]);
  }

  /** Marks a vertex as a graph output (in call order). */
  output(id: number): number {
    this.outs.push(id);
    return id;
  }

  build(): Graph {
    const outSet = new Set(this.outs);
    const vertices: Vertex[] = this.drafts.map((d, id) => {
      const v: Vertex = {
        id,
        op: d.op,
        shape: d.shape,
        inputs: d.inputs,
        attrs: d.attrs,
        role: outSet.has(id) && d.role === 'op' ? 'output' : d.role,
        range: { start: id, end: id + 1 },
        ...(d.name !== undefined ? { name: d.name } : {}),
      };
      return v;
    });
    return { name: this.name, kind: this.kind, vertices, inputs: [...this.ins], outputs: [...this.outs] };
  }
}

/** Leaf values as the Map evaluate() takes, from plain arrays keyed by vertex id. */
export function leafValues(graph: Graph, values: Record<number, number | readonly number[]>): Map<number, { shape: Shape; data: Float64Array }> {
  const m = new Map<number, { shape: Shape; data: Float64Array }>();
  for (const [k, v] of Object.entries(values)) {
    const id = Number(k);
    const shape = graph.vertices[id]!.shape;
    m.set(id, { shape, data: Float64Array.from(typeof v === 'number' ? [v] : v) });
  }
  return m;
}
