// The body of the analysis worker, pure (no threads, no LSP): compute the
// items of a text that are asked for, one at a time, and the partial
// Jacobians of the equation at an offset. The server's analysis worker
// (server/analysisHost.ts) calls these off the main loop; `analyze()` calls
// them in-process, so both produce the same entries.

import { compile, type Compiled } from '../compile.js';
import { computeItem, type ItemEntry } from './itemAnalysis.js';
import { equationJacobians, type EquationJacobians } from './jacobians.js';
import { isEquation, programItemAt, statementAt } from './locate.js';
import type { AnalyzeSettings } from './settings.js';

/** The last text compiled: a hover's Jacobians usually ask about the text just analysed. */
let last: { text: string; compiled: Compiled } | undefined;

export function compiledText(text: string): Compiled {
  if (last?.text !== text) last = { text, compiled: compile(text) };
  return last.compiled;
}

/** The Jacobians of the equation at `offset`. */
export function jacobiansAt(text: string, offset: number, steps: number): EquationJacobians | undefined {
  const c = compiledText(text);
  const pItem = programItemAt(c, offset);
  const stmt = pItem ? statementAt(pItem, offset) : undefined;
  const item = c.items.find((i) => i.range.start <= offset && offset <= i.range.end);
  if (!item || item.hasErrors || !isEquation(stmt)) return undefined;
  return equationJacobians(c, item, stmt, steps);
}

/** Compute `items` of `text`, calling `post` after each; `aborted` is checked between items. */
export async function analyzeItems(
  text: string,
  settings: AnalyzeSettings,
  items: readonly { index: number; key: string }[],
  post: (key: string, entry: ItemEntry) => void,
  aborted: () => boolean,
  yieldBetween: boolean,
): Promise<void> {
  const c = compiledText(text);
  for (const { index, key } of items) {
    if (aborted()) return;
    const item = c.items[index];
    if (!item) continue;
    post(key, computeItem(c, item, settings));
    if (yieldBetween) await new Promise((r) => setImmediate(r));
  }
}
