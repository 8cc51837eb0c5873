// The task kinds Eligo's engines hand out: one candidate rule of find-rule,
// one restart of an order search, a batch of self-play episodes for the
// search network, and the queue's own probe. Each is the engine's own pure
// function behind a schema (jobs/schemas.ts); a new kind (issue 14's
// "train candidate") is one more entry here.

import { createHash } from 'node:crypto';
import { compile, findItem, graphOf, ItemError } from '../../compile.js';
import type { Tensor } from '../../graph/types.js';
import { alignCandidate, candidateSetupOf, setPatternSamples, type AlignmentSource, type CandidateSetup } from '../../rules/candidate.js';
import { scheduleProblems } from '../../rules/kinds.js';
import { prepareRule } from '../../rules/model.js';
import type { RunInput } from '../../rules/execute.js';
import { StoppedError } from '../../rules/execute.js';
import type { RuleSpec } from '../../rules/rule.js';
import type { Weights } from '../../search/network.js';
import { runJob, type Job } from '../../search/plan.js';
import { playEpisodes } from '../../search/selfplay.js';
import {
  alignmentAlongSchema,
  probePayloadSchema,
  probeResultSchema,
  ruleCandidatePayloadSchema,
  searchRestartPayloadSchema,
  searchRestartResultSchema,
  selfPlayPayloadSchema,
  selfPlayResultSchema,
  type AlignmentAlongResult,
  type ProbePayload,
  type ProbeResult,
  type RuleCandidatePayload,
  type SearchRestartPayload,
  type SearchRestartResult,
  type SelfPlayPayload,
  type SelfPlayResult,
} from '../schemas.js';
import { TaskCancelled, TaskInvalid, type TaskKind } from './kind.js';
import { encodeWire } from './wire.js';

/** The spec as the engine types it (the schema's optional fields are exact here). */
export function ruleSpecOf(s: RuleCandidatePayload['spec']): RuleSpec {
  return {
    name: s.name,
    model: s.model,
    schedule: s.schedule,
    objectives: s.objectives,
    approximations: s.approximations.map((a) => ({
      of: a.of,
      wrt: a.wrt,
      wrtOffset: a.wrtOffset,
      kind: a.kind,
      ...(a.args ? { args: a.args } : {}),
      ...(a.mask ? { mask: a.mask } : {}),
    })),
    ...(s.memoryLimitBytes !== undefined ? { memoryLimitBytes: s.memoryLimitBytes } : {}),
    ...(s.truncate !== undefined ? { truncate: s.truncate } : {}),
    ...(s.quantize ? { quantize: s.quantize } : {}),
  };
}

const tensorOf = (t: { shape: number[]; data: Float64Array }): Tensor => ({ shape: t.shape, data: t.data });
const tensorsOf = (r: Record<string, { shape: number[]; data: Float64Array }>): Map<string, Tensor> =>
  new Map(Object.entries(r).map(([k, t]) => [k, tensorOf(t)]));

/** Where a payload's rule is measured, as the engine types it. */
export function sourceOf(p: Omit<RuleCandidatePayload, 'spec'>): AlignmentSource {
  if (!p.sets) return { kind: 'random', steps: p.steps, samples: p.samples, seed: p.seed };
  const sequences: RunInput[] = p.sets.sequences.map((q) => ({
    steps: q.steps,
    params: new Map(),
    data: new Map(Object.entries(q.data).map(([k, ts]) => [k, ts.map(tensorOf)])),
    ...(q.initial ? { initial: tensorsOf(q.initial) } : {}),
    ...(q.lossWeights ? { lossWeights: q.lossWeights } : {}),
  }));
  return { kind: 'given', sequences, at: p.sets.at.map((a) => ({ label: a.label, updates: a.updates, params: tensorsOf(a.params) })) };
}

// A worker measures many rules of the same run: the setup (samples, tapes, exact gradients) is made once,
// keyed by a digest of everything but the rule (given sets can be large).
const setups = new Map<string, CandidateSetup>();
function setupFor(p: RuleCandidatePayload): CandidateSetup {
  const { spec: _spec, ...rest } = p;
  const key = createHash('sha256')
    .update(JSON.stringify(encodeWire(rest)))
    .digest('hex');
  let s = setups.get(key);
  if (!s) {
    try {
      const values = p.paramValues ? new Map(Object.entries(p.paramValues)) : undefined;
      s = candidateSetupOf(p.text, p.model, sourceOf(p), p.maxBytes, values);
    } catch (e) {
      if (e instanceof ItemError) throw new TaskInvalid(e.message);
      throw e;
    }
    // Keep the last few (one run at a time is the usual case).
    if (setups.size >= 4) setups.delete(setups.keys().next().value!);
    setups.set(key, s);
  }
  return s;
}

export const ruleCandidateTask: TaskKind<RuleCandidatePayload, AlignmentAlongResult> = {
  name: 'rule-candidate',
  title: 'measure one candidate rule against BPTT',
  payload: ruleCandidatePayloadSchema,
  result: alignmentAlongSchema,
  describe: (p) =>
    `${p.spec.name ?? 'rule'} for ${p.model} (${p.spec.schedule.kind}, ${p.spec.approximations.length} approximation${p.spec.approximations.length === 1 ? '' : 's'}, ${p.samples} × ${p.steps} steps${p.sets ? ` at ${p.sets.at.length} parameter points` : ''})`,
  run(p, ctx) {
    const setup = setupFor(p);
    const spec = ruleSpecOf(p.spec);
    // The rule as the client planned it (top(k) patterns come in the spec), or refused: never measured with an approximation left out.
    const rule = prepareRule(setup.ctx, spec, setPatternSamples(setup.sets));
    const wrong = [...rule.approx.problems.filter((x) => x.severity === 'error'), ...scheduleProblems(spec)];
    if (wrong.length) throw new TaskInvalid(`rule ${spec.name ?? '(unnamed)'} for ${spec.model}: ${wrong.map((x) => x.message).join('; ')}`);
    try {
      return alignCandidate(setup, spec, ctx.signal, undefined, rule);
    } catch (e) {
      if (e instanceof StoppedError) throw new TaskCancelled();
      throw e;
    }
  },
};

function weightsOf(w: { arch: Weights['arch']; tensors: Record<string, Float32Array> }): Weights {
  return { arch: w.arch, tensors: w.tensors };
}

/** The search engine's Job for a payload: the graph compiled again from the text. */
export function searchJobOf(p: SearchRestartPayload): Job {
  const c = compile(p.text);
  let graph;
  try {
    graph = graphOf(c, findItem(c, p.item, ['function', 'model', 'grad']));
  } catch (e) {
    if (e instanceof ItemError) throw new TaskInvalid(e.message);
    throw e;
  }
  const o = p.objective;
  return {
    graph,
    objective: {
      kind: o.kind,
      ...(o.weights
        ? {
            weights: {
              ...(o.weights.multiplications !== undefined ? { multiplications: o.weights.multiplications } : {}),
              ...(o.weights.memory !== undefined ? { memory: o.weights.memory } : {}),
            },
          }
        : {}),
      ...(o.limitBytes !== undefined ? { limitBytes: o.limitBytes } : {}),
    },
    plan: p.plan,
    seed: p.seed,
    budgetMs: p.budgetMs,
    train: p.train,
    ...(p.evaluations !== undefined ? { maxEvaluations: p.evaluations } : {}),
    ...(p.agent.kind === 'prior' ? { agentPath: null } : {}),
    ...(p.agent.kind === 'weights' ? { agentWeights: weightsOf(p.agent.weights) } : {}),
    ...(p.exactMax !== undefined ? { exactMax: p.exactMax } : {}),
    ...(p.simulationsPerMove !== undefined ? { simulationsPerMove: p.simulationsPerMove } : {}),
  };
}

export const searchRestartTask: TaskKind<SearchRestartPayload, SearchRestartResult> = {
  name: 'search-restart',
  title: 'one restart of an elimination-order search',
  payload: searchRestartPayloadSchema,
  result: searchRestartResultSchema,
  describe: (p) =>
    `${p.item}: ${p.plan.map((s) => s.kind).join(' → ')}, seed ${p.seed}${p.evaluations !== undefined ? `, ${p.evaluations} orders` : `, ${(p.budgetMs / 1000).toFixed(1)} s`}`,
  async run(p, ctx) {
    const job = searchJobOf(p);
    // Self-play training inside a restart is not offered on workers (it loads TensorFlow.js per task).
    const r = await runJob(
      { ...job, train: false },
      {
        signal: ctx.signal,
        onProgress: (pr) => {
          if (Number.isFinite(pr.bestMultiplications))
            ctx.progress({
              message: `best ${pr.bestMultiplications.toLocaleString('en-US')} mults (${pr.bestMethod}) after ${pr.evaluations.toLocaleString('en-US')} orders`,
            });
        },
      },
    );
    const cand = <C extends { order: readonly number[] }>(c: C): C & { order: number[] } => ({ ...c, order: [...c.order] });
    return {
      ...r,
      best: r.best ? cand(r.best) : null,
      families: Object.fromEntries(Object.entries(r.families).map(([k, c]) => [k, cand(c)])),
      pool: r.pool.map(cand),
      notes: [...r.notes],
    };
  },
};

export const selfPlayTask: TaskKind<SelfPlayPayload, SelfPlayResult> = {
  name: 'selfplay-episodes',
  title: 'self-play episodes for the search network',
  payload: selfPlayPayloadSchema,
  result: selfPlayResultSchema,
  describe: (p) =>
    `${p.episodes.length} episode${p.episodes.length === 1 ? '' : 's'} on corpus graphs ${p.episodes.map((e) => e.graphSeed).join(', ')} (${p.simulationsPerMove} simulations per move)`,
  run(p, ctx) {
    const eps = playEpisodes(weightsOf(p.weights), p.episodes, p.simulationsPerMove, () => ctx.signal.aborted);
    if (ctx.signal.aborted) throw new TaskCancelled();
    return {
      episodes: eps.map((e) => ({
        multiplications: e.multiplications,
        simulations: e.simulations,
        samples: e.samples.map((s) => ({ input: s.input, policy: s.policy, remaining: s.remaining })),
      })),
    };
  },
};

export const probeTask: TaskKind<ProbePayload, ProbeResult> = {
  name: 'probe',
  title: "the queue's own test workload",
  payload: probePayloadSchema,
  result: probeResultSchema,
  describe: (p) => `probe ${p.value} (${p.ms} ms)`,
  run(p) {
    // Synchronous slices, as an engine's inner loop: the thread never yields until done.
    const end = Date.now() + p.ms;
    let slices = 0;
    let x = 0.5;
    while (Date.now() < end) {
      for (let k = 0; k < 20000; k++) x = 3.9 * x * (1 - x);
      slices++;
    }
    return { value: p.value * 2 + (x > 2 ? 1 : 0), slices, pid: process.pid };
  },
};

/** Every kind a worker runs, by name. */
export const TASK_KINDS: ReadonlyMap<string, TaskKind<never, unknown>> = new Map<string, TaskKind<never, unknown>>(
  [ruleCandidateTask, searchRestartTask, selfPlayTask, probeTask].map((k) => [k.name, k as unknown as TaskKind<never, unknown>]),
);
