// eligo/interop: the editor's Import NIR… and Export… (NIR, Lava, PyTorch).
// The bridges (interop/bridges.ts) run here; their files come back as bytes
// and the extension writes them where the user chose, after confirming an
// overwrite — the server writes nothing into the workspace. A model's data(…)
// files are read only when the client says the workspace is trusted.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compile.js';
import { BridgeError, exportBridge, importBridge, type BridgeResult } from '../interop/bridges.js';
import { dataPathProblem, dataRefs, loadParamData } from '../interop/paramData.js';
import type { Initialiser, ItemScope, Symbol } from '../lang/symbols.js';
import type { LineIndex } from '../lang/source.js';
import { InteropParamsSchema, InteropRequest, type InteropFile, type InteropParams, type InteropResult } from '../protocol.js';
import { FileAccess, FileAccessError } from '../train/tasks/files.js';
import { validated, type ServerContext } from './context.js';

async function materialise(res: BridgeResult): Promise<InteropFile[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eligo-interop-'));
  try {
    const out: InteropFile[] = [];
    for (const [k, f] of res.files.entries()) {
      const path = join(dir, `f${k}`);
      if (typeof f.content === 'string') writeFileSync(path, f.content);
      else await f.content(path);
      out.push({ name: f.name, base64: readFileSync(path).toString('base64') });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function located(lines: LineIndex | undefined, p: { message: string; range?: { start: number } }): string {
  if (!p.range || !lines) return p.message;
  const at = lines.positionAt(p.range.start);
  return `line ${at.line + 1}:${at.character + 1}: ${p.message}`;
}

export async function interop(ctx: ServerContext, p: InteropParams): Promise<InteropResult> {
  let lines: LineIndex | undefined;
  try {
    if (p.kind === 'importNir') {
      if (!(p.dt > 0)) return { ok: false, problems: [`dt must be a positive number of seconds, got ${p.dt}`] };
      const res = await importBridge({ path: p.path, outName: p.outName, dt: p.dt, ...(p.method ? { method: p.method } : {}), checkSteps: 100 });
      if (res.checkFailed)
        return {
          ok: false,
          problems: [...res.lines, 'the imported model does not follow the NIR equations (difference above 1e-6 of the values); nothing written'],
        };
      return { ok: true, files: await materialise(res), lines: res.lines, warnings: [] };
    }
    const snap = ctx.workspace.snapshot(p.uri);
    let c = snap?.compiled;
    if (!c) {
      let text: string;
      try {
        // A file that is not open is read under the workspace's trust and folders, as data files are.
        text = new FileAccess({ ...ctx.trust.policy(), maxBytes: 16 * 2 ** 20 }).read(fileURLToPath(p.uri), 'export').toString('utf8');
      } catch (e) {
        return { ok: false, problems: [e instanceof FileAccessError ? e.message : `${p.uri} is not open and cannot be read`] };
      }
      c = compile(text);
    } else {
      // The snapshot's compiled file is shared with the analysis: data values go on a fresh copy.
      c = compile(c.text);
    }
    lines = c.lines;
    if (dataRefs(c).length) {
      if (!p.uri.startsWith('file:')) return { ok: false, problems: ['the model reads data(…) files, which need a file on disk'] };
      // Trusted only when both say so: the client's flag, and what the server was told (initializationOptions, eligo/didChangeTrust).
      const problems = await loadParamData(c, { baseDir: dirname(fileURLToPath(p.uri)), trusted: p.trusted && ctx.trust.trusted });
      if (problems.length) return { ok: false, problems: problems.map((q) => located(c.lines, q)) };
    }
    const res = exportBridge(c, {
      format: p.format,
      model: p.model,
      outName: p.outName,
      source: p.uri.split('/').pop() ?? p.uri,
      ...(p.rule !== undefined ? { rule: p.rule } : {}),
      ...(p.dt !== undefined ? { dt: p.dt } : {}),
      ...(p.method ? { method: p.method } : {}),
      ...(p.learningRate !== undefined ? { learningRate: p.learningRate } : {}),
    });
    return { ok: true, files: await materialise(res), lines: res.lines, warnings: res.warnings.map((w) => located(c.lines, w)) };
  } catch (e) {
    if (e instanceof BridgeError) return { ok: false, problems: e.problems.map((q) => located(lines, q)) };
    throw e;
  }
}

export function registerInterop(ctx: ServerContext): void {
  ctx.connection.onRequest(
    InteropRequest.method,
    validated(ctx, 'eligo/interop', InteropParamsSchema, { ok: false, problems: ['internal error: see the Eligo log'] }, (p: InteropParams) => interop(ctx, p)),
  );
}

/** The last data hovers, by model file, data reference and the data file's size and time: a file is read again only when it changed. */
const dataHoverCache = new Map<string, string>();
const DATA_HOVER_CACHE = 64;

const fmt = (x: number): string => String(Number(x.toPrecision(5)));

/**
 * The hover line of a param whose initial values come from data(…): their
 * range (and the values themselves when there are a few), read under the
 * same checks as everywhere (interop/paramData.ts), or why they were not read.
 * Undefined when the param has no data(…) initialiser.
 */
export async function dataHover(uri: string, text: string, symbol: Symbol, scopes: Iterable<ItemScope>, trusted: boolean): Promise<string | undefined> {
  if (symbol.kind !== 'param') return undefined;
  let init: Extract<Initialiser, { kind: 'data' }> | undefined;
  for (const scope of scopes) {
    if (scope.kind !== 'model' || scope.symbols.get(symbol.name) !== symbol) continue;
    const i = scope.initialisers.get(symbol.name);
    if (i?.kind === 'data') init = i;
  }
  if (!init) return undefined;
  const head = `**initial values** from \`data("${init.file}", "${init.dataset}")\``;
  if (!trusted) return `${head}: not read, the workspace is not trusted (trust it to see them)`;
  if (!uri.startsWith('file:')) return `${head}: not read, the model is not a file on disk`;
  const base = dirname(fileURLToPath(uri));
  const bad = dataPathProblem(init.file, base);
  if (bad) return `${head}: ${bad}`;
  let stamp = 'missing';
  try {
    const st = statSync(join(base, normalize(init.file)));
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    // loadParamData says what is wrong.
  }
  const key = `${uri}\u0000${init.file}\u0000${init.dataset}\u0000${symbol.shape.join('x')}\u0000${stamp}`;
  const hit = dataHoverCache.get(key);
  if (hit !== undefined) return hit;
  // A fresh copy: the analysis's compiled file is shared and never gets values.
  const c = compile(text);
  const problems = await loadParamData(c, { baseDir: base, trusted });
  const mine = dataRefs(c).find(
    (r) => r.param === symbol.name && r.init.file === init.file && r.init.dataset === init.dataset && r.init.range.start === init.range.start,
  );
  let line: string;
  const values = mine?.init.values;
  if (!values) {
    const problem = problems.find((q) => q.range.start === init.range.start);
    line = `${head}: ${problem?.message ?? 'not read'}`;
  } else {
    let lo = Infinity,
      hi = -Infinity,
      sum = 0;
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      sum += v;
    }
    const list = values.length <= 12 ? ` — [${Array.from(values, fmt).join(', ')}]` : '';
    line =
      values.length === 1
        ? `${head}: ${fmt(values[0]!)}`
        : `${head}: min ${fmt(lo)} · mean ${fmt(sum / values.length)} · max ${fmt(hi)} (${values.length} values)${list}`;
  }
  if (dataHoverCache.size >= DATA_HOVER_CACHE) dataHoverCache.delete(dataHoverCache.keys().next().value!);
  dataHoverCache.set(key, line);
  return line;
}
