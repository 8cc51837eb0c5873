// The analysis worker's side (it runs in dist/worker.js beside the job
// host): the messages, and a loop that hands them to analysis/items.ts,
// posting each item as soon as it is done, and the equation Jacobians of
// a hover. The language server's main loop only parses, checks and
// presents, so it stays responsive while a large model is analysed.

import { analyzeItems, jacobiansAt } from '../analysis/items.js';
import type { ItemEntry } from '../analysis/itemAnalysis.js';
import type { EquationJacobians } from '../analysis/jacobians.js';
import type { AnalyzeSettings } from '../analysis/settings.js';

export { analyzeItems, jacobiansAt } from '../analysis/items.js';

export type ToAnalysis =
  | {
      readonly type: 'analyze';
      readonly id: number;
      readonly text: string;
      readonly settings: AnalyzeSettings;
      readonly items: readonly { readonly index: number; readonly key: string }[];
    }
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

export function serveAnalysis(port: AnalysisPort): void {
  const aborted = new Set<number>();
  port.on('message', (raw) => {
    const m = raw as ToAnalysis;
    switch (m.type) {
      case 'abort':
        aborted.add(m.id);
        return;
      case 'analyze':
        void analyzeItems(
          m.text,
          m.settings,
          m.items,
          (key, entry) => port.postMessage({ type: 'item', id: m.id, key, entry }),
          () => aborted.has(m.id),
          true,
        )
          .then(
            () => port.postMessage({ type: 'analyzed', id: m.id }),
            (e: unknown) => port.postMessage({ type: 'analysisError', id: m.id, message: (e as Error).stack ?? String(e) }),
          )
          .finally(() => aborted.delete(m.id));
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
