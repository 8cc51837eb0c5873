// A learning rule → Loihi 2 learning rules in Lava's form (lava-nc/lava,
// magma/core/learning): per plastic weight a `LoihiLearningRule` whose `dw`
// is a sum of products over x0 (presynaptic spike), y0, u (every epoch),
// presynaptic traces x1, x2 and postsynaptic traces y1–y3, with coefficients
// m·2^e (4-bit mantissa, the learning engine's scaling factor).
//
// The mapping reads the rule's online program (rules/program.ts) in its
// three-factor form, ΔW += λ ⊙ post ⊗ pre:
//   pre   an eligibility trace G(a,W) whose recursion is G[t+1] = α·G[t] + c·s
//         (a constant, uniform decay α of the neuron's own state, the
//         presynaptic activity s entering through W @ s) → an x-trace with
//         tau = −1/ln α steps and an impulse per presynaptic spike;
//   post  the learning signal ∂loss/∂z times the diagonal factors (ψ) → y2,
//         which the postsynaptic neuron's microcode computes (a third factor,
//         as in Lava's GatedHebbianLoihi);
//   a readout whose loss reads W directly (mse(W @ z[t+1], y)) → x0 · y2 with
//         the output error in y2.
// Anything else does not fit and says why (the checks of rules/hardware.ts
// come first). Traces and y2 are 7-bit on chip: the exported impulse and the
// y2 scale are powers of two folded into the coefficient.

import type { Compiled } from '../compile.js';
import type { ModelScope } from '../lang/symbols.js';
import { checkHardware, LOIHI2 } from '../rules/hardware.js';
import type { OnlineProgram, TraceSpec } from '../rules/program.js';
import { EquationReader } from './equations.js';
import { EligoError } from '../util/errors.js';

export interface LavaOptions {
  /** Learning rate η folded into the coefficients (ΔW = −η · gradient estimate). */
  readonly learningRate: number;
  /** Impulse of an x-trace per presynaptic spike (7-bit trace; default 16). */
  readonly impulse?: number;
  /** Scale at which the neuron writes its third factor into y2 (default 64). */
  readonly postScale?: number;
}

export interface QuantisedCoefficient {
  readonly value: number;
  readonly mantissa: number;
  readonly exponent: number;
  /** |m·2^e − value| / |value|. */
  readonly relativeError: number;
  readonly text: string;
}

export interface LavaRule {
  readonly param: string;
  readonly dw: string;
  readonly coefficient: QuantisedCoefficient;
  readonly x1?: { readonly impulse: number; readonly tau: number; readonly trace: string; readonly decay: number; readonly source: string };
  /** What y2 carries, in words. */
  readonly y2: string;
  readonly comments: readonly string[];
}

export interface LavaExport {
  readonly rules: readonly LavaRule[];
  /** Parameters that get no Loihi rule, and why. */
  readonly unfit: readonly { readonly param: string; readonly why: string }[];
  readonly text: string;
}

export class LavaExportError extends EligoError {
  constructor(message: string) {
    super('interop.lava', message);
  }
}

/** c ≈ m·2^e with |m| ≤ 15 (a 4-bit mantissa and a sign), the closest such value. */
export function quantise(c: number): QuantisedCoefficient {
  if (c === 0 || !Number.isFinite(c)) return { value: c, mantissa: 0, exponent: 0, relativeError: c === 0 ? 0 : Infinity, text: '0' };
  let e = Math.floor(Math.log2(Math.abs(c))) - 3; // |c| / 2^e in [8, 16)
  let m = Math.round(c / 2 ** e);
  if (Math.abs(m) > 15) {
    e += 1;
    m = Math.round(c / 2 ** e);
  }
  const q = m * 2 ** e;
  return { value: c, mantissa: m, exponent: e, relativeError: Math.abs(q - c) / Math.abs(c), text: `${m}*2^${e}` };
}

export function exportLava(c: Compiled, scope: ModelScope, program: OnlineProgram, rule: string, opts: LavaOptions): LavaExport {
  const fit = checkHardware(LOIHI2, true, program);
  if (!fit.fits) throw new LavaExportError(`rule '${rule}' does not fit Loihi 2: ${fit.reasons.join('; ')}`);
  const impulse = opts.impulse ?? 16;
  const yScale = opts.postScale ?? 64;
  const rd = new EquationReader(c.checked, scope);
  const rules: LavaRule[] = [];
  const unfit: { param: string; why: string }[] = [];
  const traceOf = new Map(program.traces.map((t) => [t.name, t]));

  for (const u of program.updates) {
    const comments: string[] = [];
    if (u.terms.length === 0 && u.direct && u.lossPrevious.length === 0) {
      // A readout: the loss reads W directly, ℓ^W = ∂loss/∂(W s) ⊗ s.
      const pre = readoutSource(c, scope, u.param);
      if (!pre) {
        unfit.push({ param: u.param, why: `the loss reads ${u.param} other than as mse(${u.param} @ s[t+1], target)` });
        continue;
      }
      const coef = quantise(-opts.learningRate / yScale);
      comments.push(`${u.param}: the loss reads it directly, ΔW = −η · ∂loss/∂(${u.param} @ ${pre}) ⊗ ${pre}[t+1]`);
      comments.push(
        `  x0: the presynaptic spike ${pre}[t+1]; y2: the output error ∂loss/∂(${u.param} @ ${pre}), written by the readout as round(${yScale} · error)`,
      );
      comments.push(
        `  coefficient −η/${yScale} = ${coef.value.toExponential(4)} → ${coef.text} (quantisation error ${(100 * coef.relativeError).toFixed(2)} %)`,
      );
      rules.push({ param: u.param, dw: `${coef.text} * x0 * y2`, coefficient: coef, y2: `∂loss/∂(${u.param} @ ${pre}) · ${yScale}`, comments });
      continue;
    }
    if (u.terms.length !== 1 || u.threeFactor.length !== 1 || u.lossPrevious.length || u.direct) {
      unfit.push({
        param: u.param,
        why: `its update is not one product of a learning signal and one presynaptic trace (${u.terms.length} terms${u.direct ? ' and a direct loss term' : ''})`,
      });
      continue;
    }
    const tf = u.threeFactor[0]!;
    const tr = traceOf.get(tf.pre);
    if (!tr) {
      unfit.push({ param: u.param, why: `its presynaptic factor is a Jacobian block (${tf.pre}), not a trace` });
      continue;
    }
    const x = presynapticTrace(rd, program, tr);
    if (typeof x === 'string') {
      unfit.push({ param: u.param, why: x });
      continue;
    }
    const tau = -1 / Math.log(x.decay);
    const coef = quantise((-opts.learningRate * x.gain) / (impulse * yScale));
    comments.push(`${u.param}: ${tf.equation.text}`);
    comments.push(
      `  Eligo trace ${tr.name} (= ${x.source} filtered: ${tr.name}[t+1] = ${fmt(x.decay)} · ${tr.name}[t] + ${x.gain === 1 ? '' : `${fmt(x.gain)} · `}${x.source}) → Lava x1: impulse ${impulse} per spike of ${x.source}, tau ${fmt(tau)} steps (x1 = ${impulse} · ${tr.name} / ${fmt(x.gain)})`,
    );
    comments.push(
      `  postsynaptic factor λ = ∂loss/∂${tf.learningSignal}[t+1]${tf.post.map((p) => ` · ${p}`).join('')} → Lava y2, written by the neuron as round(${yScale} · λ)`,
    );
    comments.push(
      `  coefficient −η · ${fmt(x.gain)} / (${impulse} · ${yScale}) = ${coef.value.toExponential(4)} → ${coef.text} (quantisation error ${(100 * coef.relativeError).toFixed(2)} %)`,
    );
    rules.push({
      param: u.param,
      dw: `${coef.text} * u0 * x1 * y2`,
      coefficient: coef,
      x1: { impulse, tau, trace: tr.name, decay: x.decay, source: x.source },
      y2: `λ · ${yScale}`,
      comments,
    });
  }
  for (const p of program.untrained) unfit.push({ param: p, why: 'the rule gives it no update' });
  if (rules.length === 0)
    throw new LavaExportError(
      `rule '${rule}' fits Loihi 2's limits, but no weight update maps to a Lava rule: ${unfit.map((x) => `${x.param}: ${x.why}`).join('; ')}`,
    );
  return { rules, unfit, text: lavaText(program, rule, rules, unfit, opts) };
}

/** G[t+1] = α G[t] + gain · s for a state a with a constant uniform self-decay α and W entering as gain · (W @ s). */
function presynapticTrace(rd: EquationReader, program: OnlineProgram, tr: TraceSpec): { decay: number; gain: number; source: string } | string {
  if (!tr.direct) return `trace ${tr.name} has no direct input from ${tr.param}`;
  const self = tr.terms.filter((t) => t.trace === tr.name && t.time === 'previous');
  if (self.length !== 1 || tr.terms.length !== 1)
    return `trace ${tr.name} mixes other traces into its recursion (${tr.terms.map((t) => t.trace).join(', ')}); Loihi's x-traces are filtered spike trains`;
  const block = program.blocks.find((b) => b.id === self[0]!.block)!;
  if (!block.constant || (block.form !== 'diagonal' && block.form !== 'scalar'))
    return `the decay of trace ${tr.name} (${block.id}) is not a constant per-neuron factor`;
  const { poly } = rd.update(tr.state);
  const decay = poly.monos.get(`${tr.state}@0`)?.coef;
  if (decay === undefined || !(decay > 0 && decay < 1)) return `${tr.state}[t+1] does not decay by a constant factor in (0, 1)`;
  for (const m of poly.monos.values())
    if (m.atoms.length > 1 && m.atoms.includes(`${tr.state}@0`))
      return `${tr.state}[t+1]'s decay depends on another state (${m.atoms.join('·')}): not one trace time constant`;
  const terms = [...poly.monos.values()].filter(
    (m) =>
      m.atoms.length === 1 &&
      (() => {
        const a = rd.atomOf(m.atoms[0]!);
        return a.kind === 'matvec' && a.W === tr.param;
      })(),
  );
  if (terms.length !== 1) return `${tr.param} enters ${tr.state}[t+1] other than as one 'c · ${tr.param} @ s'`;
  const atom = rd.atomOf(terms[0]!.atoms[0]!);
  if (atom.kind !== 'matvec') return 'unreachable';
  const op = [...atom.operand.monos.values()];
  if (op.length !== 1 || op[0]!.atoms.length !== 1) return `${tr.param} multiplies a product, not a presynaptic spike train`;
  const src = rd.atomOf(op[0]!.atoms[0]!);
  const at = (o: number): string => (o === 1 ? '[t+1]' : o === 0 ? '[t]' : `[t${o}]`);
  const source = src.kind === 'state' || src.kind === 'input' ? `${src.name}${at(src.offset)}` : '?';
  return { decay, gain: terms[0]!.coef * op[0]!.coef, source };
}

function readoutSource(c: Compiled, scope: ModelScope, W: string): string | undefined {
  const loss = scope.loss;
  if (!loss || loss.kind !== 'call' || loss.callee.name !== 'mse' || loss.args.length !== 2) return undefined;
  const pred = loss.args[0]!;
  if (pred.kind !== 'binary' || pred.op !== '@' || pred.left.kind !== 'name' || pred.left.name !== W) return undefined;
  const r = pred.right;
  if (r.kind === 'time' && r.offset === 1) return r.name.name;
  void c;
  return undefined;
}

const fmt = (x: number): string => String(Number(x.toPrecision(6)));

function lavaText(
  program: OnlineProgram,
  rule: string,
  rules: readonly LavaRule[],
  unfit: readonly { param: string; why: string }[],
  opts: LavaOptions,
): string {
  const lines: string[] = [
    `"""Loihi 2 learning rules for model ${program.model}, rule ${rule}: exported by Eligo (eligo export lava).`,
    '',
    'One LoihiLearningRule per plastic weight, for a LearningDense connection. The dw strings are sums of',
    "products over Lava's symbols (x0 presynaptic spike, u0 every epoch, x1 presynaptic trace, y2 a third",
    'factor the postsynaptic neuron writes); coefficients are m*2^e with a 4-bit mantissa. The learning rate',
    `eta = ${opts.learningRate} is folded in (dw = -eta * gradient estimate).`,
    '',
    `Eligo's online program of ${rule}:`,
    ...program.equations.text.map((l) => `    ${l}`),
    '"""',
    '',
    'from lava.magma.core.learning.learning_rule import LoihiLearningRule',
    '',
  ];
  for (const r of rules) {
    lines.push('');
    for (const cmt of r.comments) lines.push(`# ${cmt}`);
    const args = [`dw=${JSON.stringify(r.dw)}`];
    if (r.x1) args.push(`x1_impulse=${r.x1.impulse}`, `x1_tau=${fmt(r.x1.tau)}`);
    args.push('t_epoch=1');
    lines.push(`${r.param}_rule = LoihiLearningRule(${args.join(', ')})`);
  }
  lines.push('');
  lines.push(`RULES = {${rules.map((r) => `${JSON.stringify(r.param)}: ${r.param}_rule`).join(', ')}}`);
  if (unfit.length) {
    lines.push('');
    lines.push('# Weights without a Loihi rule:');
    for (const u of unfit) lines.push(`#   ${u.param}: ${u.why}`);
  }
  return `${lines.join('\n')}\n`;
}
