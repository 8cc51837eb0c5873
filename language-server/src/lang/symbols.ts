// What a name means inside an item, as the checker resolved it.

import type { Shape } from './shapes.js';
import type { Surrogate } from './surrogates.js';
import type {
  DimDecl,
  ConstDecl,
  FunctionItem,
  GradItem,
  LetStmt,
  ModelItem,
  OdeEq,
  Range,
  RuleItem,
  UpdateEq,
  VarDecl,
  FunctionParam,
  Expr,
  NameRef,
  TimeRef,
  Ident,
  Diagnostic,
  Program,
  Call,
  NameRef as InitRef,
  SurrogateDecl,
} from './ast.js';

export type SymbolKind = 'dim' | 'const' | 'param' | 'input' | 'target' | 'state' | 'let' | 'argument' | 'item' | 'surrogate';

export interface Symbol {
  readonly name: string;
  readonly kind: SymbolKind;
  /** Range of the declaring identifier. */
  readonly decl: Range;
  readonly shape: Shape;
  /** Folded value of a dim or const. */
  readonly value?: number;
  /**
   * Declared, but its own declaration is in error (a dim of 0, a shape too
   * large): uses of it are not reported again, so one mistake gives one error.
   */
  readonly poisoned?: true;
  readonly node?: VarDecl | LetStmt | FunctionParam | DimDecl | ConstDecl | FunctionItem | ModelItem | RuleItem | GradItem | SurrogateDecl;
}

/** A parameter initialiser, resolved: `normal(0, 0.1)`, `uniform(-1, 1)`, `zeros`, `glorot`. */
export type Initialiser =
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'uniform'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'glorot' }
  /**
   * `= data("file.h5", "name")`: values read from a file (interop/paramData.ts loads them,
   * relative to the .eligo file); `values` is set once they are loaded, row-major.
   */
  | { readonly kind: 'data'; readonly file: string; readonly dataset: string; readonly range: Range; values?: Float64Array };

/**
 * A state Eligo adds to a model so that every stage sees ordinary state:
 * the registers of a delay line (`z[t-k]` reads register k of z) and the
 * running readouts over time (`max_over_time`, `mean_over_time`, with the
 * step counter the mean needs).
 */
export type HiddenState =
  | {
      readonly kind: 'delay';
      readonly name: string;
      readonly shape: Shape;
      readonly initial: number;
      readonly range: Range;
      /** The delayed quantity and its role. */
      readonly source: string;
      readonly sourceRole: 'state' | 'input' | 'target';
      /** Register k holds source[t-k] (a state) or source[t+1-k] (data) at step t. */
      readonly depth: number;
    }
  | { readonly kind: 'max' | 'mean'; readonly name: string; readonly shape: Shape; readonly initial: number; readonly range: Range; readonly call: Call }
  | { readonly kind: 'count'; readonly name: string; readonly shape: Shape; readonly initial: number; readonly range: Range };

/** Which steps the loss counts (resolved `at last` / `for last K` / `after K`). */
export type LossWindow =
  | { readonly kind: 'every' }
  | { readonly kind: 'last'; readonly range: Range }
  | { readonly kind: 'window'; readonly from: 'end' | 'start'; readonly count: number; readonly range: Range };

/** A same-step equation of a model, in evaluation order. */
export type StepEquation = LetStmt | UpdateEq | OdeEq;

export interface FunctionScope {
  readonly kind: 'function';
  readonly item: FunctionItem;
  readonly symbols: Map<string, Symbol>;
}

export interface ModelScope {
  readonly kind: 'model';
  readonly item: ModelItem;
  readonly symbols: Map<string, Symbol>;
  /** Lets and updates in an order where every same-step read comes first. */
  readonly order: readonly StepEquation[];
  /** The update (or ODE) of each state. */
  readonly updates: Map<string, UpdateEq | OdeEq>;
  /** The surrogate `spike(x)` uses (the one named `spike`), when declared. */
  readonly surrogate?: Surrogate;
  /** Every declared surrogate by name, `spike` included: `NAME(x)` calls it. */
  readonly surrogates: ReadonlyMap<string, Surrogate>;
  readonly initialisers: Map<string, Initialiser>;
  /** Initial value of each state (a folded scalar, broadcast to its shape). */
  readonly initialStates: Map<string, number>;
  readonly loss?: Expr;
  /** Which steps the loss counts; 'every' without a clause. */
  readonly lossWindow: LossWindow;
  /** States Eligo adds: delay registers and readouts over time, in a stable order. */
  readonly hidden: readonly HiddenState[];
  /** The hidden state of each `max_over_time` / `mean_over_time` call. */
  readonly readouts: ReadonlyMap<Call, string>;
  /** For each equation (state name or 'loss'): every (name, offset) it reads, through lets. */
  readonly reads: Map<string, Set<string>>;
}

export interface RuleScope {
  readonly kind: 'rule';
  readonly item: RuleItem;
  readonly model?: ModelScope;
}

export interface GradScope {
  readonly kind: 'grad';
  readonly item: GradItem;
  readonly of?: FunctionScope;
}

export type ItemScope = FunctionScope | ModelScope | RuleScope | GradScope;

export interface Checked {
  readonly text: string;
  readonly program: Program;
  readonly diagnostics: Diagnostic[];
  readonly fileSymbols: Map<string, Symbol>;
  readonly items: Map<string, ItemScope>;
  /** Shape of every well-typed expression. */
  readonly shapes: Map<Expr, Shape>;
  /** Folded value of every constant scalar expression. */
  readonly constants: Map<Expr, number>;
  /** What each name reference resolves to (for hover, definition, references, rename). */
  readonly references: Map<NameRef | TimeRef | Ident, Symbol>;
}

/** `name@offset` keys for time-indexed reads: `z@0` is z[t], `u@1` is u[t+1]. */
export const readKey = (name: string, offset: number): string => `${name}@${offset}`;

export type { Call, InitRef };
