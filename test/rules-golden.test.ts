// Golden tests: the rules Eligo derives equal the closed forms of the
// literature (Bellec et al. 2020, Nat. Commun. 11:3625, Methods; e-prop), and
// the e-prop factorisation with the full learning signal dE/dz equals BPTT.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compile } from '../language-server/src/compile.js';
import { simulate } from '../language-server/src/graph/simulate.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import { modelContext, prepareRule, ruleGradient, sampleInput, type ModelContext } from '../language-server/src/rules/model.js';
import { ruleSpec, type RuleSpec } from '../language-server/src/rules/rule.js';
import { BlockEvaluator } from '../language-server/src/rules/blocks.js';
import { runReverse } from '../language-server/src/rules/schedules.js';

function load(file: string, model: string): { ctx: ModelContext; rules: Map<string, RuleSpec> } {
  const c = compile(readFileSync(`examples/${file}`, 'utf8'));
  const ctx = modelContext(c, model);
  const rules = new Map<string, RuleSpec>();
  for (const [name, s] of c.checked.items) if (s.kind === 'rule') rules.set(name, ruleSpec(s.item));
  return { ctx, rules };
}

/** max |a − b| / max |b| over all entries of all parameters. */
function relErr(a: Map<string, Float64Array>, b: Map<string, Float64Array>): number {
  let num = 0;
  let den = 0;
  for (const [k, x] of b) {
    const y = a.get(k)!;
    for (let i = 0; i < x.length; i++) {
      num = Math.max(num, Math.abs(y[i]! - x[i]!));
      den = Math.max(den, Math.abs(x[i]!));
    }
  }
  return num / den;
}

function scaleParam(p: ReadonlyMap<string, Tensor>, name: string, f: number): void {
  const t = p.get(name)!;
  for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * f;
}

const fastSigmoid = (x: number): number => 1 / (1 + 10 * Math.abs(x)) ** 2;
const triangle = (x: number): number => Math.max(0, 1 - Math.abs(x));

describe('rules: golden tests against closed-form e-prop (Bellec et al. 2020)', () => {
  it('LIF: the derived e-prop equals e_ji = ψ_j · z̄_i with z̄ low-pass filtered by α, times the learning signal', () => {
    const { ctx, rules } = load('lif.eligo', 'lif');
    const T = 60;
    const input = sampleInput(ctx, T, 11);
    scaleParam(input.params, 'W_in', 6);
    const derived = ruleGradient(ctx, prepareRule(ctx, rules.get('eprop')!), input).gradient;

    // Closed form, from the simulated trajectory.
    const n = 64,
      nIn = 20,
      nOut = 2,
      alpha = Math.exp(-1 / 20),
      theta = 1;
    const tr = simulate(ctx.graph, input.params as Map<string, Tensor>, input.data as Map<string, Tensor[]>, T, input.initial);
    const Wout = input.params.get('W_out')!.data;
    const zbar = new Float64Array(n);
    const xbar = new Float64Array(nIn);
    let zPrev = new Float64Array(n);
    const dWrec = new Float64Array(n * n);
    const dWin = new Float64Array(n * nIn);
    const dWout = new Float64Array(nOut * n);
    let spikes = 0;
    for (let t = 0; t < T; t++) {
      const u = tr.states[t]!.get('u')!.data;
      const z = tr.states[t]!.get('z')!.data;
      const x = input.data.get('x')![t]!.data;
      const y = input.data.get('y')![t]!.data;
      for (let i = 0; i < n; i++) zbar[i] = alpha * zbar[i]! + zPrev[i]!;
      for (let i = 0; i < nIn; i++) xbar[i] = alpha * xbar[i]! + x[i]!;
      // Learning signal L_j = ∂loss/∂z_j = Σ_k W_out[k, j] · 2 (W_out z − y)_k / n_out.
      const err = new Float64Array(nOut);
      for (let k = 0; k < nOut; k++) {
        let s = -y[k]!;
        for (let j = 0; j < n; j++) s += Wout[k * n + j]! * z[j]!;
        err[k] = (2 * s) / nOut;
      }
      for (let j = 0; j < n; j++) {
        spikes += z[j]!;
        let L = 0;
        for (let k = 0; k < nOut; k++) L += Wout[k * n + j]! * err[k]!;
        const psi = fastSigmoid(u[j]! - theta);
        for (let i = 0; i < n; i++) dWrec[j * n + i] = dWrec[j * n + i]! + L * psi * zbar[i]!;
        for (let i = 0; i < nIn; i++) dWin[j * nIn + i] = dWin[j * nIn + i]! + L * psi * xbar[i]!;
        for (let k = 0; k < nOut; k++) dWout[k * n + j] = dWout[k * n + j]! + err[k]! * z[j]!;
      }
      zPrev = Float64Array.from(z);
    }
    assert.ok(spikes > 20, `the sample should spike (got ${spikes} spikes)`);
    const closed = new Map([
      ['W_in', dWin],
      ['W_rec', dWrec],
      ['W_out', dWout],
    ]);
    assert.ok(relErr(derived, closed) < 1e-12, `relative error ${relErr(derived, closed)}`);
  });

  it('ALIF: the derived e-prop has the two-component eligibility vector (z̄, ε^a), ψ with γ = 0.3 and refractoriness, and the readout filter F_κ', () => {
    const { ctx, rules } = load('alif.eligo', 'alif');
    const T = 60;
    const input = sampleInput(ctx, T, 5);
    // Larger input weights so that the sample spikes (and neurons go refractory) within 60 steps.
    for (let i = 0; i < input.params.get('W_in')!.data.length; i++) input.params.get('W_in')!.data[i]! *= 4;
    const derived = ruleGradient(ctx, prepareRule(ctx, rules.get('eprop')!), input).gradient;

    // Bellec et al. 2020, Methods: e_ji = ψ_j (z̄_i − β ε^a_ji), ε^a ← ρ ε^a + e (previous step),
    // ψ_j = γ/v_th · max(0, 1 − |v_j − A_j|/v_th), 0 while refractory; ΔW_ji = Σ_t L_j^t F_κ(e_ji)^t with
    // the readout's filter F_κ(e)^t = κ F^{t−1} + (1 − κ) e^t and L_j = Σ_k W_out,kj (∂loss/∂logit_k).
    const n = 100,
      nIn = 40,
      nOut = 2;
    const alpha = Math.exp(-1 / 20),
      rho = Math.exp(-1 / 2000),
      kappa = Math.exp(-1 / 20),
      vth = 0.6;
    const beta = (1.7 * (1 - rho)) / (1 - alpha),
      gamma = 0.3;
    const tr = simulate(ctx.graph, input.params as Map<string, Tensor>, input.data as Map<string, Tensor[]>, T, input.initial);
    const Wout = input.params.get('W_out')!.data;
    const zbar = new Float64Array(n); // ε^v for W_rec: presynaptic spikes filtered by α
    const xbar = new Float64Array(nIn);
    const epsA = new Float64Array(n * n); // ε^a_ji
    const epsAin = new Float64Array(n * nIn);
    const eRec = new Float64Array(n * n); // e_ji of the previous step (feeds ε^a)
    const eIn = new Float64Array(n * nIn);
    const fRec = new Float64Array(n * n); // F_κ(e_ji)
    const fIn = new Float64Array(n * nIn);
    let zPrev = new Float64Array(n);
    let rPrev = new Float64Array(n);
    const dWrec = new Float64Array(n * n);
    const dWin = new Float64Array(n * nIn);
    const dWout = new Float64Array(nOut * n);
    let spikes = 0;
    let refractory = 0;
    for (let t = 0; t < T; t++) {
      const v = tr.states[t]!.get('v')!.data;
      const a = tr.states[t]!.get('a')!.data;
      const z = tr.states[t]!.get('z')!.data;
      const zb = tr.states[t]!.get('zbar')!.data;
      const x = input.data.get('x')![t]!.data;
      const y = input.data.get('y')![t]!.data;
      for (let i = 0; i < n; i++) zbar[i] = alpha * zbar[i]! + zPrev[i]!;
      for (let i = 0; i < nIn; i++) xbar[i] = alpha * xbar[i]! + x[i]!;
      // ∂ cross_entropy(l, y)/∂l_k = softmax(l)_k · Σ y − y_k, l = W_out z̄ (the readout's filtered spikes).
      const logits = new Float64Array(nOut);
      for (let k = 0; k < nOut; k++) for (let j = 0; j < n; j++) logits[k] = logits[k]! + Wout[k * n + j]! * zb[j]!;
      const m = Math.max(...logits);
      const ex = Array.from(logits, (l) => Math.exp(l - m));
      const sy = Array.from(y).reduce((p, q) => p + q, 0);
      const err = ex.map((e, k) => (e / ex.reduce((p, q) => p + q, 0)) * sy - y[k]!);
      for (let j = 0; j < n; j++) {
        spikes += z[j]!;
        if (rPrev[j]! > 0) refractory++;
        const psi = rPrev[j]! > 0 ? 0 : (gamma * triangle((v[j]! - (vth + beta * a[j]!)) / vth)) / vth;
        let L = 0; // L_j = Σ_k B_jk err_k with B = W_outᵀ (symmetric e-prop)
        for (let k = 0; k < nOut; k++) L += Wout[k * n + j]! * err[k]!;
        for (let i = 0; i < n; i++) {
          const q = j * n + i;
          epsA[q] = rho * epsA[q]! + eRec[q]!;
          eRec[q] = psi * (zbar[i]! - beta * epsA[q]);
          fRec[q] = kappa * fRec[q]! + (1 - kappa) * eRec[q];
          dWrec[q] = dWrec[q]! + L * fRec[q];
        }
        for (let i = 0; i < nIn; i++) {
          const q = j * nIn + i;
          epsAin[q] = rho * epsAin[q]! + eIn[q]!;
          eIn[q] = psi * (xbar[i]! - beta * epsAin[q]);
          fIn[q] = kappa * fIn[q]! + (1 - kappa) * eIn[q];
          dWin[q] = dWin[q]! + L * fIn[q];
        }
        for (let k = 0; k < nOut; k++) dWout[k * n + j] = dWout[k * n + j]! + err[k]! * zb[j]!;
      }
      zPrev = Float64Array.from(z);
      rPrev = Float64Array.from(tr.states[t]!.get('r')!.data);
    }
    assert.ok(spikes > 20, `the sample should spike (got ${spikes} spikes)`);
    assert.ok(refractory > 0, 'some neuron should be refractory in the sample');
    const closed = new Map([
      ['W_in', dWin],
      ['W_rec', dWrec],
      ['W_out', dWout],
    ]);
    assert.ok(relErr(derived, closed) < 1e-12, `relative error ${relErr(derived, closed)}`);
  });

  it('LIF: e-prop with the full learning signal dE/dz (from BPTT) equals the BPTT gradient', () => {
    const { ctx, rules } = load('lif.eligo', 'lif');
    const T = 50;
    const input = sampleInput(ctx, T, 3);
    scaleParam(input.params, 'W_in', 6);
    scaleParam(input.params, 'W_rec', 8);
    const exact = prepareRule(ctx, rules.get('bptt')!);
    const ev = new BlockEvaluator(ctx.structure, exact.approx.blocks);
    const bptt = runReverse(ev, exact.approx.blocks, input);
    // Σ_t (dE/dz[t+1])_j · e_ji[t+1], e_ji = ψ_j z̄_i: the e-prop factorisation (Bellec eq. 1).
    const n = 64,
      nIn = 20,
      alpha = Math.exp(-1 / 20),
      theta = 1;
    const tr = simulate(ctx.graph, input.params as Map<string, Tensor>, input.data as Map<string, Tensor[]>, T, input.initial);
    const zbar = new Float64Array(n);
    const xbar = new Float64Array(nIn);
    let zPrev = new Float64Array(n);
    const dWrec = new Float64Array(n * n);
    const dWin = new Float64Array(n * nIn);
    let recurrent = 0;
    for (let t = 0; t < T; t++) {
      const u = tr.states[t]!.get('u')!.data;
      const x = input.data.get('x')![t]!.data;
      for (let i = 0; i < n; i++) zbar[i] = alpha * zbar[i]! + zPrev[i]!;
      for (let i = 0; i < nIn; i++) xbar[i] = alpha * xbar[i]! + x[i]!;
      const dEdz = bptt.adjoints[t]!.get('z')!;
      for (let j = 0; j < n; j++) {
        const psi = fastSigmoid(u[j]! - theta);
        for (let i = 0; i < n; i++) dWrec[j * n + i] = dWrec[j * n + i]! + dEdz[j]! * psi * zbar[i]!;
        for (let i = 0; i < nIn; i++) dWin[j * nIn + i] = dWin[j * nIn + i]! + dEdz[j]! * psi * xbar[i]!;
      }
      zPrev = Float64Array.from(tr.states[t]!.get('z')!.data);
      recurrent += zPrev.reduce((s, v) => s + v, 0);
    }
    assert.ok(recurrent > 20, 'the sample should spike');
    const factorised = new Map([
      ['W_in', dWin],
      ['W_rec', dWrec],
    ]);
    const reference = new Map([
      ['W_in', bptt.gradient.get('W_in')!],
      ['W_rec', bptt.gradient.get('W_rec')!],
    ]);
    assert.ok(relErr(factorised, reference) < 1e-10, `relative error ${relErr(factorised, reference)}`);
    // …and the partial learning signal (plain e-prop) is not exact here: the recurrent credit is missing.
    const eprop = ruleGradient(ctx, prepareRule(ctx, rules.get('eprop')!), input).gradient;
    assert.ok(relErr(eprop, reference) > 1e-3);
  });
});
