// The computational graph: one vertex per elemental operation.
//
// This is the contract between the front end (lang/ → graph/build.ts) and
// everything that differentiates or searches (ad/, search/, rules/). Edges are
// the data dependencies `inputs[k] → vertex`; the k-th operand of a vertex is
// `inputs[k]` (so `a - b` keeps its operand order). A vertex may read the same
// source twice (`x * x`): the two partials are summed into one edge by ad/.
//
// Shapes: `[]` is a scalar, `[n]` a vector, `[m, n]` a matrix; values are
// stored row-major in Float64Array.

import type { Range } from '../lang/ast.js';
import type { Shape } from '../lang/shapes.js';
import type { Surrogate } from '../lang/surrogates.js';

// Shapes and surrogates belong to the language (lang/ infers and checks them);
// the graph re-exports them so later stages import one module.
export type { Shape } from '../lang/shapes.js';
export type { Surrogate } from '../lang/surrogates.js';
export { formatShape, sizeOf } from '../lang/shapes.js';

/**
 * Elemental operations. Composite builtins of the language (`mse`,
 * `cross_entropy`, `softmax`, `logsumexp`, `mean`, `dot`, `outer`, `sigmoid`
 * is kept elemental as graphax's `logistic`) are expanded by the builder into
 * these, as JAX tracing expands them for Graphax.
 */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'abs'
  | 'sin'
  | 'cos'
  | 'tan'
  | 'asin'
  | 'acos'
  | 'atan'
  | 'sinh'
  | 'cosh'
  | 'tanh'
  | 'asinh'
  | 'acosh'
  | 'atanh'
  | 'log1p'
  | 'erf'
  | 'sigmoid'
  | 'relu'
  | 'softplus'
  /** x^k with a constant exponent k (attrs.exponent): graphax's integer_pow. */
  | 'powc'
  /** Heaviside forward, surrogate derivative backward (attrs.surrogate). */
  | 'spike'
  /** Identity forward, no gradient (no edge Jacobian). */
  | 'stop';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'atan2' | 'max' | 'min';

export type Op =
  // leaves (no operands)
  | 'input'
  | 'param'
  | 'state'
  | 'target'
  | 'const'
  | UnaryOp
  | BinaryOp
  /** Matrix product: [m,k]@[k,n], [m,k]@[k], [k]@[k,n], [k]@[k] → scalar. */
  | 'matmul'
  /** Sum over attrs.axes (all axes when absent); result drops those axes. */
  | 'sum'
  /** Max / min over attrs.axes; the Jacobian is the arg-extremum indicator / count. */
  | 'reduce_max'
  | 'reduce_min'
  /** Broadcast operand to attrs.shape; attrs.axes lists the result axes the operand maps to. */
  | 'broadcast'
  /** Permute axes by attrs.perm. */
  | 'transpose'
  /** Same data, new attrs.shape. */
  | 'reshape'
  /** Constant slice: attrs.starts / attrs.ends per axis, attrs.squeeze lists axes dropped (x[i]). */
  | 'slice'
  /** Concatenate operands along attrs.axis (stack of scalars = concat of [1]-shaped reshapes). */
  | 'concat';

export interface Attrs {
  readonly axes?: readonly number[];
  readonly axis?: number;
  readonly shape?: Shape;
  readonly perm?: readonly number[];
  readonly starts?: readonly number[];
  readonly ends?: readonly number[];
  readonly squeeze?: readonly number[];
  readonly exponent?: number;
  readonly surrogate?: Surrogate;
  /** Value of a 'const' vertex, row-major, length = product of shape. */
  readonly value?: Float64Array;
}

/**
 * What a vertex is for the user. Leaves: input/param/state/target/const.
 * `output` marks a function result; for models, `state-next` marks the value
 * of `s[t+1]` and `loss` the per-step loss. `op` is any other interior vertex.
 */
export type VertexRole = 'input' | 'param' | 'state' | 'target' | 'const' | 'op' | 'output' | 'state-next' | 'loss';

export interface Vertex {
  readonly id: number;
  readonly op: Op;
  readonly shape: Shape;
  /** Operand vertex ids, in operand order. */
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly role: VertexRole;
  /** The user's name, when the vertex is a named quantity (`let s`, `param W`, `u[t+1]`). */
  readonly name?: string;
  /** Source range of the expression that produced this vertex. */
  readonly range: Range;
  /** The equation / let / return this vertex belongs to (for collapsing in the graph view). */
  readonly group?: string;
  /** Time step in an unrolled model graph (0-based); absent for step graphs and functions. */
  readonly step?: number;
}

export interface Graph {
  /** Item name (function, model or grad item). */
  readonly name: string;
  readonly kind: 'function' | 'model-step' | 'model-unrolled';
  /** Vertices in topological order: every operand id is smaller than its user's id, ids = indices. */
  readonly vertices: readonly Vertex[];
  /**
   * Independent variables of the Jacobian: function parameters; for a model
   * step, the states s[t] then the params. Leaves not listed here (model
   * inputs x[t+1], targets, consts) are data: they carry no Jacobian edges.
   */
  readonly inputs: readonly number[];
  /**
   * Dependent variables: function results; for a model step, the next states
   * s[t+1] then the loss. An output may also feed other vertices (z[t+1] reads
   * u[t+1]); as in Graphax's `vo_vertices`, it is then still eliminable.
   */
  readonly outputs: readonly number[];
}

/** A dense tensor value. */
export interface Tensor {
  readonly shape: Shape;
  readonly data: Float64Array;
}
