// `search`: better elimination orders for an item's graph, by the search
// engine (search/: heuristics, annealing, beam, exact, MCTS with the policy
// network), under the objective of the request or `eligo.objective`, within
// the time budget. The engine runs its own threads; this job feeds it the
// cancel signal and turns its progress into the runner's reports.

import { compile, findItem, graphOf, ItemError } from '../compile.js';
import { SearchJobParamsSchema, validate, type Objective, type SearchResult } from '../protocol.js';
import { METHODS, type Method } from '../search/plan.js';
import { search, SearchOptionError } from '../search/search.js';
import { queuedSearchRunner, settingQueue } from './queue/runs.js';
import { JobRefused, type JobKind } from './types.js';

/** The search's parameters after defaults: what it ran with (echoed in the result as `run`). */
export interface SearchRunParams {
  readonly objective: Objective;
  readonly method: Method;
  readonly seed: number;
  readonly limitBytes?: number;
  /** Stop each restart after this many complete orders: a reproducible run. */
  readonly evaluations?: number;
}

export const searchJob: JobKind<SearchRunParams, SearchResult> = {
  kind: 'search',
  title: 'Searching elimination orders',
  parse(input) {
    const r = validate(SearchJobParamsSchema, input.params ?? {});
    if (!r.ok) throw new JobRefused(`invalid search parameters: ${r.message}`);
    const p = r.value;
    const method = (p.strategy ?? 'all') as Method;
    if (!METHODS.includes(method)) throw new JobRefused(`unknown search strategy '${p.strategy}' (${METHODS.join(', ')})`);
    if (input.text === undefined) throw new JobRefused('a search needs a document');
    return {
      objective: p.objective ?? input.settings.objective,
      method,
      seed: p.seed ?? 1,
      ...(p.limitBytes !== undefined ? { limitBytes: p.limitBytes } : {}),
      ...(p.evaluations !== undefined ? { evaluations: p.evaluations } : {}),
    };
  },
  async run(input, p, ctx) {
    const c = compile(input.text!);
    let graph;
    try {
      graph = graphOf(c, findItem(c, input.item, ['function', 'model', 'grad']));
    } catch (e) {
      if (e instanceof ItemError) throw new JobRefused(e.message);
      throw e;
    }
    const budgetMs = Number.isFinite(ctx.remainingMs) ? Math.max(50, ctx.remainingMs) : 10_000;
    // eligo.queue.redis: the restarts run on the queue's workers (same result for an evaluation budget).
    const queue = await settingQueue(input.queueUrl);
    try {
      const r = await search(graph, {
        ...(p.evaluations !== undefined ? { maxEvaluations: p.evaluations } : {}),
        ...(queue ? { runJobs: queuedSearchRunner(queue, { text: input.text!, item: graph.name }, { label: `search ${graph.name} (editor)` }) } : {}),
        objective: p.objective,
        method: p.method,
        budgetMs,
        seed: p.seed,
        signal: ctx.signal,
        ...(p.limitBytes !== undefined ? { limitBytes: p.limitBytes } : {}),
        // Timing orders is for objective `time` only: it would hold up a cancel.
        measure: p.objective === 'time',
        onProgress: (pr) => {
          // The engine's progress has the best cost but not its order: a best-so-far
          // handed back after a forced stop says so (`partial`, empty order).
          const best: SearchResult | undefined = Number.isFinite(pr.bestMultiplications)
            ? {
                order: [],
                partial: true,
                multiplications: pr.bestMultiplications,
                peakMemoryBytes: pr.bestPeakMemoryBytes,
                evaluated: pr.evaluations,
                method: pr.bestMethod,
              }
            : undefined;
          ctx.report({
            ...(best ? { best } : {}),
            message: Number.isFinite(pr.bestMultiplications)
              ? `best ${pr.bestMultiplications.toLocaleString('en-US')} mults (${pr.bestMethod}) after ${pr.evaluations.toLocaleString('en-US')} orders`
              : 'searching',
            percentage: Math.min(100, (100 * pr.elapsedMs) / budgetMs),
            point: { x: pr.elapsedMs, y: { multiplications: pr.bestMultiplications, peakMemoryBytes: pr.bestPeakMemoryBytes } },
          });
        },
      });
      const b = r.best;
      return {
        order: b.order,
        names: b.names,
        multiplications: b.multiplications,
        additions: b.additions,
        peakMemoryBytes: b.peakMemoryBytes,
        evaluated: r.evaluations,
        method: b.method,
        objective: r.objectiveText,
        baselines: {
          forward: r.baselines.forward.multiplications,
          reverse: r.baselines.reverse.multiplications,
          markowitz: r.baselines.markowitz.multiplications,
        },
        stoppedBy: r.stoppedBy,
        notes: r.notes,
        ...(r.infeasible ? { infeasible: r.infeasible.message } : {}),
        run: {
          objective: p.objective,
          strategy: p.method,
          seed: p.seed,
          ...(p.limitBytes !== undefined ? { limitBytes: p.limitBytes } : {}),
          ...(p.evaluations !== undefined ? { evaluations: p.evaluations } : {}),
        },
      };
    } catch (e) {
      if (e instanceof SearchOptionError) throw new JobRefused(e.message);
      throw e;
    } finally {
      await queue?.close();
    }
  },
};
