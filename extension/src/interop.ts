// Eligo: Import NIR… and Eligo: Export… (NIR, Lava, PyTorch), and the rule
// item's code actions that call Export with the rule. The language server
// runs the bridge (eligo/interop) and answers with the files; this writes
// them where the user chose — each to a temporary name, then renamed — after
// confirming any that would replace an existing file.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { InteropRequest, type InteropFile, type InteropParams, type InteropResult } from '../../language-server/src/protocol.js';
import type { CmdFactory } from './commands.js';
import type { Ctx } from './ctx.js';
import { itemAt, modelOf, rulesFor } from './edits.js';

type Format = 'nir' | 'lava' | 'torch';

interface ExportArgs {
  readonly uri?: string;
  readonly format?: Format;
  readonly model?: string;
  readonly rule?: string;
}

const FORMATS: readonly { label: string; detail: string; value: Format }[] = [
  { label: 'NIR', detail: 'the model as a NIR graph (HDF5) for snnTorch, Norse, Lava-DL, Rockpool, Sinabs, SpiNNaker 2, …', value: 'nir' },
  { label: 'Lava (Loihi 2)', detail: 'the rule as Loihi 2 learning rules (dw strings over x0, y0, u, x1, x2, y1–y3)', value: 'lava' },
  { label: 'PyTorch', detail: "a torch-only module: the model step, the rule's online update and exact BPTT", value: 'torch' },
];

async function quickPick<T>(items: readonly (vscode.QuickPickItem & { value: T })[], title: string): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true });
  return chosen?.value;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** Writes the bridge's files next to `target` (the first is `target`); false when the user declined an overwrite. */
async function writeFiles(ctx: Ctx, target: vscode.Uri, files: readonly InteropFile[], confirmedFirst: boolean): Promise<boolean> {
  const dir = vscode.Uri.joinPath(target, '..');
  const uris = files.map((f, k) => (k === 0 ? target : vscode.Uri.joinPath(dir, f.name)));
  const replacing: string[] = [];
  for (const [k, u] of uris.entries()) if ((k > 0 || !confirmedFirst) && (await exists(u))) replacing.push(path.basename(u.path));
  if (replacing.length) {
    const ok = await vscode.window.showWarningMessage(
      `Eligo: ${replacing.join(' and ')} already ${replacing.length === 1 ? 'exists' : 'exist'}. Replace?`,
      { modal: true },
      'Replace',
    );
    if (ok !== 'Replace') return false;
  }
  const temps: vscode.Uri[] = [];
  try {
    for (const [k, f] of files.entries()) {
      const tmp = vscode.Uri.joinPath(dir, `.${path.basename(uris[k]!.path)}.${Date.now().toString(36)}.tmp`);
      temps.push(tmp);
      await vscode.workspace.fs.writeFile(tmp, Buffer.from(f.base64, 'base64'));
    }
    for (const [k, tmp] of temps.entries()) await vscode.workspace.fs.rename(tmp, uris[k]!, { overwrite: true });
  } catch (e) {
    for (const t of temps) await vscode.workspace.fs.delete(t).then(undefined, () => undefined);
    throw e;
  }
  ctx.output.info(`Wrote ${uris.map((u) => u.fsPath).join(', ')}`);
  return true;
}

function report(ctx: Ctx, res: InteropResult, what: string): res is Extract<InteropResult, { ok: true }> {
  if (!res.ok) {
    for (const p of res.problems) ctx.output.error(`${what}: ${p}`);
    void vscode.window.showErrorMessage(
      `Eligo: ${what} failed: ${res.problems[0] ?? 'see the log'}${res.problems.length > 1 ? ` (and ${res.problems.length - 1} more in the log)` : ''}`,
    );
    return false;
  }
  for (const l of res.lines) ctx.output.info(l);
  for (const w of res.warnings) ctx.output.warn(w);
  return true;
}

export const interopCommands: Readonly<Record<string, CmdFactory>> = {
  'eligo.importNir':
    (ctx) =>
    async (...args) => {
      const src =
        args[0] instanceof vscode.Uri
          ? args[0]
          : (
              await vscode.window.showOpenDialog({
                canSelectMany: false,
                title: 'Import a NIR graph',
                filters: { 'NIR graphs': ['nir', 'h5', 'hdf5'], 'All files': ['*'] },
              })
            )?.[0];
      if (!src) return;
      if (src.scheme !== 'file') return void vscode.window.showErrorMessage('Eligo: Import NIR reads a file on disk.');
      const dtText = await vscode.window.showInputBox({
        title: 'Import NIR: time step',
        prompt: 'dt in seconds: NIR is continuous-time, the model is stepped at dt (use the dt the network was trained with)',
        value: '0.001',
        ignoreFocusOut: true,
        validateInput: (v) => (Number(v) > 0 && Number.isFinite(Number(v)) ? undefined : 'a positive number of seconds, e.g. 0.001'),
      });
      if (dtText === undefined) return;
      const method = await quickPick(
        [
          { label: 'Exact exponential', detail: "α = exp(−dt/τ), as the language's du/dt", value: 'exact' as const },
          { label: 'Forward Euler', detail: "α = 1 − dt/τ (snnTorch's and Lava's convention)", value: 'euler' as const },
        ],
        'Import NIR: discretisation',
      );
      if (!method) return;
      const target = await vscode.window.showSaveDialog({
        title: 'Import NIR: the Eligo model to write',
        defaultUri: src.with({ path: src.path.replace(/\.[^./]+$/, '') + '.eligo' }),
        filters: { 'Eligo models': ['eligo'] },
      });
      if (!target) return;
      if (!target.path.endsWith('.eligo')) return void vscode.window.showErrorMessage('Eligo: the model file must end in .eligo.');
      const params: InteropParams = { kind: 'importNir', path: src.fsPath, outName: path.basename(target.path), dt: Number(dtText), method };
      const res = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Importing ${path.basename(src.path)}` }, () =>
        ctx.request(InteropRequest, params),
      );
      if (!report(ctx, res, 'Import NIR')) return;
      if (!(await writeFiles(ctx, target, res.files, true))) return;
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target));
      const check = res.lines.find((l) => l.startsWith('check:'));
      void vscode.window.showInformationMessage(`Eligo: imported ${path.basename(src.path)} as ${path.basename(target.path)}${check ? ` — ${check}` : ''}.`);
    },

  'eligo.export':
    (ctx) =>
    async (...args) => {
      const a: ExportArgs = typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof vscode.Uri) ? args[0] : {};
      const doc = a.uri
        ? await vscode.workspace.openTextDocument(vscode.Uri.parse(a.uri))
        : args[0] instanceof vscode.Uri
          ? await vscode.workspace.openTextDocument(args[0])
          : vscode.window.activeTextEditor?.document;
      if (!doc || doc.languageId !== 'eligo') return void vscode.window.showWarningMessage('Eligo: open an .eligo file to export from.');
      const text = doc.getText();
      const ed = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      const ref = itemAt(text, ed ? doc.offsetAt(ed.selection.active) : 0);
      const model = a.model ?? (ref ? modelOf(ref) : undefined);
      if (!model) return void vscode.window.showWarningMessage('Eligo: the file has no model to export.');
      const format = a.format ?? (await quickPick(FORMATS, `Export ${model}`));
      if (!format) return;
      let rule = a.rule ?? (ref?.kind === 'rule' && modelOf(ref) === model ? ref.name : undefined);
      if (format !== 'nir' && rule === undefined) {
        const rules = rulesFor(text, model);
        const items: { label: string; value: string | null }[] = rules.map((r) => ({ label: r, value: r }));
        if (format === 'torch') items.push({ label: 'No rule', value: null });
        if (items.length === 0)
          return void vscode.window.showWarningMessage(`Eligo: model '${model}' has no rule to export (write one, or run Find Learning Rule).`);
        const chosen = await quickPick(items, `Export ${model} to ${format === 'lava' ? 'Lava' : 'PyTorch'}: which rule?`);
        if (chosen === undefined) return;
        rule = chosen ?? undefined;
      }
      const name = format === 'nir' ? `${model}.nir` : format === 'lava' ? `${model}_${rule}_loihi2.py` : `${model}${rule ? `_${rule}` : ''}_torch.py`;
      const target = await vscode.window.showSaveDialog({
        title: `Export ${model}${rule ? ` · ${rule}` : ''}`,
        defaultUri: vscode.Uri.joinPath(doc.uri, '..', name),
        filters: format === 'nir' ? { 'NIR graphs': ['nir'] } : { Python: ['py'] },
      });
      if (!target) return;
      const params: InteropParams = {
        kind: 'export',
        uri: doc.uri.toString(),
        format,
        model,
        outName: path.basename(target.path),
        trusted: vscode.workspace.isTrusted,
        ...(rule !== undefined ? { rule } : {}),
      };
      let res = await ctx.request(InteropRequest, params);
      if (!res.ok && res.problems.some((p) => p.includes('untrusted workspace')) && (await ctx.requireTrust('Export'))) {
        res = await ctx.request(InteropRequest, { ...params, trusted: true });
      }
      if (!report(ctx, res, `Export to ${format}`)) return;
      if (!(await writeFiles(ctx, target, res.files, true))) return;
      void vscode.window.showInformationMessage(
        `Eligo: ${res.lines[0] ?? `exported to ${path.basename(target.path)}`}${res.warnings.length ? ` (${res.warnings.length} warning${res.warnings.length === 1 ? '' : 's'} in the log)` : ''}`,
      );
    },
};
