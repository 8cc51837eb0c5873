// `findLearningRule`: find-rule with accuracy (discovery/find.ts): a BPTT
// reference run on the task, alignment along it, the search over the
// approximations and schedules of the model (under the hardware profile),
// then the promising rules trained on the task — the front is cost against
// test accuracy. The task is the request's `task` or the `eligo.train.task`
// setting; `task: ''` skips training (alignment-only front, labelled).

import { compile, findItem, ItemError } from '../compile.js';
import { FindRuleJobParamsSchema, validate, type FindRuleRun, type LearningRuleResult, type Objective, type RuleCandidate } from '../protocol.js';
import { lookupProfile, profileChip, unknownProfileMessage } from '../rules/profiles.js';
import { ruleSignature } from '../rules/rule.js';
import { modelContext } from '../rules/model.js';
import { DiscoverError, discoverRules, type Discovered } from '../discovery/find.js';
import { searchFor } from '../discovery/methods.js';
import type { AlignmentSource } from '../rules/candidate.js';
import { candidateBase, dataParamValues, queuedMeasurer, settingQueue } from './queue/runs.js';
import { JobRefused, type JobKind } from './types.js';
import { jobParamValues } from './paramData.js';
import { attachParamValues } from '../graph/simulate.js';

/** The search's parameters after defaults: what it ran with, echoed in the result as `run` (the protocol's type). */
export type FindRuleRunParams = FindRuleRun;

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
    name,
    text: f.text.replace(`rule ${f.ruleName} for`, `rule ${name} for`),
    known: f.known,
    multiplications: f.cost.multiplicationsPerStep,
    memoryBytes: f.cost.memoryBytes,
    online: f.cost.online,
    alignment: f.alignment.cosine,
    signAgreement: f.alignment.signAgreement,
    ...(f.accuracy
      ? { accuracy: f.accuracy.test, trainAccuracy: f.accuracy.train, task: f.accuracy.task, updates: f.accuracy.updates }
      : { why: f.accuracyWhy ?? 'not trained' }),
    updatedParams: f.credit.updatedParams,
    credit: f.credit.summary,
    creditKind: f.credit.kind,
    warnings: f.credit.warnings,
    ...(f.alignmentOnTask ? { alignmentOnTask: f.alignmentOnTask } : {}),
    signature: ruleSignature(f.spec),
    ...(f.hardware ? { fits: f.hardware.fits, reasons: f.hardware.reasons } : {}),
  };
}

/**
 * The front, best first under the objective: fewest multiplications per step
 * (`time` too: the cost model's time is its multiplications), or least memory;
 * then test accuracy, then alignment with the exact gradient.
 */
export function orderFront(front: readonly RuleCandidate[], objective: Objective): RuleCandidate[] {
  const cost = (c: RuleCandidate): number => (objective === 'memory' ? c.memoryBytes : c.multiplications) ?? Infinity;
  return [...front].sort(
    (a, b) => cost(a) - cost(b) || (b.accuracy ?? -Infinity) - (a.accuracy ?? -Infinity) || (b.alignment ?? -Infinity) - (a.alignment ?? -Infinity),
  );
}

export const findLearningRuleJob: JobKind<FindRuleRunParams, LearningRuleResult> = {
  kind: 'findLearningRule',
  title: 'Finding a learning rule',
  parse(input) {
    const r = validate(FindRuleJobParamsSchema, input.params ?? {});
    if (!r.ok) throw new JobRefused(`invalid parameters: ${r.message}`);
    const p = r.value;
    if (input.text === undefined) throw new JobRefused('finding a learning rule needs a document');
    const name = p.hardwareProfile ?? input.settings.hardwareProfile;
    const profile = lookupProfile(name);
    if (!profile) throw new JobRefused(unknownProfileMessage(name));
    return {
      objective: p.objective ?? input.settings.objective,
      seed: p.seed ?? 1,
      samples: p.samples ?? 2,
      steps: p.steps ?? input.settings.analysis.steps,
      hardwareProfile: profile.id,
      task: p.task ?? input.settings.train.task,
      batchSize: p.batchSize ?? input.settings.train.batchSize,
      learningRate: p.learningRate ?? 0.005,
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
    // The model's data(…) params, read under the workspace's trust and folders (refused, saying why, otherwise).
    attachParamValues(c.checked.items.values(), await jobParamValues(input.text!, input.uri, model, input.files ?? { trusted: false }));
    const rctx = modelContext(c, model);
    const hardware = profileChip(p.hardwareProfile);
    // eligo.queue.redis: the candidates' alignment is measured on the queue's workers (same result); the reference run and the training stay here.
    const queue = await settingQueue(input.queueUrl);
    const maxBytes = 512 * 1024 ** 2;
    // Workers read no file: the model's data(…) params go with the payload, as loaded here.
    const paramValues = dataParamValues(c);
    const measurer = queue
      ? (source: AlignmentSource) =>
          queuedMeasurer(queue, candidateBase({ text: input.text!, model, maxBytes, seed: p.seed, paramValues }, source), {
            label: `find-rule ${model} (editor)`,
          })
      : undefined;
    let r;
    try {
      r = await discoverRules(rctx, {
        // A little under the budget: evaluating the rule in hand finishes after the engine's deadline.
        budgetMs: Number.isFinite(ctx.remainingMs) ? Math.max(100, 0.9 * ctx.remainingMs - 100) : 60_000,
        steps: p.steps,
        samples: p.samples,
        seed: p.seed,
        signal: ctx.signal,
        batch: p.batchSize,
        learningRate: p.learningRate,
        search: searchFor('auto', hardware !== undefined),
        maxBytes,
        ...(p.task ? { task: p.task } : {}),
        ...(hardware ? { hardware } : {}),
        ...(p.evaluations !== undefined ? { maxEvaluations: p.evaluations } : {}),
        ...(measurer ? { measurer } : {}),
        // The task's data files are read under the workspace's trust (train/tasks/files.ts); a job told nothing reads none.
        files: input.files ?? { trusted: false },
        onProgress: (pr) =>
          ctx.report({
            message: `${pr.message}${queue ? ` · ${queue.description}` : ''}`,
            percentage: pr.total > 0 ? (100 * (pr.phase === 'training' ? pr.trained : pr.evaluated)) / pr.total : 0,
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
    const front = orderFront(
      r.front.map((f) => candidate(f, taken)),
      p.objective,
    );
    const first = front[0];
    return {
      name: first?.name ?? '',
      text: first?.text ?? '',
      front,
      model: r.model,
      spaceSize: r.spaceSize,
      method: r.method,
      evaluated: r.evaluated.length,
      skipped: r.skipped.length,
      stopped: r.stopped,
      trained: r.trained,
      task: r.task,
      frontBasis: r.frontBasis,
      ...(r.frontWhy ? { frontWhy: r.frontWhy } : {}),
      notes: r.notes,
      run: p,
    };
  },
};
