// eligo/interop: the editor's Import NIR… and Export… (NIR, Lava, PyTorch).
// The bridges (interop/bridges.ts) run here; their files come back as bytes
// and the extension writes them where the user chose, after confirming an
// overwrite — the server writes nothing into the workspace. A model's data(…)
// files are read only when the client says the workspace is trusted.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compile.js';
import { BridgeError, exportBridge, importBridge, type BridgeResult } from '../interop/bridges.js';
import { dataRefs, loadParamData } from '../interop/paramData.js';
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
      if (res.checkFailed) return { ok: false, problems: [...res.lines, 'the imported model does not follow the NIR equations (difference above 1e-6 of the values); nothing written'] };
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
      if (problems.length) return { ok: false, problems: problems.map((q) => located(c!.lines, q)) };
    }
    const res = exportBridge(c, {
      format: p.format, model: p.model, outName: p.outName, source: p.uri.split('/').pop() ?? p.uri,
      ...(p.rule !== undefined ? { rule: p.rule } : {}), ...(p.dt !== undefined ? { dt: p.dt } : {}),
      ...(p.method ? { method: p.method } : {}), ...(p.learningRate !== undefined ? { learningRate: p.learningRate } : {}),
    });
    return { ok: true, files: await materialise(res), lines: res.lines, warnings: res.warnings.map((w) => located(c!.lines, w)) };
  } catch (e) {
    if (e instanceof BridgeError) return { ok: false, problems: e.problems.map((q) => located(lines, q)) };
    throw e;
  }
}

export function registerInterop(ctx: ServerContext): void {
  ctx.connection.onRequest(InteropRequest.method, validated(ctx, 'eligo/interop', InteropParamsSchema, { ok: false, problems: ['internal error: see the Eligo log'] } as InteropResult,
    (p: InteropParams) => interop(ctx, p)));
}
