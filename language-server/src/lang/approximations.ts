// The approximation kinds of a rule's `approximate d(A)/d(B) = KIND` line,
// written once: the parser reads them from here, the checker and the rules
// engine type them from here, completion offers them from here, and the graph
// view labels blocks with them. A new kind (a banded or low-rank block, say)
// is one entry below plus its meaning in rules/blocks.ts — the switch there
// over ApproxKind is exhaustive, so the compiler points at what is missing.
//
// Some kinds take arguments in parentheses, `random(scale = 0.1, seed = 3)`,
// `top(4)` (the first argument may be written without its name). Rule-wide
// approximations (`truncate K`, `quantize traces …`) are statements of their
// own: RULE_STATEMENTS below.

export interface ApproximationArg {
  readonly name: string;
  /** null: required; 'auto': computed by the rules engine (the description says how). */
  readonly default: number | 'auto' | null;
  /** Whole numbers only. */
  readonly integer: boolean;
  /** Smallest value allowed (inclusive unless `exclusiveMin`). */
  readonly min: number;
  readonly exclusiveMin?: boolean;
  readonly description: string;
}

export interface ApproximationInfo {
  /** The kind as the AST and the rules engine name it. */
  readonly kind: string;
  /** How a rule writes it after `=`. */
  readonly written: string;
  /** One line for completion and hovers. */
  readonly description: string;
  /** Arguments in parentheses after the word (none: the kind takes none). */
  readonly args?: readonly ApproximationArg[];
}

const SEED: ApproximationArg = { name: 'seed', default: 1, integer: true, min: 0, description: 'seed of the fixed random matrix' };

export const APPROXIMATIONS = [
  { kind: 'zero', written: '0', description: 'drop the block: no credit flows through it (e-prop drops d(u[t+1])/d(z))' },
  { kind: 'diagonal', written: 'diagonal', description: "keep only the diagonal of a square block (SnAp-1, e-prop's d(u[t+1])/d(u))" },
  { kind: 'dense', written: 'dense', description: 'keep the block exactly, stored dense' },
  { kind: 'stop', written: 'stop', description: 'a stop-gradient: the forward value is used, no gradient flows back' },
  {
    kind: 'filter',
    written: 'filter',
    description:
      "a scalar filter o[t+1] = κ·o + C·x (κ, C constant): filter the eligibility trace instead of keeping one per output (Bellec et al. 2020's F_κ); exact",
  },
  {
    kind: 'random',
    written: 'random',
    description: "random feedback: the operand's credit through W @ operand uses a fixed random matrix instead of W (random e-prop; RFLO, Murray 2019)",
    args: [
      {
        name: 'scale',
        default: 'auto',
        integer: false,
        min: 0,
        exclusiveMin: true,
        description: 'standard deviation of the entries (default 1/√(operand size), the scale of a standard initialiser of W)',
      },
      SEED,
    ],
  },
  {
    kind: 'local',
    written: 'local',
    description:
      "layer-local: no credit across this block; the operand's layer gets its learning signal from the output error through a fixed random matrix (layer-local e-prop)",
    args: [
      {
        name: 'scale',
        default: 'auto',
        integer: false,
        min: 0,
        exclusiveMin: true,
        description: 'standard deviation of the entries (default 1/√(operand size), as a readout of that layer)',
      },
      SEED,
    ],
  },
  {
    kind: 'top',
    written: 'top',
    description: 'keep the k entries of each row of largest magnitude on the data, traces on the SnAp-2 pattern (Menick et al. 2021)',
    args: [{ name: 'k', default: null, integer: true, min: 1, description: 'entries kept per row' }],
  },
] as const satisfies readonly ApproximationInfo[];

export type ApproxKind = (typeof APPROXIMATIONS)[number]['kind'];

/** The words a rule may write after `=`, in order. */
export const APPROXIMATION_WORDS: readonly string[] = APPROXIMATIONS.map((a) => a.written);

/** `0, diagonal, dense or stop`, for messages. */
export const APPROXIMATION_LIST = `${APPROXIMATION_WORDS.slice(0, -1).join(', ')} or ${APPROXIMATION_WORDS[APPROXIMATION_WORDS.length - 1]}`;

/** The kind a rule's word (or the number 0) stands for. */
export function approximationOf(written: string): ApproxKind | undefined {
  return APPROXIMATIONS.find((a) => a.written === written)?.kind;
}

/** The arguments a kind takes (empty for most). */
export function approximationArgs(kind: ApproxKind): readonly ApproximationArg[] {
  const info: ApproximationInfo = APPROXIMATIONS.find((a) => a.kind === kind)!;
  return info.args ?? [];
}

/** Rule-wide approximations: statements of a rule, not kinds of one block. */
export const RULE_STATEMENTS = [
  {
    word: 'truncate',
    written: 'truncate K',
    description: 'credit through time kept within windows of K steps (truncated BPTT; online: traces restart every K steps — the same gradient)',
  },
  {
    word: 'quantize',
    written: 'quantize traces B bits [nearest|stochastic] [seed S]',
    description: 'carried traces rounded to B-bit fixed point (a shared power-of-two scale per trace and step) as a chip holds them',
  },
] as const;

export const ROUNDINGS = ['nearest', 'stochastic'] as const;
export type Rounding = (typeof ROUNDINGS)[number];
