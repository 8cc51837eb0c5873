// The analysis worker's side (it runs in dist/worker.js beside the job
// host): compiles the text it is sent and computes the items asked for,
// posting each as soon as it is done, and answers the equation Jacobians of
// a hover. The language server's main loop only parses, checks and
// presents, so it stays responsive while a large model is analysed.

import { compile, type Compiled } from '../compile.js';
import type { EligoSettings } from '../protocol.js';
import { computeItem, type ItemEntry } from './itemAnalysis.js';
import { equationJacobians, type EquationJacobians } from './jacobians.js';
import { isEquation, programItemAt, statementAt } from './locate.js';

export type ToAnalysis =
  | { readonly type: 'analyze'; readonly id: number; readonly text: string; readonly settings: EligoSettings; readonly items: readonly { readonly index: number; readonly key: string }[] }
  | { readonly type: 'jacobians'; readonly id: number; readonly text: string; readonly offset: number; readonly steps: number }
  | { readonly type: 'abort'; readonly id: number };

export type FromAnalysis =
  | { readonly type: 'item'; readonly id: number; readonly key: string; readonly entry: ItemEntry }
  | { readonly type: 'analyzed'; readonly id: number }
  | { readonly type: 'jacobians'; readonly id: number; readonly result: EquationJacobians | null }
  | { readonly type: 'analysisError'; readonly id: number; readonly message: string };

export interface AnalysisPort {
  on(event: 'message', f: (m: ToAnalysis | { type: string }) => void): void;
  postMessage(m: FromAnalysis): void;
}

/** The last text compiled: a hover's Jacobians usually ask about the text just analysed. */
let last: { text: string; compiled: Compiled } | undefined;

function compiled(text: string): Compiled {
  if (last?.text !== text) last = { text, compiled: compile(text) };
  return last.compiled;
}

/** The Jacobians of the equation at `offset` (main thread or worker: the same code). */
export function jacobiansAt(text: string, offset: number, steps: number): EquationJacobians | undefined {
  const c = compiled(text);
  const pItem = programItemAt(c, offset);
  const stmt = pItem ? statementAt(pItem, offset) : undefined;
  const item = c.items.find((i) => i.range.start <= offset && offset <= i.range.end);
  if (!item || item.hasErrors || !isEquation(stmt)) return undefined;
  return equationJacobians(c, item, stmt, steps);
}

/** Compute `items` of `text`, calling `post` after each; `aborted` is checked between items. */
export async function analyzeItems(
  text: string, settings: EligoSettings, items: readonly { index: number; key: string }[],
  post: (key: string, entry: ItemEntry) => void, aborted: () => boolean, yieldBetween: boolean,
): Promise<void> {
  const c = compiled(text);
  for (const { index, key } of items) {
    if (aborted()) return;
    const item = c.items[index];
    if (!item) continue;
    post(key, computeItem(c, item, settings));
    if (yieldBetween) await new Promise((r) => setImmediate(r));
  }
}

export function serveAnalysis(port: AnalysisPort): void {
  const aborted = new Set<number>();
  port.on('message', (raw) => {
    const m = raw as ToAnalysis;
    switch (m.type) {
      case 'abort':
        aborted.add(m.id);
        return;
      case 'analyze':
        void analyzeItems(m.text, m.settings, m.items, (key, entry) => port.postMessage({ type: 'item', id: m.id, key, entry }), () => aborted.has(m.id), true).then(
          () => port.postMessage({ type: 'analyzed', id: m.id }),
          (e: unknown) => port.postMessage({ type: 'analysisError', id: m.id, message: (e as Error).stack ?? String(e) }),
        ).finally(() => aborted.delete(m.id));
        return;
      case 'jacobians':
        try {
          port.postMessage({ type: 'jacobians', id: m.id, result: jacobiansAt(m.text, m.offset, m.steps) ?? null });
        } catch (e) {
          port.postMessage({ type: 'analysisError', id: m.id, message: (e as Error).stack ?? String(e) });
        }
        return;
      default:
        return; // a job message: the job host's
    }
  });
}
