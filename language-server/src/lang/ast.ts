// The abstract syntax tree of the Eligo model language (shared/LANGUAGE.md).
//
// Every node carries `range`: half-open character offsets [start, end) into
// the source text. Line/column positions are derived on demand through
// `LineIndex` (source.ts), so the tree stays cheap to build on every keystroke.
// The parser recovers from errors: where it could not read a node it puts an
// `ErrorExpr` (expressions) or drops the statement, and records a diagnostic.

import type { CodeSeverity, DiagnosticCodeOf } from '../util/codes.js';

export interface Range {
  readonly start: number;
  readonly end: number;
}

export interface Node {
  readonly range: Range;
}

/** An identifier with its own range (for go-to-definition, rename, hover). */
export interface Ident extends Node {
  readonly name: string;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | NumberLit
  | NameRef
  | Unary
  | Binary
  | Call
  | Index
  | TimeRef
  | ListLit
  | ErrorExpr;

export interface NumberLit extends Node {
  readonly kind: 'number';
  readonly value: number;
  /** The literal as written (for formatting and messages). */
  readonly text: string;
}

export interface NameRef extends Node {
  readonly kind: 'name';
  readonly name: string;
}

export interface Unary extends Node {
  readonly kind: 'unary';
  readonly op: '-' | '+';
  readonly operand: Expr;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '@' | '^';

export interface Binary extends Node {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** Range of the operator token itself. */
  readonly opRange: Range;
}

/** `name = value` inside a call: `sum(x, axis = 0)`, `fast_sigmoid(slope = 10)`. */
export interface NamedArg extends Node {
  readonly name: Ident;
  readonly value: Expr;
}

export interface Call extends Node {
  readonly kind: 'call';
  readonly callee: Ident;
  readonly args: readonly Expr[];
  readonly named: readonly NamedArg[];
}

/** One subscript of `x[...]`: a constant index or a constant slice `a:b`. */
export type Subscript =
  | { readonly kind: 'at'; readonly index: Expr; readonly range: Range }
  | { readonly kind: 'slice'; readonly start?: Expr; readonly end?: Expr; readonly range: Range };

export interface Index extends Node {
  readonly kind: 'index';
  readonly target: Expr;
  readonly subscripts: readonly Subscript[];
}

/**
 * `s[t]` or `s[t+1]` (also `x[t+1]` for inputs and targets): a read of a
 * time-indexed quantity. `offset` is 0 for `[t]` and 1 for `[t+1]`.
 * A delay reads further back: `z[t-k]` (offset 0) and `x[t+1-k]` (offset 1)
 * carry the constant k in `delay`; the step read is t + offset − k.
 */
export interface TimeRef extends Node {
  readonly kind: 'time';
  readonly name: Ident;
  readonly offset: number;
  /** k of `[t-k]` / `[t+1-k]`: a constant expression the checker folds (a positive integer). */
  readonly delay?: Expr;
  /** A subscript on `t` that is none of the forms above (`[t+2]`, `[t*2]`): the text as written, for the checker's message. */
  readonly invalid?: string;
}

/** `[1, 0]` — used for shapes and permutations in `reshape`/`transpose`. */
export interface ListLit extends Node {
  readonly kind: 'list';
  readonly items: readonly Expr[];
}

/** Placeholder where the parser could not read an expression. */
export interface ErrorExpr extends Node {
  readonly kind: 'error';
}

// ---------------------------------------------------------------- declarations

/** `n = 64` inside `dim n = 64, m = 3` */
export interface DimDecl extends Node {
  readonly kind: 'dim';
  readonly name: Ident;
  readonly value: Expr;
}

/** `alpha = exp(-1/20)` inside `const alpha = ..., theta = 1.0` */
export interface ConstDecl extends Node {
  readonly kind: 'const';
  readonly name: Ident;
  readonly value: Expr;
}

/** A shape annotation `[n, m]`: each entry an expression folding to an integer. */
export interface ShapeAnnot extends Node {
  readonly dims: readonly Expr[];
}

/** `c: [3]` in a function's parameter list. */
export interface FunctionParam extends Node {
  readonly name: Ident;
  readonly shape?: ShapeAnnot;
}

/** `let NAME = EXPR` */
export interface LetStmt extends Node {
  readonly kind: 'let';
  readonly name: Ident;
  readonly value: Expr;
}

export interface ReturnStmt extends Node {
  readonly kind: 'return';
  readonly values: readonly Expr[];
}

export interface FunctionItem extends Node {
  readonly kind: 'function';
  readonly name: Ident;
  readonly params: readonly FunctionParam[];
  readonly body: readonly (LetStmt | DimDecl | ConstDecl)[];
  readonly returns?: ReturnStmt;
}

/** `grad(f)` bound at file level: `let g = grad(f)`. */
export interface GradItem extends Node {
  readonly kind: 'grad';
  readonly name: Ident;
  readonly of: Ident;
}

export type Role = 'input' | 'target' | 'param' | 'state';

/**
 * `= data("lif.params.h5", "W_in")` on a param: its initial values come from
 * a dataset of an HDF5 file, relative to the .eligo file (an importer's or a
 * checkpoint's weights). `dataset` defaults to the param's name.
 */
export interface DataRef extends Node {
  readonly kind: 'data';
  readonly file: string;
  readonly fileRange: Range;
  readonly dataset?: string;
  readonly datasetRange?: Range;
}

/** `input x: [n_in]`, `param W: [n, m] ~ normal(0, 0.1)`, `state u: [n] = 0` */
export interface VarDecl extends Node {
  readonly kind: 'var';
  readonly role: Role;
  readonly name: Ident;
  readonly shape?: ShapeAnnot;
  /** `~ normal(0, 0.1)` for params. */
  readonly init?: Call | NameRef;
  /** `= 0` for states. */
  readonly initial?: Expr;
  /** `= data("file.h5", "name")` for params. */
  readonly data?: DataRef;
}

/** `surrogate spike = fast_sigmoid(slope = 10)` */
export interface SurrogateDecl extends Node {
  readonly kind: 'surrogate';
  readonly name: Ident;
  readonly fn: Call | NameRef;
}

/** `u[t+1] = EXPR` */
export interface UpdateEq extends Node {
  readonly kind: 'update';
  readonly target: Ident;
  readonly value: Expr;
}

/** `du/dt = EXPR` */
export interface OdeEq extends Node {
  readonly kind: 'ode';
  readonly target: Ident;
  readonly value: Expr;
}

/**
 * Which steps a loss counts (LANGUAGE.md: loss over time). Without one, every
 * step counts with weight 1: `at last` only the last step T, `for last K` the
 * last K steps, `after K` every step after the first K.
 */
export type LossWhen =
  | { readonly kind: 'last'; readonly range: Range }
  | { readonly kind: 'window'; readonly from: 'end' | 'start'; readonly count: Expr; readonly range: Range };

/** `loss = EXPR`, optionally `at last`, `for last K`, `after K` */
export interface LossEq extends Node {
  readonly kind: 'loss';
  readonly keyword: Range;
  readonly value: Expr;
  readonly when?: LossWhen;
}

export type ModelStmt = DimDecl | ConstDecl | VarDecl | SurrogateDecl | LetStmt | UpdateEq | OdeEq | LossEq;

export interface ModelItem extends Node {
  readonly kind: 'model';
  readonly name: Ident;
  readonly body: readonly ModelStmt[];
}

import type { ApproxKind } from './approximations.js';

export type { ApproxKind };

/** `approximate d(u[t+1])/d(z) = 0` */
export interface ApproxStmt extends Node {
  readonly kind: 'approximate';
  /** The equation: a state with offset 1 (`u[t+1]`), or `loss`. */
  readonly of: Ident;
  readonly ofOffset: number;
  /** The operand: a state (`z` / `z[t]` offset 0, `z[t+1]` offset 1), param or input. */
  readonly wrt: Ident;
  readonly wrtOffset: number;
  readonly approx: ApproxKind;
  readonly approxRange: Range;
  /** `random(scale = 0.1, seed = 2)`, `top(4)`: the kind's arguments as written (names filled in for positional ones). */
  readonly args?: readonly ApproxArg[];
}

export interface ApproxArg {
  readonly name: string;
  readonly value: number;
  readonly range: Range;
}

/** `truncate 20`: credit through time kept within windows of K steps. */
export interface TruncateStmt extends Node {
  readonly kind: 'truncate';
  readonly steps: number;
  readonly stepsRange: Range;
}

/** `quantize traces 7 bits stochastic seed 3`: carried traces in B-bit fixed point. */
export interface QuantizeStmt extends Node {
  readonly kind: 'quantize';
  readonly bits: number;
  readonly bitsRange: Range;
  readonly rounding: 'nearest' | 'stochastic';
  readonly seed: number;
}

export type Schedule =
  | { readonly kind: 'online' | 'reverse' | 'forward'; readonly range: Range }
  | { readonly kind: 'order'; readonly order: readonly Ident[]; readonly range: Range };

export interface ScheduleStmt extends Node {
  readonly kind: 'schedule';
  readonly schedule: Schedule;
}

/** `objective multiplications` / `objective memory` / `objective time` */
export interface ObjectiveStmt extends Node {
  readonly kind: 'objective';
  readonly objective: Ident;
}

/** `limit memory 128 KiB` */
export interface LimitStmt extends Node {
  readonly kind: 'limit';
  readonly what: Ident;
  readonly value: number;
  /** Unit as written (B, KiB, MiB, GiB, KB, MB, ...); absent for plain numbers. */
  readonly unit?: Ident;
}

export type RuleStmt = ApproxStmt | ScheduleStmt | ObjectiveStmt | LimitStmt | TruncateStmt | QuantizeStmt;

export interface RuleItem extends Node {
  readonly kind: 'rule';
  readonly name: Ident;
  readonly model: Ident;
  readonly body: readonly RuleStmt[];
}

/** File-level `dim` and `const` lines are items too. */
export type Item = FunctionItem | ModelItem | RuleItem | GradItem | DimDecl | ConstDecl;

export interface Program extends Node {
  readonly items: readonly Item[];
}

// ---------------------------------------------------------------- diagnostics

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface RelatedInfo {
  readonly range: Range;
  readonly message: string;
}

interface DiagnosticOf<S extends CodeSeverity> {
  readonly range: Range;
  readonly severity: S;
  readonly message: string;
  /** A stable issue code of the catalogue (util/codes.ts), raised with this severity; code actions key off it, never off the message. */
  readonly code: DiagnosticCodeOf<S>;
  readonly related?: readonly RelatedInfo[];
  /** Machine-readable payload for code actions (e.g. the suggested name). */
  readonly data?: unknown;
}

/** A diagnostic whose code and severity agree with the catalogue: a misspelt code, or one raised with another severity, does not compile. */
export type Diagnostic = { [S in CodeSeverity]: DiagnosticOf<S> }[CodeSeverity];
