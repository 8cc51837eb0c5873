// `findLearningRule`: find-rule with accuracy (discovery/find.ts): a BPTT
// reference run on the task, alignment along it, the search over the
// approximations and schedules of the model (under the hardware profile),
// then the promising rules trained on the task — the front is cost against
// test accuracy. The task is the request's `task` or the `eligo.train.task`
// setting; `task: ''` skips training (alignment-only front, labelled).

import { compile, findItem, ItemError } from '../compile.js';
import type { LearningRuleResult, RuleCandidate } from '../protocol.js';
import { resolveProfile } from '../rules/diagnostics.js';
import { ruleSignature } from '../rules/rule.js';
import { modelContext } from '../rules/model.js';
import { DiscoverError, discoverRules, type Discovered } from '../discovery/find.js';
import { searchFor } from '../discovery/methods.js';
import type { AlignmentSource } from '../rules/candidate.js';
import { QueueExecutor } from './queue/executor.js';
import { schemaMessage } from './queue/kind.js';
import { candidateBase, queuedMeasurer } from './queue/runs.js';
import { findRuleJobParamsSchema } from './schemas.js';
import { JobRefused, type JobKind } from './types.js';

export interface FindRuleParams {
  readonly seed: number;
  readonly samples: number;
  readonly steps: number;
  readonly hardwareProfile?: string;
  /** `--task` syntax; '' for none. */
  readonly task: string;
  readonly batch: number;
  readonly learningRate: number;
  /** Stop the search after this many rules evaluated: a reproducible run. */
  readonly evaluations?: number;
}

/** A rule name not yet used in the document (as `eligo find-rule --write` picks them). */
function freshName(taken: Set<string>, base: string): string {
  let name = taken.has(base) ? `${base}_found` : base;
  for (let k = 2; taken.has(name); k++) name = `${base}_found${k}`;
  taken.add(name);
  return name;
}

function candidate(f: Discovered, taken: Set<string>): RuleCandidate {
  const name = freshName(taken, f.ruleName);
  return {
    name, text: f.text.replace(`rule ${f.ruleName} for`, `rule ${name} for`), known: f.known,
    multiplications: f.cost.multiplicationsPerStep, memoryBytes: f.cost.memoryBytes, online: f.cost.online,
    alignment: f.alignment.cosine, signAgreement: f.alignment.signAgreement,
    ...(f.accuracy ? { accuracy: f.accuracy.test, trainAccuracy: f.accuracy.train, task: f.accuracy.task, updates: f.accuracy.updates } : { why: f.accuracyWhy ?? 'not trained' }),
    updatedParams: f.credit.updatedParams, credit: f.credit.summary, creditKind: f.credit.kind, warnings: f.credit.warnings,
    ...(f.alignmentOnTask ? { alignmentOnTask: f.alignmentOnTask } : {}),
    signature: ruleSignature(f.spec),
    ...(f.hardware ? { fits: f.hardware.fits, reasons: f.hardware.reasons } : {}),
  };
}

export const findLearningRuleJob: JobKind<FindRuleParams, LearningRuleResult> = {
  kind: 'findLearningRule',
  title: 'Finding a learning rule',
  parse(input) {
    const r = findRuleJobParamsSchema.safeParse(input.params ?? {});
    if (!r.success) throw new JobRefused(`find learning rule: ${schemaMessage(r.error)}`);
    const p = r.data;
    if (input.text === undefined) throw new JobRefused('finding a learning rule needs a document');
    return {
      seed: p.seed ?? 1, samples: p.samples ?? 2, steps: p.steps ?? input.settings.analysis.steps, hardwareProfile: p.hardwareProfile ?? input.settings.hardwareProfile,
      task: p.task ?? input.settings.train.task, batch: p.batch ?? input.settings.train.batchSize, learningRate: p.learningRate ?? 0.005,
      ...(p.evaluations !== undefined ? { evaluations: p.evaluations } : {}),
    };
  },
  async run(input, p, ctx) {
    const c = compile(input.text!);
    let model: string;
    try {
      model = findItem(c, input.item, ['model']).name;
    } catch (e) {
      if (e instanceof ItemError) throw new JobRefused(e.message);
      throw e;
    }
    const rctx = modelContext(c, model);
    const hardware = resolveProfile(p.hardwareProfile);
    // eligo.queue.redis: the candidates' alignment is measured on the queue's workers (same result); the reference run and the training stay here.
    let queue: QueueExecutor | undefined;
    if (input.queueUrl) {
      try {
        queue = await QueueExecutor.connect({ url: input.queueUrl });
      } catch (e) {
        throw new JobRefused(`${(e as Error).message} (eligo.queue.redis)`);
      }
    }
    const maxBytes = 512 * 1024 ** 2;
    const measurer = queue
      ? (source: AlignmentSource) => queuedMeasurer(queue, candidateBase({ text: input.text!, model, maxBytes, seed: p.seed }, source), { label: `find-rule ${model} (editor)` })
      : undefined;
    let r;
    try {
      r = await discoverRules(rctx, {
        // A little under the budget: evaluating the rule in hand finishes after the engine's deadline.
        budgetMs: Number.isFinite(ctx.remainingMs) ? Math.max(100, 0.9 * ctx.remainingMs - 100) : 60_000, steps: p.steps, samples: p.samples, seed: p.seed, signal: ctx.signal,
        batch: p.batch, learningRate: p.learningRate, search: searchFor('auto', hardware !== undefined), maxBytes,
        ...(p.task ? { task: p.task } : {}), ...(hardware ? { hardware } : {}),
        ...(p.evaluations !== undefined ? { maxEvaluations: p.evaluations } : {}), ...(measurer ? { measurer } : {}),
        onProgress: (pr) => ctx.report({
          message: `${pr.message}${queue ? ` · ${queue.description}` : ''}`, percentage: pr.total > 0 ? (100 * (pr.phase === 'training' ? pr.trained : pr.evaluated)) / pr.total : 0,
          point: { x: pr.elapsedMs, y: { evaluated: pr.evaluated, trained: pr.trained } },
        }),
      });
    } catch (e) {
      if (e instanceof DiscoverError) throw new JobRefused(e.message);
      throw e;
    } finally {
      await queue?.close();
    }
    // Names free in the document, so a candidate can be inserted as it is.
    const taken = new Set(c.items.map((i) => i.name));
    const front = r.front.map((f) => candidate(f, taken));
    const first = front[0];
    return {
      name: first?.name ?? '', text: first?.text ?? '', front, model: r.model, spaceSize: r.spaceSize, method: r.method,
      evaluated: r.evaluated.length, skipped: r.skipped.length, stopped: r.stopped, trained: r.trained, task: r.task,
      frontBasis: r.frontBasis, ...(r.frontWhy ? { frontWhy: r.frontWhy } : {}), notes: r.notes,
    };
  },
};
