// The approximation kinds of a rule's `approximate d(A)/d(B) = KIND` line,
// written once: the parser reads them from here, the checker and the rules
// engine type them from here, completion offers them from here, and the graph
// view labels blocks with them. A new kind (a banded or low-rank block, say)
// is one entry below plus its meaning in rules/blocks.ts — the switch there
// over ApproxKind is exhaustive, so the compiler points at what is missing.

export interface ApproximationInfo {
  /** The kind as the AST and the rules engine name it. */
  readonly kind: string;
  /** How a rule writes it after `=`. */
  readonly written: string;
  /** One line for completion and hovers. */
  readonly description: string;
}

export const APPROXIMATIONS = [
  { kind: 'zero', written: '0', description: 'drop the block: no credit flows through it (e-prop drops d(u[t+1])/d(z))' },
  { kind: 'diagonal', written: 'diagonal', description: 'keep only the diagonal of a square block (SnAp-1, e-prop\'s d(u[t+1])/d(u))' },
  { kind: 'dense', written: 'dense', description: 'keep the block exactly, stored dense' },
  { kind: 'stop', written: 'stop', description: 'a stop-gradient: the forward value is used, no gradient flows back' },
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
