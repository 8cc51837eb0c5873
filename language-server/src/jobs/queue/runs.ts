// The engines' runs on an executor: find-rule's candidate measurements, a
// search's restarts and the network's self-play rounds become task payloads
// here, and the tasks' results what the engine expects back. The engines
// only see a function of their own types (rules/find.ts `measure`,
// search/search.ts `runJobs`), so they do not know where the work ran.

import type { Compiled } from '../../compile.js';
import type { Tensor } from '../../graph/types.js';
import { loadedParamValues } from '../../graph/simulate.js';
import type { Alignment } from '../../rules/alignment.js';
import type { AlignmentSource } from '../../rules/candidate.js';
import type { AlignmentMeasurer } from '../../rules/find.js';
import type { RuleSpec } from '../../rules/rule.js';
import type { Candidate, Progress } from '../../search/context.js';
import { loadAgent, type Weights } from '../../search/network.js';
import type { Job, JobResult } from '../../search/plan.js';
import type { PoolOptions, PoolResult } from '../../search/pool.js';
import type { EpisodeSpec, PlayedEpisode } from '../../search/selfplay.js';
import type { RuleCandidatePayload, SearchRestartPayload } from '../schemas.js';
import type { TaskExecutor } from './kind.js';
import { ruleCandidateTask, searchRestartTask, selfPlayTask, sourceOf } from './tasks.js';
import { JobRefused } from '../types.js';
import { QueueExecutor } from './executor.js';

export interface RunHooks {
  /** What the run is, for the workers' logs ("find-rule lif"). */
  readonly label: string;
  /** A task started on a worker, or its progress. */
  readonly onEvent?: (index: number, message: string) => void;
}

/** A rule spec as a payload: data only (source ranges dropped). */
export function specPayload(s: RuleSpec): RuleCandidatePayload['spec'] {
  return {
    name: s.name,
    model: s.model,
    approximations: s.approximations.map((a) => ({
      of: a.of,
      wrt: a.wrt,
      wrtOffset: a.wrtOffset,
      kind: a.kind,
      ...(a.args ? { args: { ...a.args } } : {}),
      ...(a.mask ? { mask: [...a.mask] } : {}),
    })),
    schedule: { kind: s.schedule.kind === 'order' ? 'forward' : s.schedule.kind },
    objectives: [...s.objectives],
    ...(s.memoryLimitBytes !== undefined ? { memoryLimitBytes: s.memoryLimitBytes } : {}),
    ...(s.truncate !== undefined ? { truncate: s.truncate } : {}),
    ...(s.quantize ? { quantize: { ...s.quantize } } : {}),
  };
}

/** Aborted when `signal` is, or at `deadline` (absolute ms). */
function until(signal: AbortSignal | undefined, deadline: number): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) ac.abort();
  const t = Number.isFinite(deadline) ? setTimeout(onAbort, Math.max(0, deadline - Date.now())) : undefined;
  return {
    signal: ac.signal,
    dispose: () => {
      signal?.removeEventListener('abort', onAbort);
      if (t) clearTimeout(t);
    },
  };
}

/** find-rule's measurer on an executor: each rule one `rule-candidate` task, measured on the payload's sets. */
export function queuedMeasurer(executor: TaskExecutor, base: Omit<RuleCandidatePayload, 'spec'>, hooks: RunHooks): AlignmentMeasurer {
  const g = base.sets;
  const sets = g
    ? g.at.map((a) => ({ label: a.label, updates: a.updates, samples: g.sequences.length, steps: g.sequences[0]!.steps }))
    : [{ label: 'initial', updates: 0, samples: base.samples, steps: base.steps }];
  return {
    sets,
    source: sourceOf(base),
    async measure(specs, o) {
      const stop = until(o.signal, o.deadline);
      try {
        const r = await executor.map(
          ruleCandidateTask,
          specs.map((spec) => ({ ...base, spec: specPayload(spec) })),
          {
            signal: stop.signal,
            label: hooks.label,
            ...(o.onResult ? { onResult: (k: number, a: readonly Alignment[]) => o.onResult!(k, a) } : {}),
            ...(hooks.onEvent ? { onEvent: hooks.onEvent } : {}),
          },
        );
        return r.results;
      } finally {
        stop.dispose();
      }
    },
  };
}

type TensorPayload = { shape: number[]; data: Float64Array };
const tensorPayload = (t: Tensor): TensorPayload => ({ shape: [...t.shape], data: t.data });
const tensorsPayload = (m: ReadonlyMap<string, Tensor>): Record<string, TensorPayload> => Object.fromEntries([...m].map(([k, t]) => [k, tensorPayload(t)]));

/**
 * The payload of a find-rule run's candidates but the rule: the model's text, where to measure (random
 * sequences from the seed, or the given sequences and parameters as data) and its `data(…)` values.
 */
export function candidateBase(
  o: { text: string; model: string; maxBytes: number; seed: number; paramValues?: ReadonlyMap<string, Float64Array> },
  source: AlignmentSource,
): Omit<RuleCandidatePayload, 'spec'> {
  const values = o.paramValues?.size ? { paramValues: Object.fromEntries(o.paramValues) } : {};
  if (source.kind === 'random')
    return { text: o.text, model: o.model, steps: source.steps, samples: source.samples, seed: source.seed, maxBytes: o.maxBytes, ...values };
  const first = source.sequences[0];
  if (!first) throw new Error('no sequences to measure the candidates on');
  return {
    text: o.text,
    model: o.model,
    steps: first.steps,
    samples: source.sequences.length,
    seed: o.seed,
    maxBytes: o.maxBytes,
    ...values,
    sets: {
      sequences: source.sequences.map((q) => ({
        steps: q.steps,
        data: Object.fromEntries([...q.data].map(([k, ts]) => [k, ts.map(tensorPayload)])),
        ...(q.initial ? { initial: tensorsPayload(q.initial) } : {}),
        ...(q.lossWeights ? { lossWeights: q.lossWeights } : {}),
      })),
      at: source.at.map((a) => ({ label: a.label, updates: a.updates, params: tensorsPayload(a.params) })),
    },
  };
}

/** The values of a compiled text's `data(…)` params, as loaded from their files (cli/interop.ts): sent to workers, which read no file. */
export function dataParamValues(c: Compiled): Map<string, Float64Array> {
  return loadedParamValues(c.checked.items.values());
}

/** The network for restarts that run MCTS: the client's own weights, sent along (a worker reads no file a job names). */
export function agentChoice(jobs: readonly Job[], agentPath: string | null | undefined): { choice: SearchRestartPayload['agent']; note?: string } {
  if (!jobs.some((j) => j.plan.some((s) => s.kind === 'mcts'))) return { choice: { kind: 'shipped' } };
  if (agentPath === null) return { choice: { kind: 'prior' } };
  const a = loadAgent(agentPath);
  if (a.source === 'prior') return { choice: { kind: 'prior' }, note: a.message };
  return { choice: { kind: 'weights', weights: { arch: { ...a.weights.arch, features: 14 as const }, tensors: a.weights.tensors } } };
}

/** A search's restarts on an executor: each Job one `search-restart` task (the graph as the item's text and name). */
export function queuedSearchRunner(
  executor: TaskExecutor,
  source: { text: string; item: string; agentPath?: string | null },
  hooks: RunHooks & { onNote?: (n: string) => void },
): (jobs: readonly Job[], o: PoolOptions) => Promise<PoolResult> {
  return async (jobs, o) => {
    const agent = agentChoice(jobs, source.agentPath);
    const notes: string[] = agent.note ? [agent.note] : [];
    const payloads: SearchRestartPayload[] = jobs.map((j) => ({
      text: source.text,
      item: source.item,
      objective: {
        kind: j.objective.kind,
        ...(j.objective.weights ? { weights: { ...j.objective.weights } } : {}),
        ...(j.objective.limitBytes !== undefined ? { limitBytes: j.objective.limitBytes } : {}),
      },
      plan: j.plan.map((s) => ({ kind: s.kind, until: s.until })),
      seed: j.seed,
      budgetMs: j.budgetMs,
      agent: agent.choice,
      train: false,
      ...(j.maxEvaluations !== undefined ? { evaluations: j.maxEvaluations } : {}),
      ...(j.exactMax !== undefined ? { exactMax: j.exactMax } : {}),
      ...(j.simulationsPerMove !== undefined ? { simulationsPerMove: j.simulationsPerMove } : {}),
    }));
    if (jobs.some((j) => j.train)) notes.push('self-play training during the search is not run on workers (--train is for local runs)');
    const bests: (Candidate | null)[] = jobs.map(() => null);
    const progress: (Progress | null)[] = jobs.map(() => null);
    // A restart's budget counts on its worker from when it starts; the run as a whole gets a little slack past its deadline.
    const stop = until(o.signal, o.deadline + 5000);
    try {
      const r = await executor.map(searchRestartTask, payloads, {
        signal: stop.signal,
        label: hooks.label,
        ...(hooks.onEvent ? { onEvent: hooks.onEvent } : {}),
        onResult: (k, res) => {
          bests[k] = res.best;
          progress[k] = {
            bestScore: res.best?.score ?? Infinity,
            bestMultiplications: res.best?.multiplications ?? Infinity,
            bestPeakMemoryBytes: res.best?.peakMemoryBytes ?? Infinity,
            bestMethod: res.best?.method ?? '',
            evaluations: res.evaluations,
            simulations: res.simulations,
            elapsedMs: res.elapsedMs,
            phase: 'done',
          };
          const overall = bests.reduce<Candidate | null>((a, c) => (a === null || (c !== null && c.score < a.score) ? c : a), null);
          o.onProgress?.(progress, overall);
        },
      });
      notes.push(`${jobs.length} restart${jobs.length === 1 ? '' : 's'} ran on the ${executor.description}`);
      const results = r.results.map((x): JobResult | null => {
        if (!x) return null;
        const { exact, ...rest } = x;
        return { ...rest, ...(exact ? { exact } : {}) };
      });
      return { results, bests, notes, errors: [], cancelled: r.cancelled && (o.signal?.aborted ?? false), threads: jobs.length };
    } finally {
      stop.dispose();
    }
  };
}

/** One round of self-play: every spec an episode with the round's weights, `perTask` episodes per task. */
export async function playRound(
  executor: TaskExecutor,
  weights: Weights,
  specs: readonly EpisodeSpec[],
  simulationsPerMove: number,
  perTask: number,
  hooks: RunHooks & { signal?: AbortSignal },
): Promise<PlayedEpisode[] | null> {
  const groups: EpisodeSpec[][] = [];
  for (let k = 0; k < specs.length; k += perTask) groups.push(specs.slice(k, k + perTask));
  const w = { arch: { ...weights.arch, features: 14 as const }, tensors: weights.tensors };
  const r = await executor.map(
    selfPlayTask,
    groups.map((g) => ({ weights: w, episodes: g.map((e) => ({ ...e })), simulationsPerMove })),
    {
      label: hooks.label,
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.onEvent ? { onEvent: hooks.onEvent } : {}),
    },
  );
  if (r.cancelled) return null;
  return r.results.flatMap((x) => (x?.episodes ?? []).map((e) => ({ multiplications: e.multiplications, simulations: e.simulations, samples: e.samples })));
}

/** The queue of the eligo.queue.redis setting, connected; none when it is not set. A queue that cannot be reached refuses the job, naming the setting. */
export async function settingQueue(url: string | undefined): Promise<QueueExecutor | undefined> {
  if (!url) return undefined;
  try {
    return await QueueExecutor.connect({ url });
  } catch (e) {
    throw new JobRefused(`${(e as Error).message} (eligo.queue.redis)`);
  }
}
