// The reference run: a short BPTT training run on the task, whose
// parameters at 0 %, 50 % and 100 % of its updates are where alignment is
// measured. Alignment at the initial weights alone does not predict learning
// (docs/results.md: on ALIF the e-prop cosine is 0.00–0.02 at
// initialisation while e-prop learns store-recall better than BPTT); along a
// training run it sees the parameters a rule will actually meet.
//
// It runs through `train()` (whatever engine trains) with checkpoints: every
// checkpoint written is read back at once, so the run's parameters at its
// halfway point and at its end are kept without changing the trainer.

import type { FileAccessPolicy } from '../train/tasks/files.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialParams } from '../graph/simulate.js';
import type { Tensor } from '../graph/types.js';
import type { ModelContext } from '../rules/model.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { train } from '../train/train.js';

export interface Snapshot {
  /** `initial`, `50 %`, `trained`. */
  readonly label: string;
  /** Updates done when the parameters were taken. */
  readonly updates: number;
  readonly params: Map<string, Tensor>;
}

export interface ReferenceRun {
  readonly snapshots: readonly Snapshot[];
  /** Updates planned and done (fewer when the time ran out). */
  readonly planned: number;
  readonly done: number;
  readonly testAccuracy: number | null;
  readonly seconds: number;
  readonly task: string;
}

export interface ReferenceOptions {
  readonly text: string;
  readonly model: string;
  readonly task: string;
  readonly updates: number;
  readonly batch: number;
  readonly seed: number;
  readonly learningRate: number;
  /** Date.now() after which the run stops (what it has is kept). */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Which data files the task may read (train/tasks/files.ts). */
  readonly files?: FileAccessPolicy;
  /** The model's `data(…)` params as loaded (the text is compiled again by the trainer). */
  readonly paramValues?: ReadonlyMap<string, Float64Array>;
}

function toTensors(params: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): Map<string, Tensor> {
  return new Map([...params].map(([k, v]) => [k, { shape: [...v.shape], data: Float64Array.from(v.data) }]));
}

/** Runs BPTT on the task for up to `updates` updates and returns the parameters at 0, about half, and the last update done. */
export async function referenceRun(ctx: ModelContext, o: ReferenceOptions): Promise<ReferenceRun> {
  const dir = mkdtempSync(join(tmpdir(), 'eligo-reference-'));
  const half = Math.max(1, Math.floor(o.updates / 2));
  const saved: Snapshot[] = [];
  try {
    const r = await train({
      text: o.text, model: o.model, task: o.task, steps: o.updates, batch: o.batch, seed: o.seed, learningRate: o.learningRate,
      evalEvery: o.updates, evalSamples: 32, finalSamples: 256, alignment: false, checkpointDir: dir, checkpointEvery: half, resume: false,
      ...(o.files ? { files: o.files } : {}), ...(o.paramValues?.size ? { paramValues: o.paramValues } : {}),
      isCancelled: () => Date.now() > o.deadline || (o.signal?.aborted ?? false),
      onProgress: (e) => {
        if (e.type !== 'checkpoint') return;
        const ck = loadCheckpoint(dir);
        if (ck && !saved.some((s) => s.updates === ck.meta.step)) saved.push({ label: '', updates: ck.meta.step, params: toTensors(ck.params) });
      },
    });
    const done = r.updates;
    // 0 %, the checkpoint nearest half the updates done, and the last one.
    const last = saved[saved.length - 1];
    const snapshots: Snapshot[] = [{ label: 'initial', updates: 0, params: initialParams(ctx.scope, o.seed) }];
    if (last && saved.length > 1) {
      const mid = saved.slice(0, -1).reduce((a, b) => (Math.abs(b.updates - done / 2) < Math.abs(a.updates - done / 2) ? b : a));
      snapshots.push({ ...mid, label: `${Math.round((100 * mid.updates) / Math.max(1, done))} %` });
    }
    if (last) snapshots.push({ ...last, label: 'trained' });
    return { snapshots, planned: o.updates, done, testAccuracy: r.final.testAccuracy, seconds: r.seconds, task: r.task };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
