// top(k): a dense block between states across a step kept sparse — k entries
// per row — with the pattern chosen from data, and the traces it feeds kept on
// the SnAp-2 pattern (Menick et al. 2021, "Practical real time recurrent
// learning with a sparse approximation", ICLR): the influence entries (j, p)
// that one step of the kept block reaches from the diagonal, I ∪ M. Entries
// outside the pattern are dropped every step.
//
// Which entries matter is measured, SnAp's question, on sequences of the task
// (or the model's random sequences): running the rule with the block kept
// diagonal (SnAp-1 for it), the value entry (j, p) of the pattern would
// receive in one step is E[j, p] · G^{p}[p, p, ·], the block entry times the
// operand's diagonal trace; its magnitude, summed over the steps and the
// parameters, ranks the entries of each row.

import { sizeOf } from '../graph/types.js';
import type { ApproximatedBlocks, Approximation, Block } from './blocks.js';
import { BlockEvaluator, approximate } from './blocks.js';
import { deriveProgram } from './derive.js';
import { runOnline, type RunInput, type TraceValue } from './execute.js';
import type { ModelContext } from './model.js';
import type { RuleSpec } from './rule.js';
import { weightedEvaluator } from './weighted.js';

/** The approximated blocks with each top(k) block's mask chosen on `data` (the rule's approximations as written). */
export function chooseMasks(
  ctx: ModelContext,
  approximations: readonly Approximation[],
  approx: ApproximatedBlocks,
  data: readonly RunInput[],
): ApproximatedBlocks {
  const tops = approx.blocks.filter((b) => b.top !== undefined);
  if (!tops.length) return approx;
  // The probe: the same rule with every top block kept diagonal (SnAp-1 for it).
  const probe = approximate(
    ctx.structure,
    approximations.map((a) => (a.kind === 'top' ? { of: a.of, wrt: a.wrt, wrtOffset: a.wrtOffset, kind: 'diagonal' as const } : a)),
  );
  const program = deriveProgram(ctx.structure, probe, null).program;
  // The top blocks' own values, exact, along the same trajectory.
  const exactTops = tops.map((b): Block => {
    const { top: _t, mask: _m, ...rest } = b;
    return { ...rest, approximation: 'exact' };
  });
  const score = new Map(tops.map((b) => [b.id, new Float64Array(sizeOf(b.valueShape))]));
  for (const input of data) {
    const w = input.lossWeights;
    const ev = w ? weightedEvaluator(new BlockEvaluator(ctx.structure, probe.blocks), w) : new BlockEvaluator(ctx.structure, probe.blocks);
    const evTop = w ? weightedEvaluator(new BlockEvaluator(ctx.structure, exactTops), w) : new BlockEvaluator(ctx.structure, exactTops);
    runOnline(program, ev, {
      ...input,
      onStep: (point, previous) => {
        const values = evTop.step(point).values;
        for (const b of tops) {
          const e = values.get(b.id)!;
          const A = sizeOf(b.sparsity.outShape);
          const B = sizeOf(b.sparsity.inShape);
          const diag = operandDiagonal(program, b.wrt.name, B, previous);
          const s = score.get(b.id)!;
          for (let a = 0; a < A; a++) for (let p = 0; p < B; p++) s[a * B + p] = s[a * B + p]! + Math.abs(e[a * B + p]!) * diag[p]!;
        }
      },
    });
  }
  const blocks = approx.blocks.map((b): Block => {
    if (b.top === undefined || b.mask) return b;
    const s = score.get(b.id)!;
    const A = sizeOf(b.sparsity.outShape);
    const B = sizeOf(b.sparsity.inShape);
    const mask: number[] = [];
    // Per row the k largest scores; ties by the block's magnitude order, then by index (deterministic).
    for (let a = 0; a < A; a++) {
      const row = Array.from({ length: B }, (_, p) => p).sort((x, y) => s[a * B + y]! - s[a * B + x]! || x - y);
      mask.push(
        ...row
          .slice(0, b.top)
          .map((p) => a * B + p)
          .sort((x, y) => x - y),
      );
    }
    return { ...b, mask };
  });
  return { ...approx, blocks };
}

/**
 * The spec with each top(k) block's pattern as `approx` chose it (Approximation.mask): prepared again from
 * it — on a job-queue worker, say — the rule is the same without the data the patterns were chosen on.
 */
export function pinPatterns(spec: RuleSpec, approx: ApproximatedBlocks): RuleSpec {
  const approximations = spec.approximations.map((a) => {
    if (a.kind !== 'top') return a;
    const b = approx.blocks.find(
      (x) => x.top !== undefined && x.of === a.of && x.wrt.name === a.wrt && (x.wrt.kind === 'state' ? x.wrt.offset : 0) === a.wrtOffset,
    );
    return b?.mask ? { ...a, mask: b.mask } : a;
  });
  return { ...spec, approximations };
}

/** Σ over the operand's traces and their parameters of |G^{b,W}[p, p, ·]|₁, per operand element p (1 when it has none). */
function operandDiagonal(
  program: ReturnType<typeof deriveProgram>['program'],
  state: string,
  B: number,
  previous: ReadonlyMap<string, TraceValue>,
): Float64Array {
  const out = new Float64Array(B);
  let any = false;
  for (const t of program.traces) {
    if (t.state !== state) continue;
    const g = previous.get(t.name);
    if (!g) continue;
    const P = program.params.find((p) => p.name === t.param)!.shape[0] ?? 1;
    const R = t.valueShape.length ? sizeOf(t.valueShape) / (t.storage === 'dense' ? B * P : t.storage === 'row' ? P : 1) : 1;
    if (P !== B) continue;
    any = true;
    for (let p = 0; p < B; p++) {
      const off = t.storage === 'dense' ? (p * P + p) * R : t.storage === 'row' ? p * R : 0;
      let acc = 0;
      for (let r = 0; r < R; r++) acc += Math.abs(g.values[off + r]!);
      out[p] = out[p]! + acc;
    }
  }
  if (!any) out.fill(1);
  return out;
}

/** The SnAp-2 pattern of a dense trace [J, P, R] under the masks of top blocks [J × P]: (j, j) and the masked (j, p), flat j·P + p. */
export function snapPattern(J: number, P: number, masks: readonly (readonly number[])[]): number[] {
  const keep = new Set<number>();
  for (let j = 0; j < Math.min(J, P); j++) keep.add(j * P + j);
  for (const m of masks) for (const i of m) keep.add(i);
  return [...keep].sort((a, b) => a - b);
}

/** Zeroes the entries of a dense trace [J, P, R] outside its pattern. */
export function keepPattern(values: Float64Array | Float32Array, pattern: readonly number[], R: number, J: number, P: number): void {
  let k = 0;
  for (let f = 0; f < J * P; f++) {
    if (k < pattern.length && pattern[k] === f) {
      k++;
      continue;
    }
    values.fill(0, f * R, f * R + R);
  }
}
