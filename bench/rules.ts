// Learning rules on the LIF example: per-step multiplications and memory
// counted by the elimination engine, the symbolic scaling next to the
// measured growth exponents, and the wall time of BPTT, RTRL and e-prop for
// n = 16…256 and T = 100, 1000 (RTRL only where its traces fit and a run
// takes seconds); then the time `find-rule` takes to its front on the LIF and
// ALIF examples.
//
// Wall times: a run of the rule's Float64 executor on a random sequence
// (graph/simulate.ts data). Where a full run would exceed the cap, the first
// steps are timed and the total is extrapolated linearly (`extrapolated`).

import { readFileSync } from 'node:fs';
import { compile } from '../language-server/src/compile.js';
import { formatBytes, table } from '../language-server/src/cli/common.js';
import { ruleCost, slope, symbolicScaling } from '../language-server/src/rules/cost.js';
import { findLearningRule } from '../language-server/src/rules/find.js';
import { modelContext, prepareRule, ruleGradient, sampleInput } from '../language-server/src/rules/model.js';
import type { RuleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { writeResult } from './util.js';

const NS = [16, 32, 64, 128, 256];
const TS = [100, 1000];
/** Longest single timed run, ms. */
const CAP_MS = 8000;
/** RTRL is run only while its traces stay below this. */
const RTRL_MAX_BYTES = 64 * 1024 ** 2;

const RULES: { name: string; spec: RuleSpec }[] = [
  { name: 'BPTT', spec: { name: 'bptt', model: 'lif', approximations: [], schedule: { kind: 'reverse' }, objectives: [] } },
  { name: 'RTRL', spec: { name: 'rtrl', model: 'lif', approximations: [], schedule: { kind: 'online' }, objectives: [] } },
  {
    name: 'e-prop',
    spec: {
      name: 'eprop',
      model: 'lif',
      approximations: [
        { of: 'u', wrt: 'z', wrtOffset: 0, kind: 'zero' },
        { of: 'u', wrt: 'u', wrtOffset: 0, kind: 'diagonal' },
      ],
      schedule: { kind: 'online' },
      objectives: [],
    },
  },
];

interface Row {
  rule: string;
  n: number;
  T: number;
  multiplicationsPerStep: number;
  memoryBytes: number;
  wallMs: number | null;
  wallMsPerStep: number | null;
  extrapolated: boolean;
  note?: string;
}

const mib = formatBytes;

export async function benchRules(): Promise<unknown> {
  const lif = readFileSync('examples/lif.eligo', 'utf8');
  const alif = readFileSync('examples/alif.eligo', 'utf8');
  const rows: Row[] = [];
  for (const n of NS) {
    const ctx = modelContext(compile(resizeModel(lif, 'lif', { n })), 'lif');
    for (const r of RULES) {
      const rule = prepareRule(ctx, r.spec);
      // Per-step wall time: a short run first, then the full T where it fits the cap.
      let perStep: number | null = null;
      let note: string | undefined;
      const traceBytes = rule.derived.cost.carriedBytes + rule.derived.cost.transientBytes;
      const feasible = r.name !== 'RTRL' || traceBytes <= RTRL_MAX_BYTES;
      if (!feasible) note = `not run: its traces take ${mib(traceBytes)}`;
      for (const T of TS) {
        const cost = ruleCost(ctx, rule, T);
        let wallMs: number | null = null;
        let extrapolated = false;
        if (feasible) {
          if (perStep === null) {
            // The best of two short runs (the machine may be shared).
            const probe = Math.min(5, T);
            const inp = sampleInput(ctx, probe, 1);
            let best = Infinity;
            for (let k = 0; k < 2; k++) {
              const t0 = performance.now();
              ruleGradient(ctx, rule, inp);
              best = Math.min(best, (performance.now() - t0) / probe);
            }
            perStep = best;
          }
          if (perStep * T <= CAP_MS) {
            const t0 = performance.now();
            ruleGradient(ctx, rule, sampleInput(ctx, T, 1));
            wallMs = performance.now() - t0;
            perStep = wallMs / T;
          } else {
            wallMs = perStep * T;
            extrapolated = true;
          }
        }
        rows.push({
          rule: r.name,
          n,
          T,
          multiplicationsPerStep: cost.multiplicationsPerStep,
          memoryBytes: cost.memoryBytes,
          wallMs,
          wallMsPerStep: wallMs === null ? null : wallMs / T,
          extrapolated,
          ...(note ? { note } : {}),
        });
      }
    }
  }

  // Growth exponents between n = 128 and 256 (counts) and over the two largest timed n (wall time per step).
  const growth = RULES.map((r) => {
    const sym = symbolicScaling(lif, 'lif', r.spec);
    const at = (n: number, T: number): Row => rows.find((x) => x.rule === r.name && x.n === n && x.T === T)!;
    const a = at(128, 1000);
    const b = at(256, 1000);
    const timed = NS.map((n) => at(n, 100)).filter((x) => x.wallMsPerStep !== null);
    const wa = timed[timed.length - 2];
    const wb = timed[timed.length - 1];
    const memT = slope(100, at(256, 100).memoryBytes, 1000, at(256, 1000).memoryBytes);
    return {
      rule: r.name,
      symbolic: {
        compute: sym.compute,
        perSequence: sym.perSequence,
        memory: sym.memory,
        computeDegree: sym.computeDegree,
        memoryDegree: sym.memoryDegree,
        memoryGrowsWithT: sym.memoryGrowsWithT,
      },
      measured: {
        multiplicationsExponent: slope(a.n, a.multiplicationsPerStep, b.n, b.multiplicationsPerStep),
        memoryExponent: slope(a.n, a.memoryBytes, b.n, b.memoryBytes),
        memoryExponentInT: memT,
        wallTimeExponent: wa && wb ? slope(wa.n, wa.wallMsPerStep!, wb.n, wb.wallMsPerStep!) : null,
        wallTimeBetween: wa && wb ? [wa.n, wb.n] : null,
      },
    };
  });

  console.log('\nLearning rules on LIF (examples/lif.eligo), per step: multiplications and memory counted by the engine; wall time of the Float64 executor');
  console.log(
    table(
      ['rule', 'n', 'T', 'mults/step', 'memory', 'wall ms', 'ms/step'],
      rows.map((x) => [
        x.rule,
        x.n,
        x.T,
        x.multiplicationsPerStep,
        mib(x.memoryBytes),
        x.wallMs === null ? '—' : `${x.wallMs.toFixed(0)}${x.extrapolated ? '*' : ''}`,
        x.wallMsPerStep === null ? (x.note ?? '—') : x.wallMsPerStep.toFixed(2),
      ]),
    ),
  );
  console.log('(* extrapolated from the first steps)');
  console.log('\nGrowth with n (counted between n = 128 and 256; wall time between the two largest timed n) and with T');
  console.log(
    table(
      ['rule', 'symbolic compute', 'per sequence', 'symbolic memory', 'mults exp.', 'memory exp.', 'memory exp. in T', 'wall exp.'],
      growth.map((g) => [
        g.rule,
        g.symbolic.compute,
        g.symbolic.perSequence,
        g.symbolic.memory,
        g.measured.multiplicationsExponent.toFixed(2),
        g.measured.memoryExponent.toFixed(2),
        g.measured.memoryExponentInT.toFixed(2),
        g.measured.wallTimeExponent === null ? '—' : `${g.measured.wallTimeExponent.toFixed(2)} (n ${g.measured.wallTimeBetween!.join('→')})`,
      ]),
    ),
  );

  // Find-rule: time to the front.
  const finds = [];
  for (const [file, text, model] of [
    ['lif.eligo', lif, 'lif'],
    ['alif.eligo', alif, 'alif'],
  ] as const) {
    const ctx = modelContext(compile(text), model);
    const t0 = performance.now();
    const res = await findLearningRule(ctx, { budgetMs: 60000, steps: 100, samples: 2, seed: 1 });
    const wall = performance.now() - t0;
    const frontAt = Math.max(0, ...res.front.map((f) => f.atMs));
    finds.push({
      file,
      model,
      budgetMs: 60000,
      wallMs: wall,
      timeToFrontMs: frontAt,
      spaceSize: res.spaceSize,
      evaluated: res.evaluated.length,
      method: res.method,
      stopped: res.stopped,
      skipped: res.skipped.length,
      front: res.front.map((f) => ({
        name: f.known,
        rule: f.ruleName,
        schedule: f.spec.schedule.kind,
        multiplicationsPerStep: f.cost.multiplicationsPerStep,
        memoryBytes: f.cost.memoryBytes,
        cosine: f.alignment.cosine,
        atMs: f.atMs,
      })),
    });
  }
  console.log('\nFind learning rule (budget 60 s, alignment on 2 × 100 steps)');
  console.log(
    table(
      ['model', 'space', 'evaluated', 'time to front s', 'wall s', 'front'],
      finds.map((f) => [
        f.model,
        f.spaceSize,
        f.evaluated,
        (f.timeToFrontMs / 1000).toFixed(1),
        (f.wallMs / 1000).toFixed(1),
        f.front.map((x) => x.name ?? x.rule).join(', '),
      ]),
    ),
  );

  const result = { model: 'lif', ns: NS, steps: TS, capMs: CAP_MS, rows, growth, findRule: finds };
  writeResult('rules', result);
  return result;
}
