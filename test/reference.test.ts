// Sanity checks of the plain-TypeScript reference transcriptions
// (test/reference/) and of their agreement with the example files.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  FUNCTION_REFERENCES,
  MODEL_EXAMPLES,
  parseEvalComment,
  referenceValues,
  simulateAlif,
  simulateLif,
  simulateRnn,
  lifParams,
  lifInputs,
  alifParams,
  alifInputs,
  rnnParams,
  rnnInputs,
  ALIF_CONSTS,
  LIF_CONSTS,
} from './reference/index.js';
import { blackScholes, blackScholesGrad, EVAL as BS_EVAL } from './reference/black_scholes.js';
import { flux1d, roeflux1d } from './reference/roeflux_1d.js';
import { flux3d, roeflux3d } from './reference/roeflux_3d.js';
import { robotArmPose } from './reference/robot_arm.js';
import { randomG, ALPHAGRAD_EVAL as G_ALPHAGRAD_EVAL } from './reference/random_g.js';
import { mlp, mlpLogits, EVAL as MLP_EVAL } from './reference/mlp.js';
import { transformer, transformerLogits, EVAL as TF_EVAL } from './reference/transformer.js';
import { erf, flatten, type EvalPoint, type EvalValue } from './reference/util.js';

/** The repository root: the nearest folder above the working directory holding examples/. */
function repoRoot(): string {
  let dir = process.cwd();
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'examples')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}
const EXAMPLES = join(repoRoot(), 'examples');
const readExample = (name: string): string => readFileSync(join(EXAMPLES, name), 'utf8');

/** Expected sizes: item → [number of input values, output sizes]. */
const SIZES: Record<string, [number, number[]]> = {
  roeflux_1d: [6, [1, 1, 1]],
  roeflux_3d: [10, [1, 3, 1]],
  robot_arm: [6, [1, 1, 1, 1, 1, 1]],
  heart_dipole: [8, new Array<number>(8).fill(1)],
  propane: [11, new Array<number>(11).fill(1)],
  black_scholes: [5, [1]],
  black_scholes_grad: [5, [1, 1, 1, 1, 1]],
  random_f: [30, [4, 1, 2, 1, 16]],
  random_g: [15, new Array<number>(20).fill(1)],
  mlp: [86, [1]],
  transformer: [154, [2]],
};

const close = (a: number, b: number, tol: number, what: string): void => {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

/** `function name(p1, p2: [3], W: [n, m])` → [[name, shape or undefined], …] (literal dims only). */
function signature(text: string, item: string): Array<[string, number[] | undefined]> {
  const m = new RegExp(`^function\\s+${item}\\s*\\(([^)]*)\\)`, 'm').exec(text);
  assert.ok(m, `function ${item} not found`);
  const params: Array<[string, number[] | undefined]> = [];
  for (const part of m[1]!.matchAll(/([A-Za-z_]\w*)\s*(?::\s*\[([^\]]*)\])?/g)) {
    params.push([part[1]!, part[2] === undefined ? undefined : part[2].split(',').map((d) => Number(d.trim()))]);
  }
  return params;
}

function shapeOf(v: EvalValue): number[] {
  if (typeof v === 'number') return [];
  const rows = v as (number | number[])[];
  return typeof rows[0] === 'number' ? [rows.length] : [rows.length, (rows[0] as number[]).length];
}

describe('reference transcriptions of the examples', () => {
  const values = referenceValues();

  describe('every function example agrees with its transcription', () => {
    for (const ref of FUNCTION_REFERENCES) {
      it(`${ref.example}: the @eval comment equals the reference point and matches the signature`, () => {
        const text = readExample(ref.example);
        const point = parseEvalComment(text);
        assert.ok(point, `${ref.example} has no '# @eval {...}' line`);
        assert.deepEqual(point, ref.eval);
        const item = ref.example.replace(/\.eligo$/, '');
        const sig = signature(text, item);
        assert.deepEqual(
          Object.keys(point),
          sig.map(([name]) => name),
          'the @eval keys are the parameters, in order',
        );
        for (const [name, shape] of sig) assert.deepEqual(shapeOf(point[name]!), shape ?? [], `shape of ${name}`);
      });
    }
  });

  it('lists every example file and every function item once', () => {
    const files = FUNCTION_REFERENCES.map((r) => r.example).concat(Object.values(MODEL_EXAMPLES));
    for (const f of files) assert.ok(existsSync(join(EXAMPLES, f)), f);
    assert.deepEqual(Object.keys(values).sort(), Object.keys(SIZES).sort());
  });

  for (const [item, [nIn, outSizes]] of Object.entries(SIZES)) {
    it(`${item}: ${nIn} input values -> outputs of sizes ${outSizes.join(', ')}, all finite`, () => {
      const outs = values[item]!;
      assert.deepEqual(
        outs.map((o) => o.length),
        outSizes,
      );
      for (const o of outs) for (const v of o) assert.ok(Number.isFinite(v), `${item}: ${v}`);
      const ref = FUNCTION_REFERENCES.find((r) => r.example === `${item.replace(/_grad$/, '')}.eligo`)!;
      const count = Object.values(ref.eval).reduce<number>((s, v) => s + flatten(v).length, 0);
      assert.equal(count, nIn);
    });
  }

  describe('independent checks', () => {
    it('erf matches tabulated values', () => {
      close(erf(0.5), 0.5204998778130465, 1e-15, 'erf(0.5)');
      close(erf(1), 0.8427007929497149, 1e-15, 'erf(1)');
      close(erf(-2), -0.9953222650189527, 1e-15, 'erf(-2)');
      close(erf(3.5), 0.9999992569016276, 1e-15, 'erf(3.5)');
    });

    // With γ = 0.5 the squared sound speed a2 = (γ − 1)(h − q2/2) is positive
    // only where h < q2/2; these states are chosen so.
    it('RoeFlux_1d: with equal left and right states the flux is the physical flux', () => {
      for (const [u0, u1, u2] of [
        [1, 2, 1],
        [0.5, 1.2, 0.8],
        [2, -3, 1],
      ] as const) {
        const phi = roeflux1d({ ul0: u0, ul1: u1, ul2: u2, ur0: u0, ur1: u1, ur2: u2 }).flat();
        const F = flux1d(u0, u1, u2);
        for (let k = 0; k < 3; k++) close(phi[k]!, F[k]!, 1e-12, `phi${k}`);
      }
    });

    it('RoeFlux_3d: with equal left and right states the flux is the physical flux', () => {
      const u0 = 0.2,
        u: number[] = [0.2, 0.2, 0.4],
        u4 = 0.5;
      const phi = roeflux3d({ ul0: u0, ul: u, ul4: u4, ur0: u0, ur: u, ur4: u4 }).flat();
      const [F0, F, F4] = flux3d(u0, u, u4);
      [F0, ...F, F4].forEach((f, k) => close(phi[k]!, f, 1e-12, `phi${k}`));
    });

    it('RobotArm: the approach vector is a unit vector, and the arm at rest is where the geometry puts it', () => {
      for (const t of [0.02, 0.7, -1.3]) {
        const pose = robotArmPose({ t1: t, t2: 2 * t, t3: -t, t4: 0.5 * t, t5: t + 0.1, t6: -0.3 * t });
        close(pose.ax ** 2 + pose.ay ** 2 + pose.az ** 2, 1, 1e-12, '|a|');
      }
      const rest = robotArmPose({ t1: 0, t2: 0, t3: 0, t4: 0, t5: 0, t6: 0 }).outputs.flat();
      // px = a1 + a2 + a3, py = 0, pz = d1 - d4 - d6
      close(rest[0]!, 175 + 890 + 50, 1e-12, 'px');
      close(rest[1]!, 0, 1e-12, 'py');
      close(rest[2]!, 575 - 1035 - 185, 1e-12, 'pz');
    });

    it('HumanHeartDipole and PropaneCombustion: hand-computed residuals at 0.15', () => {
      const h = values['heart_dipole']!.flat();
      close(h[0]!, 0.3 - 1, 1e-15, 'f1');
      close(h[2]!, -1, 1e-15, 'f3'); // x5x1 + x6x2 - x7x3 - x8x4 = 0
      close(h[4]!, -4 * 0.15 ** 3 - 1, 1e-15, 'f5'); // x57 = x68 = 0
      const p = values['propane']!.flat();
      close(p[0]!, 0.3 - 3, 1e-15, 'f1');
      close(p[4]!, 0, 1e-15, 'f5');
      close(p[10]!, 0.15 - 1.5, 1e-14, 'f11');
    });

    it('BlackScholes: V at all ones, and the closed-form Greeks match central differences', () => {
      // d1 = 1.5, d2 = 0.5: V = Φ(1.5) − e^(−1)·Φ(0.5)
      const Phi = (z: number): number => (1 + erf(z / Math.SQRT2)) / 2;
      close(blackScholes(BS_EVAL), Phi(1.5) - Math.exp(-1) * Phi(0.5), 1e-14, 'V');
      for (const point of [BS_EVAL, { S: 1.2, K: 0.9, r: 0.05, sigma: 0.3, T: 2 }] as EvalPoint[]) {
        const g = blackScholesGrad(point);
        ['S', 'K', 'r', 'sigma', 'T'].forEach((name, i) => {
          const h = 1e-5;
          const up = { ...point, [name]: (point[name] as number) + h };
          const down = { ...point, [name]: (point[name] as number) - h };
          close(g[i]!, (blackScholes(up) - blackScholes(down)) / (2 * h), 1e-8, `dV/d${name}`);
        });
      }
    });

    it("random g: AlphaGrad's point gives NaN in 14 of the 20 outputs, the example's point in none", () => {
      const nan = randomG(G_ALPHAGRAD_EVAL).flat().filter(Number.isNaN).length;
      assert.equal(nan, 14);
    });

    it('MLP and transformer: the cross-entropy equals logsumexp(o)·Σy − Σ y·o', () => {
      const lse = (o: number[]): number => {
        const m = Math.max(...o);
        return m + Math.log(o.reduce((s, v) => s + Math.exp(v - m), 0));
      };
      const o = mlpLogits(MLP_EVAL);
      const y = MLP_EVAL['y'] as number[];
      const sy = y.reduce((s, v) => s + v, 0);
      close(mlp(MLP_EVAL)[0]![0]!, lse(o) * sy - y.reduce((s, v, i) => s + v * o[i]!, 0), 1e-12, 'mlp');
      const z2 = transformerLogits(TF_EVAL);
      const Y = TF_EVAL['y'] as number[][];
      const ce = transformer(TF_EVAL)[0]!;
      z2.forEach((row, i) => {
        const yi = Y[i]!;
        close(ce[i]!, lse(row) * yi.reduce((s, v) => s + v, 0) - yi.reduce((s, v, j) => s + v * row[j]!, 0), 1e-12, `row ${i}`);
      });
    });

    it("MLP: with the reference's gamma = 0 the loss no longer depends on W1", () => {
      const flat = { ...MLP_EVAL, gamma: 0, beta: 1 };
      const W1 = (MLP_EVAL['W1'] as number[][]).map((r) => r.map((v) => v + 0.3));
      close(mlp(flat)[0]![0]!, mlp({ ...flat, W1 })[0]![0]!, 1e-15, 'loss');
      assert.notEqual(mlp(MLP_EVAL)[0]![0], mlp({ ...MLP_EVAL, W1 })[0]![0]);
    });
  });

  describe('model simulations', () => {
    it('LIF: one neuron by hand (spike, subtractive reset, decay)', () => {
      const alpha = LIF_CONSTS.alpha;
      const tr = simulateLif({ W_in: [[1.2]], W_rec: [[0]], W_out: [[1]] }, { x: [[1], [0], [0]], y: [[0], [0], [0]] }, 3);
      assert.deepEqual(
        tr.z.map((z) => z[0]),
        [0, 1, 0, 0],
      );
      close(tr.u[1]![0]!, 1.2, 1e-15, 'u1');
      close(tr.u[2]![0]!, alpha * 1.2 - 1, 1e-15, 'u2'); // reset by theta = 1
      close(tr.u[3]![0]!, alpha * (alpha * 1.2 - 1), 1e-15, 'u3');
      assert.deepEqual(tr.losses, [1, 0, 0]);
      assert.equal(tr.loss, 1);
    });

    it('ALIF: one neuron by hand (refractoriness, then the adaptive threshold, suppress spikes)', () => {
      const { alpha, rho, kappa, v_th } = ALIF_CONSTS;
      const beta = 1.8;
      const tr = simulateAlif(
        { W_in: [[2]], W_rec: [[0]], W_out: [[1], [-1]], beta, n_ref: 2 },
        {
          x: [[1], [1], [1], [0]],
          y: [
            [1, 0],
            [1, 0],
            [0, 1],
            [0, 1],
          ],
        },
        4,
      );
      // t = 1: v = 2 > v_th = A: spike, refractory for 2 steps.
      close(tr.v[1]![0]!, 2, 1e-15, 'v1');
      assert.deepEqual(
        tr.r.map((r) => r[0]),
        [0, 1, 0, 1, 0],
      );
      // t = 2: v = 2α + 2 − v_th is above A = v_th + β·1, but the neuron is refractory.
      const v2 = alpha * 2 + 2 - v_th;
      close(tr.v[2]![0]!, v2, 1e-15, 'v2');
      assert.ok(v2 > v_th + beta, 'above the adapted threshold');
      // t = 3: no reset at t = 2 (no spike); a = ρ·1 since the spike of t = 1; it spikes again.
      const v3 = alpha * v2 + 2;
      close(tr.v[3]![0]!, v3, 1e-15, 'v3');
      assert.deepEqual(
        tr.z.map((z) => z[0]),
        [0, 1, 0, 1, 0],
      );
      close(tr.a[3]![0]!, rho, 1e-15, 'a3');
      close(tr.zbar[1]![0]!, 1 - kappa, 1e-15, 'zbar1');
      // cross-entropy of the readout [zbar, -zbar] against class 0 at t = 1
      const l1 = -Math.log(1 / (1 + Math.exp(-2 * (1 - kappa))));
      close(tr.losses[0]!, l1, 1e-14, 'loss1');
    });

    it('RNN: one unit by hand', () => {
      const tr = simulateRnn({ W_in: [[0.5]], W_rec: [[0.8]], b: [0.1], W_out: [[2]] }, { x: [[1], [-1]], y: [[0.5], [0]] }, 2);
      const h1 = Math.tanh(0.5 + 0.1);
      const h2 = Math.tanh(0.8 * h1 - 0.5 + 0.1);
      close(tr.h[2]![0]!, h2, 1e-15, 'h2');
      close(tr.loss, (2 * h1 - 0.5) ** 2 + (2 * h2) ** 2, 1e-15, 'loss');
    });

    it('seeded full-size runs are deterministic, finite, and the LIF/ALIF layers spike', () => {
      const T = 50;
      const lif1 = simulateLif(lifParams(1), lifInputs(2, T), T);
      const lif2 = simulateLif(lifParams(1), lifInputs(2, T), T);
      assert.deepEqual(lif1, lif2);
      const alif = simulateAlif(alifParams(3), alifInputs(4, T), T);
      const rnn = simulateRnn(rnnParams(5), rnnInputs(6, T), T);
      for (const tr of [lif1, alif, rnn]) {
        assert.ok(Number.isFinite(tr.loss));
        assert.equal(tr.losses.length, T);
        close(
          tr.loss,
          tr.losses.reduce((s, v) => s + v, 0),
          1e-12,
          'summed loss',
        );
      }
      const spikes = (z: number[][]): number => z.flat().reduce((s, v) => s + v, 0);
      assert.ok(spikes(lif1.z) > 0, 'LIF spikes');
      assert.ok(spikes(alif.z) > 0, 'ALIF spikes');
      assert.equal(lif1.u.length, T + 1);
    });

    it('the model examples declare the sizes and constants the simulations use', () => {
      const lif = readExample(MODEL_EXAMPLES.lif);
      assert.match(lif, /dim n_in = 20, n = 64, n_out = 2/);
      assert.match(lif, /const alpha = exp\(-1 \/ 20\), theta = 1\.0/);
      const alif = readExample(MODEL_EXAMPLES.alif);
      assert.match(alif, /const tau_m = 20, tau_a = 2000, tau_out = 20/);
      assert.match(alif, /const v_th = 0\.6 /);
      assert.match(alif, /const beta = 1\.7 \* \(1 - rho\) \/ \(1 - alpha\)/);
      assert.match(alif, /const n_ref = 5 /);
      assert.match(alif, /dim n_in = 40, n = 100, n_out = 2/);
      const rnn = readExample(MODEL_EXAMPLES.rnn);
      assert.match(rnn, /dim n_in = 4, n = 32, n_out = 2/);
      assert.equal(parseEvalComment(lif), undefined);
    });
  });
});
