// Code lenses above every function, model, rule and `grad` item: the elimination costs
// computed by analyze() — forward / reverse / Markowitz (and the best a
// search found) multiplications and peak memory — and the actions Show graph,
// Find learning rule and Train. A rule's lens shows its schedule and, after a
// training run, the run's accuracy and alignment with the task and steps.

import { CodeLensRefreshRequest, type CodeLens, type CodeLensParams } from 'vscode-languageserver/node';
import type { OrderName } from '../analysis/costs.js';
import type { RuleItem } from '../lang/ast.js';
import { ruleSignature, ruleSpec } from '../rules/rule.js';
import { Commands, type ItemCommandArgs } from '../protocol.js';
import type { DocumentAnalysis, ItemResult } from './analysis.js';
import { guarded, runKey, type LastRun, type ServerContext } from './context.js';
import { fmtBytes, fmtCount, fmtNumber } from './convert.js';

const ORDER_LABEL: Record<OrderName, string> = { forward: 'fwd', reverse: 'rev', markowitz: 'Markowitz' };

function lastRun(runs: ReadonlyMap<string, LastRun>, uri: string, r: ItemResult, kind: LastRun['kind']): LastRun | undefined {
  const run = runs.get(runKey(uri, r.item.name, kind));
  return run && run.key === r.key ? run : undefined;
}

/** The figures lens's title and tooltip for one item. */
export function figures(a: DocumentAnalysis, r: ItemResult, runs: ReadonlyMap<string, LastRun> = new Map()): { title: string; tooltip: string } | undefined {
  const { analysis } = r;
  const steps = a.settings.analysis.steps;
  if (r.item.kind === 'rule') {
    const node = r.item.scope?.kind === 'rule' ? r.item.scope.item : undefined;
    if (!node) return undefined;
    const measured = runs.get(runKey(a.uri, ruleSignature(ruleSpec(node)), 'measured'));
    return ruleFigures(node, r, lastRun(runs, a.uri, r, 'train'), measured?.kind === 'measured' ? measured : undefined);
  }
  if (analysis.problem) return { title: `⚠ ${analysis.problem.message}`, tooltip: 'No costs: the item has no graph yet.' };
  const g = analysis.graph;
  if (!g) return undefined;
  const what = r.item.kind === 'model' ? 'one time step' : r.item.kind === 'grad' ? 'the gradient program' : 'the function';
  const size = `${g.vertices} vertices, ${g.edges} edges, ${g.inputs} independents, ${g.outputs} dependents`;
  if (!analysis.costs) {
    return {
      title: `${fmtCount(g.vertices)} vertices · ${fmtCount(g.edges)} edges`,
      tooltip: `Graph of ${what}: ${size}. Elimination costs appear when the cost model (ad/) is loaded.`,
    };
  }
  const c = analysis.costs;
  const orders = (Object.keys(ORDER_LABEL) as OrderName[]).filter((o) => c[o]);
  const cheapest = orders.reduce((best, o) => (c[o].multiplications < c[best].multiplications ? o : best), orders[0]!);
  const search = lastRun(runs, a.uri, r, 'search');
  const best = search?.kind === 'search' ? search.result.multiplications : undefined;
  const title = `${orders.map((o) => `${ORDER_LABEL[o]} ${fmtCount(c[o].multiplications)}`).join(' · ')}${best !== undefined ? ` · best ${fmtCount(best)}` : ''} mults · peak ${fmtBytes(c[cheapest].peakMemoryBytes)}`;
  const lines = [
    `Vertex elimination on the graph of ${what} (${size})${r.item.kind === 'model' ? `; analysis T = ${steps}` : ''}.`,
    ...orders.map(
      (o) =>
        `${o}: ${fmtNumber(c[o].multiplications)} multiplications, ${fmtNumber(c[o].additions)} additions, fill-in ${fmtNumber(c[o].fillIn)}, peak ${fmtBytes(c[o].peakMemoryBytes)}`,
    ),
    `peak: of the cheapest order (${cheapest}).`,
    ...(search?.kind === 'search'
      ? [
          `best: the last search (${search.status}, objective ${search.settings.objective}, budget ${search.settings.search.budgetSeconds} s): ${fmtNumber(search.result.multiplications)} multiplications`,
        ]
      : []),
  ];
  return { title, tooltip: lines.join('\n') };
}

function ruleFigures(
  rule: RuleItem,
  r: ItemResult,
  train: LastRun | undefined,
  measured?: Extract<LastRun, { kind: 'measured' }>,
): { title: string; tooltip: string } {
  const schedule = rule.body.find((s) => s.kind === 'schedule');
  const approx = rule.body.filter((s) => s.kind === 'approximate').length;
  const parts = [
    `schedule ${schedule?.kind === 'schedule' ? schedule.schedule.kind : 'reverse (default)'}`,
    `${approx} approximation${approx === 1 ? '' : 's'}`,
  ];
  const tip = [`Rule '${rule.name.name}' for model '${rule.model.name}'.`];
  const k = r.rule;
  if (k) {
    parts.push(`${fmtCount(k.multiplicationsPerStep)} mults/step`, `${k.online ? 'traces' : 'memory'} ${fmtBytes(k.memoryBytes)}`);
    tip.push(
      `Rules engine: ${fmtNumber(k.multiplicationsPerStep)} multiplications and ${fmtNumber(k.additionsPerStep)} additions per step; memory ${fmtBytes(k.memoryBytes)} ` +
        `(traces ${fmtBytes(k.traceBytes)}, history ${fmtBytes(k.historyBytes)}${k.online ? ', independent of T' : `, for T = ${k.steps}`}).`,
    );
    if (k.hardware)
      tip.push(
        `${k.hardware.profile}: ${k.hardware.fits ? 'fits' : `does not fit — ${k.hardware.reasons.join('; ')}`} (${fmtBytes(k.hardware.perCoreBytes)} per core).`,
      );
  }
  if (train?.kind === 'train') {
    const t = train.result;
    if (t.accuracy !== undefined) parts.push(`accuracy ${fmtNumber(100 * t.accuracy)}%`);
    if (t.alignment !== undefined) parts.push(`alignment ${fmtNumber(t.alignment)}`);
    parts.push(`(${t.task}, ${fmtNumber(t.steps)} steps${train.status !== 'done' ? `, ${train.status}` : ''})`);
    tip.push(
      `Last training run: task ${t.task}, ${t.steps} steps, learning rate ${train.settings.train.learningRate}, seed ${train.settings.train.seed}${t.loss !== undefined ? `, final loss ${fmtNumber(t.loss)}` : ''}.`,
    );
  } else if (measured) {
    parts.push(`accuracy ${fmtNumber(100 * measured.accuracy)}% on ${measured.task} (find-rule, ${fmtNumber(measured.updates)} updates)`);
    tip.push(
      `Measured by Find learning rule at ${measured.at}: test accuracy ${fmtNumber(100 * measured.accuracy)}%${measured.trainAccuracy !== undefined ? `, train ${fmtNumber(100 * measured.trainAccuracy)}%` : ''} on ${measured.task} after ${measured.updates} updates (a rule with the same approximations and schedule).`,
    );
  }
  return { title: parts.join(' · '), tooltip: tip.join('\n') };
}

export function codeLenses(a: DocumentAnalysis, runs: ReadonlyMap<string, LastRun> = new Map()): CodeLens[] {
  const out: CodeLens[] = [];
  for (const r of a.items) {
    const { item } = r;
    if (item.kind !== 'function' && item.kind !== 'model' && item.kind !== 'rule' && item.kind !== 'grad') continue;
    const range = a.snapshot.range(item.range);
    const lensRange = { start: range.start, end: range.start };
    const args: ItemCommandArgs = { uri: a.uri, item: item.name };
    const f = figures(a, r, runs);
    if (f) out.push({ range: lensRange, command: { title: f.title, tooltip: f.tooltip, command: '' } });
    if (item.kind !== 'rule') out.push({ range: lensRange, command: { title: 'Show graph', command: Commands.showGraph, arguments: [args] } });
    if (item.kind === 'model') out.push({ range: lensRange, command: { title: 'Find learning rule', command: Commands.findLearningRule, arguments: [args] } });
    if (item.kind === 'model' || item.kind === 'rule') out.push({ range: lensRange, command: { title: 'Train', command: Commands.train, arguments: [args] } });
  }
  return out;
}

export function registerCodeLens(ctx: ServerContext): void {
  ctx.connection.onCodeLens(
    guarded(ctx, 'codeLens', [] as CodeLens[], async (p: CodeLensParams) => {
      const a = await ctx.analyzer.current(p.textDocument.uri, ctx.workspace.version(p.textDocument.uri));
      return a ? codeLenses(a, ctx.lastRuns) : [];
    }),
  );
}

/** Ask the client to re-request lenses (after a search or training run changed what they show). */
export function refreshCodeLenses(ctx: ServerContext): void {
  if (ctx.client.codeLensRefresh) void ctx.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
}
