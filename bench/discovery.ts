// `npm run bench -- discovery`: the seed experiment of Assmuth, Lohoff &
// Neftci ("Automatic learning rule discovery for neuromorphic hardware") and
// the rule search's two methods at equal wall time.
//
// 1. Search methods. On models whose spaces are searched (enumeration off),
//    MCTS (shipped network) and annealing each get the same wall time per
//    model and seed; each front of (cost, alignment) is scored by its
//    hypervolume relative to the union of every front found for that model.
// 2. Seed experiment. LIF and ALIF on the correlated task at correlation
//    0, 0.25, 0.5, 0.75, 1 and on permuted Fashion-MNIST: BPTT and e-prop
//    trained on the task, and the best rule find-rule finds that fits Loihi 2
//    (trained inside find-rule's successive halving) — test accuracy,
//    multiplications per step, memory, alignment along the reference run.
//
// The reduced configuration (default) fits a shared 2-core machine in
// minutes; ELIGO_BENCH_FULL=1 runs the long one (n = 100, longer runs) —
// meant for after the compiled trainer lands. Both write
// bench/results/discovery.json and the table in docs/results.md, with the
// settings that produced them.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { stackedAlif, stackedLif } from '../language-server/src/discovery/corpus.js';
import { discoverRules } from '../language-server/src/discovery/find.js';
import { mctsSearch } from '../language-server/src/discovery/mcts.js';
import { trainCandidate } from '../language-server/src/discovery/candidate.js';
import { annealing, findLearningRule, type Candidate, type RuleSearch } from '../language-server/src/rules/find.js';
import { LOIHI2 } from '../language-server/src/rules/hardware.js';
import { modelContextOf } from '../language-server/src/rules/model.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { backendInfo, loadTf } from '../language-server/src/train/backend.js';
import { writeResult } from './util.js';

const FULL = process.env.ELIGO_BENCH_FULL === '1';

// ------------------------------------------------------------ 1. MCTS against annealing

/** Hypervolume of (normalised log cost ↓, alignment ↑) points against reference (1, aRef). */
function hypervolume(points: readonly { c: number; a: number }[], aRef: number): number {
  const pts = [...points].filter((p) => p.a > aRef && p.c < 1).sort((x, y) => x.c - y.c);
  let hv = 0;
  let best = aRef;
  for (let k = 0; k < pts.length; k++) {
    best = Math.max(best, pts[k]!.a);
    const next = k + 1 < pts.length ? pts[k + 1]!.c : 1;
    hv += (next - pts[k]!.c) * (best - aRef);
  }
  return hv;
}

interface MethodRow {
  model: string;
  method: string;
  seed: number;
  seconds: number;
  evaluated: number;
  frontSize: number;
  relativeHypervolume: number;
  load: number;
}

async function compareMethods(): Promise<MethodRow[]> {
  const models = [
    { name: 'ALIF (n = 8)', text: resizeModel(readFileSync('examples/alif.eligo', 'utf8'), 'alif', { n: 8, n_in: 4 }), model: 'alif' },
    { name: '2-layer LIF (n = 8)', text: stackedLif(2, 8, 4), model: 'lif2' },
    { name: '3-layer LIF (n = 6)', text: stackedLif(3, 6, 4), model: 'lif3' },
    { name: '2-layer ALIF (n = 6, not in self-play)', text: stackedAlif(2, 6, 4), model: 'alif2' },
  ];
  const seconds = FULL ? 30 : 8;
  const seeds = FULL ? [1, 2, 3] : [1, 2];
  const rows: MethodRow[] = [];
  for (const m of models) {
    const ctx = modelContextOf(m.text, m.model);
    const runs: { method: string; seed: number; front: Candidate[]; evaluated: number }[] = [];
    for (const seed of seeds) {
      for (const [method, search] of [['mcts', mctsSearch()], ['anneal', annealing]] as [string, RuleSearch][]) {
        const r = await findLearningRule(ctx, { budgetMs: seconds * 1000, steps: 15, samples: 1, seed, maxExhaustive: 0, search });
        runs.push({ method, seed, front: [...r.front], evaluated: r.evaluated.length });
      }
    }
    // Scored per seed: the seed draws the alignment samples, so fronts of different seeds are on different scales.
    for (const seed of seeds) {
      const mine = runs.filter((r) => r.seed === seed);
      const all = mine.flatMap((r) => r.front);
      const cost = (c: Candidate): number => Math.log10(1 + c.cost.multiplicationsPerStep) + Math.log10(1 + c.cost.memoryBytes);
      const lo = Math.min(...all.map(cost));
      const hi = Math.max(...all.map(cost));
      const norm = (c: Candidate): { c: number; a: number } => ({ c: ((cost(c) - lo) / (hi - lo + 1e-9)) * 0.999, a: c.alignmentMean });
      const aRef = Math.min(...all.map((c) => c.alignmentMean)) - 0.01;
      const union = hypervolume(all.map(norm), aRef);
      for (const r of mine) {
        rows.push({
          model: m.name, method: r.method, seed: r.seed, seconds, evaluated: r.evaluated, frontSize: r.front.length,
          relativeHypervolume: union > 0 ? hypervolume(r.front.map(norm), aRef) / union : 0, load: loadavg()[0]!,
        });
        console.log(`  ${m.name}, ${r.method}, seed ${r.seed}: ${r.evaluated} evaluated, front ${r.front.length}, hypervolume ${(rows.at(-1)!.relativeHypervolume * 100).toFixed(1)} % of the union`);
      }
    }
  }
  return rows;
}

// ------------------------------------------------------------ 2. the seed experiment

interface SeedRow {
  model: string;
  n: number;
  task: string;
  rule: string;
  found: string | null;
  testAccuracy: number | null;
  trainAccuracy: number | null;
  updates: number;
  multiplicationsPerStep: number;
  memoryBytes: number;
  alignmentMean: number | null;
  fitsLoihi2: boolean | null;
  converged: string;
  why?: string;
}

function converged(curve: readonly number[]): string {
  // Not converged unless the last two evaluations agree within 1 point (a crude test, stated as such).
  if (curve.length < 2) return 'not known (one evaluation)';
  const [a, b] = curve.slice(-2) as [number, number];
  return Math.abs(a - b) <= 0.01 ? 'flat over the last rung' : 'no: still changing';
}

async function seedExperiment(): Promise<{ rows: SeedRow[]; settings: Record<string, unknown> }> {
  const n = FULL ? 100 : 12;
  const T = FULL ? 100 : 30;
  const settings = {
    n, T, batch: FULL ? 32 : 8, referenceUpdates: FULL ? 100 : 6, minUpdates: FULL ? 20 : 4, findBudgetSeconds: FULL ? 600 : 25, baselineUpdates: FULL ? 300 : 12,
    maxTrained: FULL ? 9 : 3, evalSamples: FULL ? 1000 : 128, learningRate: 0.005, seed: 1,
  };
  const tasks = [0, 0.25, 0.5, 0.75, 1].map((c) => `correlated:T=${T},correlation=${c}`);
  tasks.push(`fashion-permuted:T=${FULL ? 196 : 28}`);
  const models = [
    { name: 'LIF', file: 'examples/lif.eligo', model: 'lif' },
    { name: 'ALIF', file: 'examples/alif.eligo', model: 'alif' },
  ];
  const rows: SeedRow[] = [];
  for (const m of models) {
    for (const task of tasks) {
      const nOut = task.startsWith('fashion') ? 10 : 2;
      const nIn = task.startsWith('fashion') ? (FULL ? 4 : 28) : 20;
      const text = resizeModel(readFileSync(m.file, 'utf8'), m.model, { n, n_in: nIn, n_out: nOut });
      const ctx = modelContextOf(text, m.model);
      // Baselines: BPTT and e-prop as written in the example, trained on the task.
      for (const rule of ['bptt', 'eprop']) {
        try {
          const r = await trainCandidate({ version: 1, text, model: m.model, rule, task, updates: settings.baselineUpdates, batch: settings.batch, seed: 1, learningRate: settings.learningRate, evalSamples: settings.evalSamples });
          rows.push({ model: m.name, n, task: r.task, rule: rule === 'bptt' ? 'BPTT' : 'e-prop', found: null, testAccuracy: r.test, trainAccuracy: r.train, updates: r.updates, multiplicationsPerStep: NaN, memoryBytes: NaN, alignmentMean: null, fitsLoihi2: null, converged: 'not known (one evaluation)' });
        } catch (e) {
          rows.push({ model: m.name, n, task, rule, found: null, testAccuracy: null, trainAccuracy: null, updates: 0, multiplicationsPerStep: NaN, memoryBytes: NaN, alignmentMean: null, fitsLoihi2: null, converged: '—', why: (e as Error).message.slice(0, 160) });
        }
        console.log(`  ${m.name} ${task} ${rule}: ${rows.at(-1)!.testAccuracy ?? rows.at(-1)!.why}`);
      }
      // find-rule under Loihi 2.
      const d = await discoverRules(ctx, {
        budgetMs: settings.findBudgetSeconds * 1000, steps: T, samples: 1, seed: 1, task, hardware: LOIHI2, batch: settings.batch,
        referenceUpdates: settings.referenceUpdates, minUpdates: settings.minUpdates, maxTrained: settings.maxTrained, evalSamples: settings.evalSamples,
        learningRate: settings.learningRate, search: mctsSearch({ hardware: true }),
      });
      const all = d.evaluated.filter((e) => e.accuracy !== null && e.hardware?.fits);
      const best = all.sort((a, b) => (b.accuracy!.test - a.accuracy!.test) || a.cost.multiplicationsPerStep - b.cost.multiplicationsPerStep)[0];
      // Costs of the baselines, from find-rule's evaluation of the same rules.
      for (const row of rows.filter((r) => r.model === m.name && r.task.startsWith(task.split(':')[0]!) && Number.isNaN(r.multiplicationsPerStep))) {
        const twin = d.evaluated.find((e) => e.known === row.rule);
        if (twin) Object.assign(row, { multiplicationsPerStep: twin.cost.multiplicationsPerStep, memoryBytes: twin.cost.memoryBytes, alignmentMean: twin.alignmentMean, fitsLoihi2: twin.hardware?.fits ?? null });
      }
      if (best) {
        rows.push({
          model: m.name, n, task: best.accuracy!.task, rule: 'best found (fits Loihi 2)', found: best.known ?? best.credit.summary,
          testAccuracy: best.accuracy!.test, trainAccuracy: best.accuracy!.train, updates: best.accuracy!.updates,
          multiplicationsPerStep: best.cost.multiplicationsPerStep, memoryBytes: best.cost.memoryBytes, alignmentMean: best.alignmentMean, fitsLoihi2: true,
          converged: converged(best.trainings.map((t) => t.train ?? 0)),
        });
      } else {
        rows.push({ model: m.name, n, task, rule: 'best found (fits Loihi 2)', found: null, testAccuracy: null, trainAccuracy: null, updates: 0, multiplicationsPerStep: NaN, memoryBytes: NaN, alignmentMean: null, fitsLoihi2: null, converged: '—', why: d.notes.join('; ').slice(0, 200) || 'nothing trained' });
      }
      console.log(`  ${m.name} ${task} found: ${rows.at(-1)!.found} ${rows.at(-1)!.testAccuracy ?? rows.at(-1)!.why}`);
    }
  }
  return { rows, settings };
}

// ------------------------------------------------------------ docs

const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);
const num = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const kib = (b: number): string => (Number.isFinite(b) ? `${(b / 1024).toFixed(1)} KiB` : '—');

function markdown(methods: MethodRow[], seed: { rows: SeedRow[]; settings: Record<string, unknown> }, meta: { date: string; backend: string; loads: number[] }): string {
  const lines: string[] = [];
  lines.push(`Measured by \`${FULL ? 'ELIGO_BENCH_FULL=1 ' : ''}npm run bench -- discovery\` (bench/discovery.ts, ${FULL ? 'full' : 'reduced'} configuration) on ${meta.date}: ${meta.backend}, Node ${process.version}, 2 cores shared with other work (1-minute load average ${Math.min(...meta.loads).toFixed(1)}–${Math.max(...meta.loads).toFixed(1)}). Raw numbers: bench/results/discovery.json.`);
  lines.push('');
  lines.push(`**MCTS against annealing at equal wall time.** Alignment with BPTT on random sequences (T = 15) at the initial parameters, enumeration off; each method ${methods[0]?.seconds ?? '?'} s per model and seed; score: hypervolume of the method's front of (log multiplications + log memory, alignment) as a fraction of the hypervolume of the union of both methods' fronts for that model and seed (the seed draws the alignment samples).`);
  lines.push('');
  lines.push('| model | method | seed | rules evaluated | front size | hypervolume (of the union) |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const r of methods) lines.push(`| ${r.model} | ${r.method === 'mcts' ? 'MCTS (shipped network)' : 'annealing'} | ${r.seed} | ${r.evaluated} | ${r.frontSize} | ${(100 * r.relativeHypervolume).toFixed(1)} % |`);
  const mean = (m: string): number => { const xs = methods.filter((r) => r.method === m).map((r) => r.relativeHypervolume); return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length); };
  lines.push('');
  lines.push(`Mean hypervolume: MCTS ${(100 * mean('mcts')).toFixed(1)} %, annealing ${(100 * mean('anneal')).toFixed(1)} % of the union (${methods.length / 2} runs each).`);
  lines.push('');
  const s = seed.settings;
  lines.push(`**The seed experiment** (${FULL ? 'full' : 'reduced'}: n = ${s.n}, T = ${s.T}, batch ${s.batch}, learning rate ${s.learningRate}, seed ${s.seed}; BPTT and e-prop trained for ${s.baselineUpdates} updates; find-rule under Loihi 2 with a ${s.findBudgetSeconds} s budget, a ${s.referenceUpdates}-update BPTT reference run, successive halving from ${s.minUpdates} updates (η = 3) over at most ${s.maxTrained} rules; test accuracy on ${s.evalSamples} held-out sequences). Alignment: mean cosine with BPTT along the reference run, on the task's sequences. ${FULL ? '' : 'These runs are short and are **not converged**: they show the pipeline works end to end, not which rule is best; the full configuration is for the compiled trainer.'}`);
  lines.push('');
  lines.push('| model | task | rule | test acc | train acc | updates | mults/step | memory | alignment | fits Loihi 2 | converged |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of seed.rows) {
    lines.push(`| ${r.model} | ${r.task} | ${r.rule}${r.found ? `: ${r.found}` : ''} | ${r.why ? `— (${r.why.slice(0, 80)})` : pct(r.testAccuracy)} | ${pct(r.trainAccuracy)} | ${r.updates} | ${num(r.multiplicationsPerStep)} | ${kib(r.memoryBytes)} | ${r.alignmentMean === null ? '—' : r.alignmentMean.toFixed(2)} | ${r.fitsLoihi2 === null ? '—' : r.fitsLoihi2 ? 'yes' : 'no'} | ${r.converged} |`);
  }
  return lines.join('\n');
}

const BEGIN = '<!-- bench/discovery.ts: begin -->';
const END = '<!-- bench/discovery.ts: end -->';

function writeResultsDoc(md: string): void {
  const path = join(__dirname, '..', 'docs', 'results.md');
  const section = `${BEGIN}\n## Learning rule discovery: accuracy on the task, MCTS against annealing\n\n${md}\n${END}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Results\n';
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
}

export async function benchDiscovery(): Promise<void> {
  await loadTf();
  const loads: number[] = [loadavg()[0]!];
  console.log(`discovery (${FULL ? 'full' : 'reduced'}): MCTS against annealing`);
  const methods = await compareMethods();
  loads.push(loadavg()[0]!);
  console.log('discovery: the seed experiment');
  // ELIGO_BENCH_SKIP_SEED=1 keeps the seed experiment of the last run (bench/results/discovery.json) and reruns the method comparison only.
  const previous = join(__dirname, 'results', 'discovery.json');
  const seed = process.env.ELIGO_BENCH_SKIP_SEED === '1' && existsSync(previous)
    ? (JSON.parse(readFileSync(previous, 'utf8')) as { seedExperiment: Awaited<ReturnType<typeof seedExperiment>> }).seedExperiment
    : await seedExperiment();
  loads.push(loadavg()[0]!);
  const backend = `tfjs · ${backendInfo()?.name ?? '?'}`;
  const path = writeResult('discovery', { full: FULL, backend, loads, methods, seedExperiment: seed });
  writeResultsDoc(markdown(methods, seed, { date: new Date().toISOString().slice(0, 10), backend, loads }));
  console.log(`wrote ${path} and docs/results.md`);
}
