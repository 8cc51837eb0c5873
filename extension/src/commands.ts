// Every command of the extension, as a record of factories built in one
// place (rust-analyzer's commands.ts): each takes the context and returns the
// handler. Code lenses call them with `ItemCommandArgs` ({uri, item}); the
// palette, editor title and context menu call them with nothing (or the
// file's URI) and the item is the one at the cursor.

import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  FindLearningRuleRequest,
  SearchRequest,
  TrainRequest,
  TrainTasksRequest,
  type FindLearningRuleParams,
  type JobResult,
  type LearningRuleResult,
  type Objective,
  type SearchParams,
  type SearchResult,
  type TrainParams,
  type TrainResult,
  type TrainTask,
} from '../../language-server/src/protocol.js';
import { HARDWARE_PROFILES, namedProfile } from '../../language-server/src/rules/profiles.js';
import { OBJECTIVES } from './config.js';
import type { Ctx } from './ctx.js';
import { interopCommands } from './interop.js';
import { itemAt, modelOf, rulesFor, type ItemRef } from './edits.js';
import { formatBytes, formatCount, jobSummary, paretoFront } from './messages.js';

export type Cmd = (...args: unknown[]) => unknown;
export type CmdFactory = (ctx: Ctx) => Cmd;

/** A command's target: the document and the item in it. */
export interface Target {
  readonly doc: vscode.TextDocument;
  readonly uri: string;
  readonly ref: ItemRef;
}

// ------------------------------------------------------------------ targets

function isItemArgs(a: unknown): a is { uri: string; item: string } {
  return typeof a === 'object' && a !== null && typeof (a as { uri?: unknown }).uri === 'string' && typeof (a as { item?: unknown }).item === 'string';
}

/** The item a command is about, from code-lens args, an explorer URI, or the cursor. */
export async function resolveTarget(args: readonly unknown[]): Promise<Target | undefined> {
  const a = args[0];
  let doc: vscode.TextDocument | undefined;
  let name: string | undefined;
  if (isItemArgs(a)) {
    doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(a.uri));
    name = a.item;
  } else if (a instanceof vscode.Uri) {
    doc = await vscode.workspace.openTextDocument(a);
  } else {
    const ed = vscode.window.activeTextEditor;
    if (ed?.document.languageId === 'eligo') doc = ed.document;
    else doc = vscode.window.visibleTextEditors.find((e) => e.document.languageId === 'eligo')?.document;
  }
  if (!doc || doc.languageId !== 'eligo') {
    void vscode.window.showWarningMessage('Eligo: open an .eligo file first (or run "Eligo: Open Example").');
    return undefined;
  }
  const text = doc.getText();
  let ref: ItemRef | undefined;
  if (name) {
    ref = itemAt(text, text.search(new RegExp(`\\b(?:function|model|rule)\\s+${name}\\b`))) ?? { kind: 'model', name };
    if (ref.name !== name) ref = { kind: 'model', name };
  } else {
    const ed = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    ref = itemAt(text, ed ? doc.offsetAt(ed.selection.active) : 0);
  }
  if (!ref) {
    void vscode.window.showWarningMessage(`Eligo: ${path.basename(doc.uri.path)} has no function, model or rule yet.`);
    return undefined;
  }
  return { doc, uri: doc.uri.toString(), ref };
}

/** Commands that work on models (find learning rule, train) need a model, not a function. */
function requireModel(t: Target, what: string): string | undefined {
  if (t.ref.kind === 'function') {
    void vscode.window.showWarningMessage(`Eligo: ${what} works on a model; '${t.ref.name}' is a function. Put the cursor in a model.`);
    return undefined;
  }
  return modelOf(t.ref);
}

// ------------------------------------------------------------------ pickers

interface Pick<T> extends vscode.QuickPickItem {
  readonly value: T;
}

async function pick<T>(items: readonly Pick<T>[], title: string, placeHolder: string, step?: [number, number]): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, {
    title: step ? `${title} (${step[0]}/${step[1]})` : title,
    placeHolder,
    ignoreFocusOut: true,
    matchOnDescription: true,
  });
  return chosen?.value;
}

const OBJECTIVE_DOC: Readonly<Record<Objective, string>> = {
  multiplications: 'fewest multiplications to accumulate the Jacobian (compute)',
  memory: 'lowest peak memory of stored Jacobians and traces',
  time: 'shortest measured time on this machine',
};

function objectiveItems(current: Objective): Pick<Objective>[] {
  const order = [current, ...OBJECTIVES.filter((o) => o !== current)];
  return order.map((o) => ({ label: o, description: o === current ? '(setting eligo.objective)' : '', detail: OBJECTIVE_DOC[o], value: o }));
}

/** The hardware quick pick: the registry's profiles (rules/profiles.ts), the setting's first (a size such as `192 KiB` too). */
function profileItems(current: string): Pick<string>[] {
  const listed = HARDWARE_PROFILES.map((p) => ({ id: p.id, label: p.label }));
  const cur = namedProfile(current)?.id ?? current;
  const mine = listed.find((p) => p.id === cur) ?? { id: cur, label: 'the setting eligo.hardwareProfile' };
  const order = [mine, ...listed.filter((p) => p.id !== mine.id)];
  return order.map((p) => ({ label: p.id, description: p.id === mine.id ? '(setting eligo.hardwareProfile)' : '', detail: p.label, value: p.id }));
}

/** Budget choices: the setting first, then a ladder; "custom" asks for a number. */
export function budgetChoices(current: number): number[] {
  const ladder = [2, 10, 30, 60, 300];
  return [current, ...ladder.filter((b) => b !== current)];
}

async function pickBudget(current: number, title: string, step: [number, number]): Promise<number | undefined> {
  const items: Pick<number>[] = budgetChoices(current).map((b, i) => ({
    label: `${b} s`,
    description: i === 0 ? '(setting eligo.search.budgetSeconds)' : b <= 2 ? 'a quick look' : b >= 300 ? 'thorough' : '',
    value: b,
  }));
  items.push({ label: 'Other…', description: 'type a number of seconds', value: -1 });
  const b = await pick(items, title, 'Time budget: the search stops there and keeps the best found', step);
  if (b !== -1) return b;
  const typed = await vscode.window.showInputBox({
    title,
    prompt: 'Time budget in seconds',
    value: String(current),
    validateInput: (s) => (Number.isFinite(Number(s)) && Number(s) > 0 && Number(s) <= 3600 ? undefined : 'a number of seconds between 0 and 3600'),
  });
  return typed === undefined ? undefined : Number(typed);
}

/** Optional overrides a caller (a test, a walkthrough link) may pass to skip the pickers. */
interface JobOverrides {
  objective?: Objective;
  hardwareProfile?: string;
  budgetSeconds?: number;
  task?: string;
  rule?: string;
}

function overrides(args: readonly unknown[]): JobOverrides {
  // `executeCommand(id, {uri, item, budgetSeconds})`, or (explorer) `(uri, {…})`.
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !(v instanceof vscode.Uri);
  const o = plain(args[0]) ? args[0] : plain(args[1]) ? args[1] : {};
  const r: JobOverrides = {};
  if ((OBJECTIVES as readonly unknown[]).includes(o.objective)) r.objective = o.objective as Objective;
  if (typeof o.hardwareProfile === 'string') r.hardwareProfile = o.hardwareProfile;
  if (typeof o.budgetSeconds === 'number' && o.budgetSeconds > 0) r.budgetSeconds = o.budgetSeconds;
  if (typeof o.task === 'string') r.task = o.task;
  if (typeof o.rule === 'string') r.rule = o.rule;
  return r;
}

// ------------------------------------------------------------------ result lines

function ruleLine(job: JobResult<LearningRuleResult>): string {
  const front = paretoFront(job);
  const best = front[0];
  if (!best) return '';
  const figs = [
    best.multiplications !== undefined ? `${formatCount(best.multiplications)} mults` : '',
    best.memoryBytes !== undefined ? formatBytes(best.memoryBytes) : '',
    best.alignment !== undefined ? `alignment ${best.alignment.toFixed(3)}` : '',
  ].filter(Boolean);
  return ` Best: '${best.name}'${figs.length ? ` (${figs.join(', ')})` : ''}; ${front.length} on the Pareto front.`;
}

function searchLine(job: JobResult<SearchResult>): string {
  const r = job.result;
  if (!r) return '';
  return ` Best order: ${formatCount(r.multiplications)} multiplications${r.peakMemoryBytes !== undefined ? `, peak ${formatBytes(r.peakMemoryBytes)}` : ''}${r.evaluated !== undefined ? ` after ${formatCount(r.evaluated)} orders` : ''}.`;
}

function notifyEnd(what: string, job: JobResult<unknown>, extra: string): void {
  const line = jobSummary(what, job) + extra;
  if (job.status === 'failed') void vscode.window.showErrorMessage(line);
  else if (job.status === 'refused' || job.status === 'unavailable') void vscode.window.showWarningMessage(line);
  else void vscode.window.showInformationMessage(line);
}

function isCancel(e: unknown): boolean {
  return e instanceof Error && /cancel/i.test(e.message);
}

// ------------------------------------------------------------------ the commands

export const commands: Readonly<Record<string, CmdFactory>> = {
  'eligo.showGraph':
    (ctx) =>
    async (...args) => {
      const t = await resolveTarget(args);
      if (!t) return;
      const item = t.ref.kind === 'rule' ? modelOf(t.ref) : t.ref.name;
      const panel = ctx.panels.show(t.uri, item, 'graph');
      await panel.refreshGraph();
    },

  'eligo.findLearningRule':
    (ctx) =>
    async (...args) => {
      const t = await resolveTarget(args);
      if (!t) return;
      const model = requireModel(t, 'Find Learning Rule');
      if (!model) return;
      const o = overrides(args);
      const title = `Find Learning Rule for '${model}'`;
      const objective = o.objective ?? (await pick(objectiveItems(ctx.config.objective), title, 'What the rule should minimise', [1, 3]));
      if (!objective) return;
      const profile = o.hardwareProfile ?? (await pick(profileItems(ctx.config.hardwareProfile), title, 'Hardware the rule must fit', [2, 3]));
      if (!profile) return;
      const budgetSeconds = o.budgetSeconds ?? (await pickBudget(ctx.config.search.budgetSeconds, title, [3, 3]));
      if (budgetSeconds === undefined) return;
      const panel = ctx.panels.show(t.uri, model, 'rules');
      try {
        const job = await ctx.runJob('findLearningRule', title, { uri: t.uri, item: model }, (client, workDoneToken, token) => {
          const params: FindLearningRuleParams = {
            uri: t.uri,
            item: model,
            objective,
            budgetSeconds,
            workDoneToken,
            hardwareProfile: profile,
          };
          return client.sendRequest(FindLearningRuleRequest, params, token);
        });
        if (!job) return;
        panel.post({ type: 'rules', uri: t.uri, item: model, job, front: paretoFront(job) });
        notifyEnd(title, job, ruleLine(job));
      } catch (e) {
        if (isCancel(e)) return void vscode.window.showInformationMessage(`${title}: cancelled.`);
        panel.post({ type: 'error', message: `${title} failed: ${(e as Error).message}` });
        void vscode.window.showErrorMessage(`${title} failed: ${(e as Error).message}`);
      }
    },

  'eligo.searchOrder':
    (ctx) =>
    async (...args) => {
      const t = await resolveTarget(args);
      if (!t) return;
      const item = t.ref.kind === 'rule' ? modelOf(t.ref) : t.ref.name;
      const o = overrides(args);
      const title = `Search Elimination Order for '${item}'`;
      const objective = o.objective ?? (await pick(objectiveItems(ctx.config.objective), title, 'What the order should minimise', [1, 2]));
      if (!objective) return;
      const budgetSeconds = o.budgetSeconds ?? (await pickBudget(ctx.config.search.budgetSeconds, title, [2, 2]));
      if (budgetSeconds === undefined) return;
      const panel = ctx.panels.show(t.uri, item, 'search');
      try {
        const job = await ctx.runJob('search', title, { uri: t.uri, item }, (client, workDoneToken, token) => {
          const params: SearchParams = { uri: t.uri, item, objective, budgetSeconds, workDoneToken };
          return client.sendRequest(SearchRequest, params, token);
        });
        if (!job) return;
        panel.post({ type: 'search', uri: t.uri, item, job });
        notifyEnd(title, job, searchLine(job));
      } catch (e) {
        if (isCancel(e)) return void vscode.window.showInformationMessage(`${title}: cancelled.`);
        panel.post({ type: 'error', message: `${title} failed: ${(e as Error).message}` });
        void vscode.window.showErrorMessage(`${title} failed: ${(e as Error).message}`);
      }
    },

  'eligo.train':
    (ctx) =>
    async (...args) => {
      const t = await resolveTarget(args);
      if (!t) return;
      const model = requireModel(t, 'Train');
      if (!model) return;
      const o = overrides(args);
      const title = `Train '${model}'`;
      // The rule: the one at the cursor, or a pick among the model's rules.
      let rule = o.rule ?? (t.ref.kind === 'rule' ? t.ref.name : undefined);
      if (rule === undefined) {
        const rules = rulesFor(t.doc.getText(), model);
        const choice = await pick<string>(
          [
            ...rules.map((r) => ({ label: r, description: `rule ${r} for ${model}`, value: r })),
            { label: 'exact gradient', description: 'BPTT, no approximation', value: '' },
          ],
          title,
          'Train with which learning rule?',
          [1, 2],
        );
        if (choice === undefined) return;
        rule = choice;
      }
      // The task: what the server offers, else the configured one.
      let task = o.task;
      let dataUri: string | undefined;
      if (task === undefined) {
        let tasks: readonly TrainTask[];
        try {
          tasks = await ctx.request(TrainTasksRequest, { uri: t.uri, item: model });
        } catch {
          tasks = [];
        }
        const items: Pick<TrainTask>[] = tasks.map((k) => ({
          label: k.name,
          description: k.name === ctx.config.train.task ? '(setting eligo.train.task)' : '',
          detail: k.description ?? '',
          value: k,
        }));
        if (!tasks.some((k) => k.name === ctx.config.train.task))
          items.unshift({ label: ctx.config.train.task, description: '(setting eligo.train.task)', value: { name: ctx.config.train.task } });
        items.push({ label: 'Data file…', description: 'a file of this workspace (needs a trusted workspace)', value: { name: 'file', userData: true } });
        const chosen = await pick(items, title, 'Train on which task?', [2, 2]);
        if (!chosen) return;
        task = chosen.name;
        if (chosen.userData) {
          if (!(await ctx.requireTrust('Training on a data file'))) return;
          if (task === 'file') {
            const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
            const files = await vscode.window.showOpenDialog({
              canSelectMany: false,
              openLabel: 'Train on this file',
              ...(folder ? { defaultUri: folder } : {}),
            });
            if (!files?.[0]) return;
            dataUri = files[0].toString();
          }
        }
      }
      const panel = ctx.panels.show(t.uri, model, 'train');
      panel.post({ type: 'trainStart', uri: t.uri, item: model, task, ...(rule ? { rule } : {}) });
      const tr = ctx.config.train;
      try {
        const job = await ctx.runJob(
          'train',
          `${title} on ${task}${rule ? ` with '${rule}'` : ''}`,
          { uri: t.uri, item: model },
          (client, workDoneToken, token) => {
            const params: TrainParams = {
              uri: t.uri,
              item: model,
              task: task,
              steps: tr.steps,
              learningRate: tr.learningRate,
              batchSize: tr.batchSize,
              seed: tr.seed,
              workDoneToken,
              ...(rule ? { rule } : {}),
              ...(dataUri ? { dataUri } : {}),
            };
            return client.sendRequest(TrainRequest, params, token);
          },
        );
        if (!job) return;
        panel.post({ type: 'train', uri: t.uri, item: model, job });
        const r: TrainResult | undefined = job.result;
        const figs = r
          ? [
              r.accuracy !== undefined ? `accuracy ${(r.accuracy * 100).toFixed(1)}%` : '',
              r.loss !== undefined ? `loss ${r.loss.toPrecision(3)}` : '',
              r.alignment !== undefined ? `alignment ${r.alignment.toFixed(3)}` : '',
            ]
              .filter(Boolean)
              .join(', ')
          : '';
        notifyEnd(title, job, figs ? ` ${figs}.` : '');
      } catch (e) {
        if (isCancel(e)) return void vscode.window.showInformationMessage(`${title}: cancelled.`);
        panel.post({ type: 'error', message: `${title} failed: ${(e as Error).message}` });
        void vscode.window.showErrorMessage(`${title} failed: ${(e as Error).message}`);
      }
    },

  'eligo.exportGraph':
    (ctx) =>
    async (...args) => {
      const t = await resolveTarget(args);
      if (!t) return;
      const item = t.ref.kind === 'rule' ? modelOf(t.ref) : t.ref.name;
      const format = await pick<'html' | 'svg'>(
        [
          { label: 'HTML', description: 'one self-contained page, opens in any browser', value: 'html' },
          { label: 'SVG', description: 'the picture alone', value: 'svg' },
        ],
        `Export the graph of '${item}'`,
        'Format',
      );
      if (!format) return;
      let panel = ctx.panels.get(t.uri, item);
      if (!panel) {
        panel = ctx.panels.show(t.uri, item, 'graph');
        await panel.refreshGraph();
      } else if (panel.state.view !== 'graph') {
        panel.setView('graph');
        await panel.refreshGraph();
      }
      try {
        const content = await panel.export(format);
        const base =
          t.doc.uri.scheme === 'file'
            ? vscode.Uri.joinPath(t.doc.uri, '..', `${item}.graph.${format}`)
            : vscode.workspace.workspaceFolders?.[0]
              ? vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, `${item}.graph.${format}`)
              : undefined;
        const target = await vscode.window.showSaveDialog({
          ...(base ? { defaultUri: base } : {}),
          filters: format === 'html' ? { HTML: ['html'] } : { SVG: ['svg'] },
          saveLabel: 'Export',
        });
        if (!target) return;
        await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
        const open = await vscode.window.showInformationMessage(
          `Eligo: exported the graph of '${item}' to ${vscode.workspace.asRelativePath(target)}.`,
          'Open',
        );
        if (open) await vscode.env.openExternal(target);
      } catch (e) {
        void vscode.window.showErrorMessage(`Eligo: export failed: ${(e as Error).message}`);
      }
    },

  'eligo.restartServer': (ctx) => async () => {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Restarting the Eligo server' }, () => ctx.restart());
    void vscode.window.showInformationMessage('Eligo: the language server was restarted.');
  },

  'eligo.cancelJob': (ctx) => async () => {
    const running = ctx.jobs.running;
    if (running.length === 0) return void vscode.window.showInformationMessage('Eligo: no job is running.');
    if (running.length === 1) {
      ctx.jobs.cancel(running[0]!.id);
      return;
    }
    const choice = await pick<number>(
      [{ label: 'All jobs', value: -1 }, ...running.map((j) => ({ label: j.title, description: j.message ?? '', value: j.id }))],
      'Cancel an Eligo job',
      'Which job?',
    );
    if (choice === undefined) return;
    if (choice === -1) ctx.jobs.cancelAll();
    else ctx.jobs.cancel(choice);
  },

  'eligo.showOutput': (ctx) => () => ctx.output.show(true),

  'eligo.openExample':
    (ctx) =>
    async (...args) => {
      const dir = vscode.Uri.joinPath(ctx.extensionUri, 'examples');
      let names: string[];
      try {
        names = (await vscode.workspace.fs.readDirectory(dir))
          .filter(([n, k]) => k === vscode.FileType.File && n.endsWith('.eligo'))
          .map(([n]) => n)
          .sort();
      } catch {
        names = [];
      }
      if (names.length === 0) return void vscode.window.showErrorMessage('Eligo: no examples found in the extension.');
      const wanted = typeof args[0] === 'string' ? args[0] : undefined;
      const order = ['lif.eligo', 'alif.eligo', 'rnn.eligo'];
      names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
      let name = wanted && names.includes(wanted) ? wanted : undefined;
      if (!name) {
        const items: Pick<string>[] = [];
        for (const n of names) {
          const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, n)));
          const first = /^#\s*(.+)$/m.exec(text)?.[1] ?? '';
          items.push({ label: n.replace(/\.eligo$/, ''), detail: first, value: n });
        }
        name = await pick(items, 'Open an Eligo example', 'Models (LIF, ALIF, RNN) and the AD benchmark functions');
        if (!name) return;
      }
      // A copy, as an untitled document: the extension's own files stay untouched,
      // and Find Learning Rule can insert into it.
      const content = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, name)));
      const doc = await vscode.workspace.openTextDocument({ language: 'eligo', content });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
    },
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries({ ...commands, ...interopCommands }).map(([id, make]) => {
    const handler = make(ctx);
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (e) {
        ctx.output.error(`${id}: ${(e as Error).stack ?? String(e)}`);
        void vscode.window.showErrorMessage(`Eligo: ${(e as Error).message}`);
        return undefined;
      }
    });
  });
}
