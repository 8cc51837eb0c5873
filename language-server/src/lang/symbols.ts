// What a name means inside an item, as the checker resolved it.

import type { Shape, Surrogate } from '../graph/types.js';
import type {
  DimDecl, ConstDecl, FunctionItem, GradItem, LetStmt, ModelItem, OdeEq, Range, RuleItem, UpdateEq, VarDecl, FunctionParam,
  Expr, NameRef, TimeRef, Ident, Diagnostic, Program, Call, NameRef as InitRef,
} from './ast.js';

export type SymbolKind = 'dim' | 'const' | 'param' | 'input' | 'target' | 'state' | 'let' | 'argument' | 'item';

export interface Symbol {
  readonly name: string;
  readonly kind: SymbolKind;
  /** Range of the declaring identifier. */
  readonly decl: Range;
  readonly shape: Shape;
  /** Folded value of a dim or const. */
  readonly value?: number;
  readonly node?: VarDecl | LetStmt | FunctionParam | DimDecl | ConstDecl | FunctionItem | ModelItem | RuleItem | GradItem;
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
  readonly surrogate?: Surrogate;
  readonly initialisers: Map<string, Initialiser>;
  /** Initial value of each state (a folded scalar, broadcast to its shape). */
  readonly initialStates: Map<string, number>;
  readonly loss?: Expr;
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
