// `eligo train … --html OUT.html`: the graph view of the trained model as a
// standalone page, with the run in its Training tab — the learning curve,
// and the spike raster, traces and prediction of one test sequence. The page
// replays the messages the VS Code panel receives live (trainStart, one
// progress point per evaluation, the result), so both draw the same thing.

import type { GraphHostMessage } from '../protocol.js';
import { DEFAULTS } from '../server/settings.js';
import { trainResult } from '../train/job.js';
import type { TrainReport } from '../train/train.js';
import { graphViewBundle } from '../layout/index.js';
import { writeGraphHtml } from '../layout/html.js';

export function trainingReplay(report: TrainReport, uri: string): GraphHostMessage[] {
  const item = report.model;
  const out: GraphHostMessage[] = [{ type: 'trainStart', uri, item, task: report.task, rule: report.rule }];
  for (const p of report.metrics.curve) {
    const y: Record<string, number> = { trainLoss: p.trainLoss, testLoss: p.testLoss };
    if (p.trainAccuracy !== null) y.trainAccuracy = p.trainAccuracy;
    if (p.testAccuracy !== null) y.testAccuracy = p.testAccuracy;
    if (p.alignment !== null) y.alignment = p.alignment;
    out.push({ type: 'progress', progress: { jobId: 1, kind: 'train', uri, item, point: { x: p.step, y } } });
  }
  const status = report.stopped === 'cancelled' ? 'cancelled' : report.stopped === 'diverged' ? 'failed' : 'done';
  out.push({
    type: 'train',
    uri,
    item,
    job: {
      jobId: 1,
      kind: 'train',
      status,
      result: trainResult(report),
      elapsedMs: report.seconds * 1000,
      settings: DEFAULTS,
      ...(report.message ? { message: report.message } : {}),
    },
  });
  return out;
}

export async function writeTrainingHtml(out: string, text: string, file: string, report: TrainReport): Promise<string> {
  const bundle = await graphViewBundle(text, { item: report.model, collapse: 'auto' });
  return writeGraphHtml(out, { ...bundle, title: `${bundle.title} · trained with ${report.rule} on ${report.task}`, training: trainingReplay(report, file) });
}
