// `analyze()` is the engine's front door (issue 12, item 3): `eligo check`
// reports exactly the diagnostics the language server publishes — the
// checker's and every analysis warning (eval.nan, spike.vanishing,
// memory.profile, rule.hardware, rule.not-online, …) — for every example and
// for files made to trigger each warning, under several hardware profiles.
// The CLI runs as a user runs it (dist/cli.js); the server is the real process.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { analyze } from '../language-server/src/analysis/index.js';
import { buildServer, LspClient, messageText, ROOT } from './helpers/lspClient.js';

const SEVERITY = ['', 'error', 'warning', 'info', 'hint'];

/** Files that trigger each analysis warning. */
const TRIGGERS: Record<string, string> = {
  'nan.eligo': '# @eval {"x": 0.5}\nfunction f(x) {\n  let y = log(x - 1)\n  return y * 2\n}\n',
  'vanishing.eligo': readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8').replace('theta = 1.0', 'theta = 100.0'),
};

interface Row {
  code: string;
  severity: string;
  message: string;
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** `eligo check FILE… --json --hardware PROFILE`, once for all files: each file's diagnostics. */
function cliCheck(files: readonly string[], profile: string): Map<string, Row[]> {
  let out: string;
  try {
    out = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'check', ...files, '--json', '--hardware', profile], {
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (e) {
    out = (e as { stdout: string }).stdout; // exit 1: a file has errors; the JSON is still printed
  }
  const j = JSON.parse(out) as { diagnostics: (Row & { file: string })[] };
  const by = new Map<string, Row[]>(files.map((f) => [f, []]));
  for (const d of j.diagnostics) by.get(d.file)!.push({ code: d.code, severity: d.severity, message: d.message, start: d.start, end: d.end });
  return by;
}

describe('analyze(): eligo check reports exactly the diagnostics of the language server', function () {
  this.timeout(180000);
  let dir: string;
  const files: string[] = [];

  before(() => {
    buildServer();
    execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT });
    dir = mkdtempSync(join(tmpdir(), 'eligo-analysis-'));
    for (const f of readdirSync(join(ROOT, 'examples'))
      .filter((x) => x.endsWith('.eligo'))
      .sort())
      files.push(join(ROOT, 'examples', f));
    for (const [name, text] of Object.entries(TRIGGERS)) {
      writeFileSync(join(dir, name), text);
      files.push(join(dir, name));
    }
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const profile of ['laptop', 'loihi2', 'neuromorphic-core']) {
    it(`under hardware profile ${profile}`, async () => {
      // As the extension does: the settings at initialize too, so the first analysis already has them.
      const client = await LspClient.start({ settings: { hardwareProfile: profile }, initializationOptions: { settings: { hardwareProfile: profile } } });
      const seen = new Set<string>();
      const cliAll = cliCheck(files, profile);
      try {
        for (const file of files) {
          const uri = pathToFileURL(file).toString();
          await client.open(uri, readFileSync(file, 'utf8'));
          const server = (await client.settledDiagnostics(uri)).map((d): Row => ({
            code: String(d.code),
            severity: SEVERITY[d.severity ?? 0]!,
            message: messageText(d),
            start: d.range.start,
            end: d.range.end,
          }));
          const cli = cliAll.get(file)!;
          assert.deepEqual(cli, server, `${file} under ${profile}`);
          // And analyze() in-process is what both present.
          assert.deepEqual(
            analyze(readFileSync(file, 'utf8'), { steps: 10, hardwareProfile: profile }).diagnostics.map((d) => d.code),
            server.map((d) => d.code),
          );
          for (const d of server) seen.add(d.code);
          await client.close(uri);
        }
      } finally {
        await client.stop();
      }
      // The warnings `eligo check` never reported before are among those compared.
      const expected = {
        laptop: ['eval.nan', 'spike.vanishing'],
        loihi2: ['eval.nan', 'spike.vanishing', 'memory.profile', 'rule.hardware', 'rule.not-online'],
        'neuromorphic-core': ['memory.profile'],
      }[profile]!;
      for (const code of expected) assert.ok(seen.has(code), `${code} under ${profile}: saw ${[...seen].join(', ')}`);
    });
  }
});
