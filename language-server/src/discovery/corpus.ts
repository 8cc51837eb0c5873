// Models for the rule search's self-play and its benchmark: the shipped
// examples' neuron models at small sizes, and multi-layer variants whose
// spaces of approximations are too large to enumerate (every layer's
// temporal blocks are separate choices: layer-local rules are points of it).

import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resizeModel } from '../rules/variants.js';

/** A recurrent LIF network of `layers` layers, each reading the one below in the same step (Bellec et al. 2020's LIF, stacked). */
export function stackedLif(layers: number, n: number, nIn = 8): string {
  const L = Array.from({ length: layers }, (_, k) => k + 1);
  return [
    `model lif${layers} {`,
    `  dim n_in = ${nIn}, n = ${n}, n_out = 2`,
    '  const alpha = exp(-1 / 20), theta = 1.0',
    '  input  x: [n_in]',
    '  target y: [n_out]',
    ...L.map((k) => `  param  W${k}: [n, ${k === 1 ? 'n_in' : 'n'}] ~ normal(0, ${k === 1 ? 0.3 : 0.3})\n  param  R${k}: [n, n] ~ normal(0, 0.1)`),
    '  param  W_out: [n_out, n] ~ normal(0, 0.3)',
    ...L.map((k) => `  state  u${k}: [n] = 0\n  state  z${k}: [n] = 0`),
    '  surrogate spike = fast_sigmoid(slope = 10)',
    ...L.map(
      (k) =>
        `  u${k}[t+1] = alpha * u${k} + R${k} @ z${k} + W${k} @ ${k === 1 ? 'x[t+1]' : `z${k - 1}[t+1]`} - theta * z${k}\n  z${k}[t+1] = spike(u${k}[t+1] - theta)`,
    ),
    `  loss = mse(W_out @ z${layers}[t+1], y[t+1])`,
    '}',
  ].join('\n');
}

/** A stacked ALIF network with a leaky readout (examples/alif.eligo, `layers` layers). */
export function stackedAlif(layers: number, n: number, nIn = 8): string {
  const L = Array.from({ length: layers }, (_, k) => k + 1);
  return [
    `model alif${layers} {`,
    `  dim n_in = ${nIn}, n = ${n}, n_out = 2`,
    '  const alpha = exp(-1 / 20), rho = exp(-1 / 200), kappa = exp(-1 / 20)',
    '  const v_th = 0.6, beta = 1.8',
    '  input  x: [n_in]',
    '  target y: [n_out]',
    ...L.map((k) => `  param  W${k}: [n, ${k === 1 ? 'n_in' : 'n'}] ~ normal(0, 0.3)\n  param  R${k}: [n, n] ~ normal(0, 0.05)`),
    '  param  W_out: [n_out, n] ~ normal(0, 0.1)',
    ...L.map((k) => `  state  v${k}: [n] = 0\n  state  a${k}: [n] = 0\n  state  z${k}: [n] = 0`),
    '  state  o: [n_out] = 0',
    '  surrogate spike = triangle(width = 1)',
    ...L.map((k) =>
      [
        `  v${k}[t+1] = alpha * v${k} + R${k} @ z${k} + W${k} @ ${k === 1 ? 'x[t+1]' : `z${k - 1}[t+1]`} - v_th * z${k}`,
        `  a${k}[t+1] = rho * a${k} + z${k}`,
        `  z${k}[t+1] = spike((v${k}[t+1] - (v_th + beta * a${k}[t+1])) / v_th)`,
      ].join('\n'),
    ),
    `  o[t+1] = kappa * o + W_out @ z${layers}[t+1]`,
    '  loss = mse(o[t+1], y[t+1])',
    '}',
  ].join('\n');
}

function example(name: string): string {
  for (const dir of [resolve('examples'), join(__dirname, '..', '..', '..', 'examples'), join(__dirname, '..', 'examples')]) {
    const p = join(dir, `${name}.eligo`);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  throw new Error(`examples/${name}.eligo not found`);
}

export interface CorpusModel {
  readonly name: string;
  readonly text: string;
  readonly model: string;
}

/** The self-play models (the benchmark holds out the stacked ALIF). */
export function selfPlayModels(n: number): CorpusModel[] {
  return [
    { name: 'lif', text: resizeModel(example('lif'), 'lif', { n, n_in: 4 }), model: 'lif' },
    { name: 'rnn', text: resizeModel(example('rnn'), 'rnn', { n, n_in: 4 }), model: 'rnn' },
    { name: 'alif', text: resizeModel(example('alif'), 'alif', { n, n_in: 4 }), model: 'alif' },
    { name: 'lif2', text: stackedLif(2, n, 4), model: 'lif2' },
    { name: 'lif3', text: stackedLif(3, n, 4), model: 'lif3' },
  ];
}
