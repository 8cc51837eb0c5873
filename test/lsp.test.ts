// The language server as an editor sees it: the real process over stdio,
// JSON-RPC with vscode-languageserver-protocol. Every figure asserted here is
// compared with the engine (compile / analyze / graph/point.ts) or with the
// CLI's --json output for the same file.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  CodeAction,
  CodeLens,
  CompletionItem,
  Diagnostic,
  DocumentSymbol,
  Hover,
  InlayHint,
  Location,
  SemanticTokens,
  SignatureHelp,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { compile } from '../language-server/src/compile.js';
import { BUILTINS } from '../language-server/src/lang/builtins.js';
import { SURROGATE_KINDS } from '../language-server/src/lang/surrogates.js';
import { LineIndex } from '../language-server/src/lang/source.js';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import { evaluationPoint } from '../language-server/src/graph/point.js';
import { graphOf } from '../language-server/src/compile.js';
import { fmtBytes, fmtCount, fmtNumber, fmtShape } from '../language-server/src/server/convert.js';
import { formatText } from '../language-server/src/analysis/format.js';
import { LEGEND } from '../language-server/src/server/semanticTokens.js';
import { analyseRules } from '../language-server/src/rules/diagnostics.js';
import { buildServer, LspClient, messageText, ROOT } from './helpers/lspClient.js';

const EXAMPLES = join(ROOT, 'examples');
const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.eligo'))
  .sort();
const LIF = readFileSync(join(EXAMPLES, 'lif.eligo'), 'utf8');
const uriOf = (name: string): string => `file:///examples/${name}`;

/** LSP position of the `nth` occurrence of `needle` (+ `delta` characters). */
function pos(text: string, needle: string, nth = 0, delta = 0): { line: number; character: number } {
  let at = -1;
  for (let k = 0; k <= nth; k++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `'${needle}' #${nth} not in text`);
  }
  return new LineIndex(text).positionAt(at + delta);
}

function cli(args: string[]): unknown {
  let out: string;
  try {
    out = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { encoding: 'utf8' });
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? '';
  }
  return JSON.parse(out);
}

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  return TextDocument.applyEdits(TextDocument.create('x', 'eligo', 1, text), [...edits]);
}

interface CliCost {
  multiplications: number;
  additions: number;
  fillIn: number;
  peakMemoryBytes: number;
}
interface CliItem {
  name: string;
  kind: string;
  vertices: number;
  costs: Record<'forward' | 'reverse' | 'markowitz', CliCost>;
}

describe('language server over stdio (LSP)', function () {
  this.timeout(60000);
  let client: LspClient;

  before(async () => {
    buildServer();
    client = await LspClient.start();
    for (const f of exampleFiles) await client.open(uriOf(f), readFileSync(join(EXAMPLES, f), 'utf8'));
  });

  after(async () => {
    await client?.stop();
  });

  it('announces every feature of issue 7 in its capabilities', () => {
    const caps = client.initResult!.capabilities;
    for (const k of [
      'hoverProvider',
      'codeLensProvider',
      'inlayHintProvider',
      'documentSymbolProvider',
      'completionProvider',
      'signatureHelpProvider',
      'definitionProvider',
      'referencesProvider',
      'renameProvider',
      'semanticTokensProvider',
      'documentFormattingProvider',
      'codeActionProvider',
    ])
      assert.ok(caps[k], `capability ${k}`);
    assert.deepEqual((caps.semanticTokensProvider as { legend: unknown }).legend, LEGEND);
    assert.equal(client.initResult!.serverInfo?.name, 'eligo-language-server');
  });

  describe('diagnostics', () => {
    it('publishes for every example exactly what `eligo check --json` reports (ranges, codes, messages)', async () => {
      const cliOut = cli(['check', ...exampleFiles.map((f) => join(EXAMPLES, f)), '--json']) as {
        diagnostics: { file: string; code: string; message: string; start: unknown; end: unknown; severity: string }[];
      };
      for (const f of exampleFiles) {
        const published = await client.settledDiagnostics(uriOf(f));
        const fromCheck = published.filter((d) => !['eval.nan', 'spike.vanishing', 'memory.profile'].includes(String(d.code)));
        const expected = cliOut.diagnostics.filter((d) => d.file === join(EXAMPLES, f));
        assert.equal(fromCheck.length, expected.length, f);
        fromCheck.forEach((d, i) => {
          assert.equal(d.code, expected[i]!.code);
          assert.equal(d.message, expected[i]!.message);
          assert.deepEqual(d.range, { start: expected[i]!.start, end: expected[i]!.end });
        });
        // The examples are meant to be clean: no analysis warning either.
        assert.deepEqual(
          published.map((d) => d.code),
          [],
          `${f}: ${published.map(messageText).join('; ')}`,
        );
      }
    });

    it('reports a typo with its exact range and a did-you-mean fix keyed off name.unknown', async () => {
      const uri = 'file:///typo.eligo';
      const text = LIF.replace('- theta * z', '- thetta * z');
      await client.open(uri, text);
      const diags = await client.settledDiagnostics(uri);
      const expected = compile(text).diagnostics;
      assert.equal(diags.length, expected.length);
      const d = diags.find((x) => x.code === 'name.unknown')!;
      assert.deepEqual(d.range, { start: pos(text, 'thetta'), end: pos(text, 'thetta', 0, 6) });
      assert.equal(d.message, "unknown name 'thetta' — did you mean 'theta'?");
      assert.equal(d.source, 'eligo');
      assert.deepEqual(d.data, { suggestion: 'theta' });
      const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: d.range, context: { diagnostics: [d] } });
      assert.equal(actions.length, 1);
      assert.equal(actions[0]!.title, "Change 'thetta' to 'theta'");
      const fixed = applyEdits(text, actions[0]!.edit!.changes![uri]!);
      assert.equal(fixed, LIF);
      const v = await client.replace(uri, fixed);
      assert.deepEqual((await client.diagnostics(uri, v)).diagnostics, []);
      await client.close(uri);
    });

    it('points a duplicate declaration at the first one (related information)', async () => {
      const uri = 'file:///dup.eligo';
      const text = LIF.replace('  state  z: [n] = 0\n', '  state  z: [n] = 0\n  state  u: [n] = 0\n');
      await client.open(uri, text);
      const d = (await client.diagnostics(uri)).diagnostics.find((x) => x.code === 'name.duplicate')!;
      assert.deepEqual(d.range.start, pos(text, 'u: [n]', 1));
      assert.equal(d.relatedInformation?.length, 1);
      assert.deepEqual(d.relatedInformation[0]!.location, { uri, range: { start: pos(text, 'u: [n]'), end: pos(text, 'u: [n]', 0, 1) } });
      await client.close(uri);
    });

    it("adds the missing surrogate with the code action of 'spike.no-surrogate'", async () => {
      const uri = 'file:///nosurrogate.eligo';
      const text = LIF.replace('  surrogate spike = fast_sigmoid(slope = 10)\n', '');
      await client.open(uri, text);
      const d = (await client.diagnostics(uri)).diagnostics.find((x) => x.code === 'spike.no-surrogate')!;
      assert.deepEqual(d.range, { start: pos(text, 'spike('), end: pos(text, 'spike(', 0, 5) });
      const [action] = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: d.range, context: { diagnostics: [d] } });
      assert.equal(action!.title, "Add 'surrogate spike = fast_sigmoid(slope = 10)' to model 'lif'");
      const fixed = applyEdits(text, action!.edit!.changes![uri]!);
      assert.ok(fixed.includes('  state  z: [n] = 0\n  surrogate spike = fast_sigmoid(slope = 10)\n'), fixed);
      assert.deepEqual(compile(fixed).diagnostics, []);
      await client.close(uri);
    });

    it('warns where a value is NaN at the evaluation point, at the operation that produced it', async () => {
      const uri = 'file:///nan.eligo';
      const text = '# @eval {"x": -2}\nfunction f(x) {\n  let s = x * 3\n  let y = log(s) + 1\n  return y\n}\n';
      await client.open(uri, text);
      const diags = await client.settledDiagnostics(uri);
      assert.equal(diags.length, 1);
      const d = diags[0]!;
      assert.equal(d.code, 'eval.nan');
      assert.equal(d.severity, 2);
      assert.deepEqual(d.range, { start: pos(text, 'log(s)'), end: pos(text, 'log(s)', 0, 6) });
      assert.equal(d.message, 'log(s) is NaN at the evaluation point: log of -6');
      await client.close(uri);
    });

    it("reports a rule whose memory at the model's size would be absurd (RTRL at n = 1,024), as the rules engine counts it", async () => {
      const uri = 'file:///rtrl.eligo';
      const text = `${LIF.replace('n = 64', 'n = 1024')}\nrule rtrl for lif {\n  schedule forward\n}\n`;
      await client.open(uri, text);
      const diags = await client.settledDiagnostics(uri);
      const expected = analyseRules(compile(text), { steps: 10 }).flatMap((r) => r.diagnostics);
      assert.equal(expected.length, 1);
      const lines = new LineIndex(text);
      assert.deepEqual(
        diags.map((d) => [d.code, d.message, d.range]),
        expected.map((d) => [d.code, d.message, lines.rangeToLsp(d.range)]),
      );
      assert.match(messageText(diags[0]!), /^rule 'rtrl' would need about [\d.]+ GiB \(for T = 10\), more than the 1\.00 GiB available$/);
      await client.close(uri);
    });

    it('reports a rule that a chip of the configured hardware profile cannot run (eligo.hardwareProfile = loihi2)', async () => {
      const uri = 'file:///loihi.eligo';
      await client.open(uri, LIF);
      client.settings = { hardwareProfile: 'loihi2' };
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
      let diags: Diagnostic[] = [];
      for (let i = 0; i < 100 && !diags.some((d) => d.code === 'rule.not-online'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        diags = await client.settledDiagnostics(uri);
      }
      client.settings = {};
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
      const expected = analyseRules(compile(LIF), { steps: 10, hardwareProfile: 'loihi2' }).flatMap((r) => r.diagnostics);
      const lines = new LineIndex(LIF);
      const notOnline = expected.filter((d) => d.code === 'rule.not-online');
      assert.equal(notOnline.length, 1);
      assert.deepEqual(
        diags.filter((d) => d.code === 'rule.not-online').map((d) => [d.message, d.range]),
        notOnline.map((d) => [d.message, lines.rangeToLsp(d.range)]),
      );
      assert.deepEqual(notOnline[0]!.range, { start: LIF.indexOf('schedule reverse'), end: LIF.indexOf('schedule reverse') + 'schedule reverse'.length });
      for (let i = 0; i < 100 && diags.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        diags = await client.settledDiagnostics(uri);
      }
      assert.deepEqual(diags, []);
      await client.close(uri);
    });

    it('warns when the surrogate lets no gradient through at the evaluation point', async () => {
      const uri = 'file:///vanish.eligo';
      const text = LIF.replace('fast_sigmoid(slope = 10)', 'triangle(width = 1)').replace('spike(u[t+1] - theta)', 'spike(u[t+1] - 50 * theta)');
      await client.open(uri, text);
      const diags = await client.settledDiagnostics(uri);
      const d = diags.find((x) => x.code === 'spike.vanishing');
      assert.ok(d, JSON.stringify(diags));
      assert.deepEqual(d.range, { start: pos(text, 'spike(u'), end: pos(text, '50 * theta)', 0, 11) });
      assert.match(messageText(d), /^the surrogate 'spike' = triangle\(width = 1\) makes gradients vanish at the evaluation point/);
      // The same model with the threshold in reach keeps its gradient.
      const v = await client.replace(uri, LIF.replace('fast_sigmoid(slope = 10)', 'triangle(width = 1)'));
      await client.diagnostics(uri, v);
      assert.deepEqual(
        (await client.settledDiagnostics(uri)).map((x) => x.code),
        [],
      );
      await client.close(uri);
    });
  });

  describe('code lenses', () => {
    it('show the costs of `eligo analyze --json` above every function, model, rule and grad item of every example', async () => {
      for (const f of exampleFiles) {
        const uri = uriOf(f);
        const text = readFileSync(join(EXAMPLES, f), 'utf8');
        const json = cli(['analyze', join(EXAMPLES, f), '--json']) as { items: CliItem[] };
        const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
        const c = compile(text);
        const lines = new LineIndex(text);
        let expectedCount = 0;
        for (const item of c.items) {
          const at = lines.positionAt(item.range.start);
          const here = lenses.filter((l) => l.range.start.line === at.line);
          const titles = here.map((l) => l.command!.title);
          if (item.kind === 'rule') {
            assert.equal(here.length, 2, `${f}:${item.name}`);
            assert.equal(titles[1], 'Train');
            expectedCount += 2;
            continue;
          }
          const k = json.items.find((i) => i.name === item.name)!;
          const cheapest = (['forward', 'reverse', 'markowitz'] as const).reduce(
            (a, b) => (k.costs[b].multiplications < k.costs[a].multiplications ? b : a),
            'forward' as 'forward' | 'reverse' | 'markowitz',
          );
          const title = `fwd ${fmtCount(k.costs.forward.multiplications)} · rev ${fmtCount(k.costs.reverse.multiplications)} · Markowitz ${fmtCount(k.costs.markowitz.multiplications)} mults · peak ${fmtBytes(k.costs[cheapest].peakMemoryBytes)}`;
          assert.equal(titles[0], title, `${f}:${item.name}`);
          const tooltip = here[0]!.command!.tooltip!;
          for (const o of ['forward', 'reverse', 'markowitz'] as const) {
            assert.ok(
              tooltip.includes(
                `${o}: ${fmtNumber(k.costs[o].multiplications)} multiplications, ${fmtNumber(k.costs[o].additions)} additions, fill-in ${fmtNumber(k.costs[o].fillIn)}`,
              ),
              tooltip,
            );
          }
          const actions = item.kind === 'model' ? ['Show graph', 'Find learning rule', 'Train'] : ['Show graph'];
          assert.deepEqual(titles.slice(1), actions);
          for (const l of here.slice(1)) assert.deepEqual(l.command!.arguments, [{ uri, item: item.name }]);
          assert.deepEqual(
            here.slice(1).map((l) => l.command!.command),
            actions.map((a) => ({ 'Show graph': 'eligo.showGraph', 'Find learning rule': 'eligo.findLearningRule', Train: 'eligo.train' })[a]),
          );
          expectedCount += 1 + actions.length;
        }
        assert.equal(lenses.length, expectedCount, f);
      }
    });

    it("show a rule's schedule, approximations, cost per step and memory as `eligo rules --json` counts them", async () => {
      const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: uriOf('lif.eligo') } });
      const json = cli(['rules', join(EXAMPLES, 'lif.eligo'), '--model', 'lif', '--steps', '10', '--samples', '1', '--json']) as {
        rules: { name: string; online: boolean; multiplicationsPerStep: number; memoryBytes: number }[];
      };
      for (const [rule, head] of [
        ['eprop', 'schedule online · 2 approximations'],
        ['bptt', 'schedule reverse · 0 approximations'],
      ] as const) {
        const r = json.rules.find((x) => x.name === rule)!;
        const lens = lenses.find((l) => l.range.start.line === pos(LIF, `rule ${rule}`).line)!;
        assert.equal(
          lens.command!.title,
          `${head} · ${fmtCount(r.multiplicationsPerStep)} mults/step · ${r.online ? 'traces' : 'memory'} ${fmtBytes(r.memoryBytes)}`,
        );
      }
    });
  });

  describe('hover', () => {
    const uri = uriOf('lif.eligo');
    const hover = (p: { line: number; character: number }): Promise<Hover | null> =>
      client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: p });
    const text = (h: Hover | null): string => (h?.contents as { value: string }).value;

    it('on a state: its declaration, role, shape and value range at the evaluation point of graph/point.ts', async () => {
      const h = await hover(pos(LIF, 'alpha * u', 0, 8));
      const c = compile(LIF);
      const item = c.items.find((i) => i.name === 'lif')!;
      const graph = graphOf(c, item);
      const point = evaluationPoint(c, item, graph, 10);
      const values = evaluate(graph, point.leaves);
      const u = Array.from(values[graph.vertices.find((v) => v.name === 'u')!.id]!.data);
      const [min, max] = [Math.min(...u), Math.max(...u)];
      const md = text(h);
      assert.ok(md.startsWith('```eligo\nstate u: [n] = 0\n```'), md);
      assert.ok(md.includes('state: carried from step to step · **shape** [64]'), md);
      assert.ok(md.includes(`**at the evaluation point** — ${point.description}: min ${fmtNumber(min)} ·`), md);
      assert.ok(md.includes(`max ${fmtNumber(max)} (64 values)`), md);
      assert.deepEqual(h!.range, { start: pos(LIF, 'alpha * u', 0, 8), end: pos(LIF, 'alpha * u', 0, 9) });
    });

    it('on an equation: the partial Jacobian of each operand with its sparsity', async () => {
      const md = text(await hover(pos(LIF, 'W_rec @ z', 0, 6)));
      assert.ok(md.includes(`- ∂u[t+1]/∂u = ${fmtNumber(Math.exp(-1 / 20))}·I  _(diagonal, 64)_`), md);
      assert.ok(md.includes('- ∂u[t+1]/∂z  _(dense, 64 × 64)_'), md);
      assert.ok(md.includes('- ∂u[t+1]/∂W_rec  _(Kronecker'), md);
      assert.equal((md.match(/^- ∂u\[t\+1\]\//gm) ?? []).length, 5, md);
    });

    it('on a builtin and a surrogate: signature and doc from the builtins table', async () => {
      const mse = text(await hover(pos(LIF, 'mse(', 0, 1)));
      assert.equal(mse, `\`\`\`eligo\n${BUILTINS.get('mse')!.signature}\n\`\`\`\n\n${BUILTINS.get('mse')!.doc}`);
      const fs = text(await hover(pos(LIF, 'fast_sigmoid', 0, 2)));
      assert.ok(fs.includes(SURROGATE_KINDS.get('fast_sigmoid')!.doc), fs);
    });

    it("on a rule: the engine's cost and the derived update program of `eligo rules --program`", async () => {
      const md = text(await hover(pos(LIF, 'rule eprop', 0, 6)));
      assert.ok(md.startsWith('```eligo\nrule eprop\n```'), md);
      const out = execFileSync(
        process.execPath,
        [join(ROOT, 'dist', 'cli.js'), 'rules', join(EXAMPLES, 'lif.eligo'), '--model', 'lif', '--steps', '10', '--samples', '1', '--program'],
        { encoding: 'utf8' },
      );
      const program = out
        .slice(out.indexOf('rule eprop — online update program'))
        .split('\n')
        .slice(1)
        .filter((l) => l.startsWith('  '))
        .map((l) => l.slice(2));
      assert.ok(program.length > 5, out);
      assert.ok(md.includes(`**Update program** (every step):\n\n\`\`\`eligo\n${program.join('\n')}\n\`\`\``), md);
    });

    it('on a dim: its value', async () => {
      assert.ok(text(await hover(pos(LIF, 'n_in]', 0, 1))).startsWith('```eligo\ndim n_in = 20\n```'));
    });
  });

  it('gives inlay hints with the shape of every let and equation left-hand side', async () => {
    for (const f of exampleFiles) {
      const t = readFileSync(join(EXAMPLES, f), 'utf8');
      const hints = await client.request<InlayHint[]>('textDocument/inlayHint', {
        textDocument: { uri: uriOf(f) },
        range: { start: { line: 0, character: 0 }, end: { line: 10000, character: 0 } },
      });
      const c = compile(t);
      let expected = 0;
      for (const item of c.checked.program.items) {
        const body = item.kind === 'function' || item.kind === 'model' ? item.body : [];
        for (const s of body) if (s.kind === 'let' || s.kind === 'update' || s.kind === 'ode' || s.kind === 'loss') expected++;
      }
      assert.equal(hints.length, expected, f);
    }
    const hints = await client.request<InlayHint[]>('textDocument/inlayHint', {
      textDocument: { uri: uriOf('lif.eligo') },
      range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
    });
    assert.deepEqual(
      hints.map((h) => [h.position, h.label]),
      [
        [pos(LIF, 'u[t+1] =', 0, 6), ': [64]'],
        [pos(LIF, 'z[t+1] =', 0, 6), ': [64]'],
        [pos(LIF, 'loss =', 0, 4), `: ${fmtShape([])}`],
      ],
    );
  });

  it('lists document symbols: items with their declarations and equations', async () => {
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: uriOf('lif.eligo') } });
    assert.deepEqual(
      symbols.map((s) => s.name),
      compile(LIF).items.map((i) => i.name),
    );
    const lif = symbols[0]!;
    assert.deepEqual(
      lif.children!.map((s) => s.name),
      ['n_in', 'n', 'n_out', 'alpha', 'theta', 'x', 'y', 'W_in', 'W_rec', 'W_out', 'u', 'z', 'surrogate spike', 'u[t+1]', 'z[t+1]', 'loss'],
    );
    assert.equal(lif.children!.find((s) => s.name === 'W_rec')!.detail, 'param [64, 64]');
    assert.deepEqual(lif.selectionRange, { start: pos(LIF, 'lif {'), end: pos(LIF, 'lif {', 0, 3) });
  });

  describe('completion and signature help', () => {
    const uri = uriOf('lif.eligo');
    const complete = (p: { line: number; character: number }): Promise<CompletionItem[]> =>
      client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: p });

    it('offers names in scope with role and shape, and builtins with signature and doc, inside an equation', async () => {
      const items = await complete(pos(LIF, 'W_rec @ z', 0, 2));
      const w = items.find((i) => i.label === 'W_rec')!;
      assert.equal(w.detail, 'param [64, 64]');
      assert.equal(items.find((i) => i.label === 'alpha')!.detail, `const = ${fmtNumber(Math.exp(-1 / 20))}`);
      const exp = items.find((i) => i.label === 'exp')!;
      assert.equal(exp.detail, 'exp(x)');
      assert.ok((exp.documentation as { value: string }).value.includes(BUILTINS.get('exp')!.doc));
      assert.equal(items.filter((i) => i.kind === 3).length, BUILTINS.size - 1, 'every builtin but grad');
    });

    it('offers statement keywords at the start of a model line, initialisers after ~ and surrogates after surrogate spike =', async () => {
      const kw = (await complete({ line: pos(LIF, 'state  u').line, character: 2 })).filter((i) => i.kind === 14).map((i) => i.label);
      assert.deepEqual(kw, ['dim', 'const', 'input', 'target', 'param', 'state', 'surrogate', 'let', 'loss']);
      assert.deepEqual(
        (await complete(pos(LIF, '~ normal', 0, 2))).map((i) => i.label),
        ['normal', 'uniform', 'zeros', 'glorot'],
      );
      assert.deepEqual(
        (await complete(pos(LIF, 'fast_sigmoid'))).map((i) => i.label),
        [...SURROGATE_KINDS.keys()],
      );
    });

    it('shows the signature and the active argument while a call is typed', async () => {
      const uri2 = 'file:///sig.eligo';
      const text = LIF.replace('loss = mse(W_out @ z[t+1], y[t+1])', 'loss = mse(W_out @ z[t+1], ');
      await client.open(uri2, text);
      const h = await client.request<SignatureHelp>('textDocument/signatureHelp', { textDocument: { uri: uri2 }, position: pos(text, 'z[t+1], ', 0, 8) });
      assert.equal(h.signatures[h.activeSignature!]!.label, 'mse(a, b)');
      assert.equal(h.activeParameter, 1);
      await client.close(uri2);
      const s = await client.request<SignatureHelp>('textDocument/signatureHelp', { textDocument: { uri }, position: pos(LIF, 'slope = 10', 0, 8) });
      assert.equal(s.signatures[0]!.label, 'fast_sigmoid(slope = 10, scale = 1)');
      assert.equal(s.activeParameter, 0);
    });
  });

  describe('definition, references, rename', () => {
    const uri = uriOf('lif.eligo');

    it('goes to the declaration of a name from its use', async () => {
      const def = await client.request<Location>('textDocument/definition', { textDocument: { uri }, position: pos(LIF, '- theta * z', 0, 3) });
      assert.deepEqual(def, { uri, range: { start: pos(LIF, 'theta = 1.0'), end: pos(LIF, 'theta = 1.0', 0, 5) } });
    });

    it('finds every reference of a state, in its model and in the rules', async () => {
      const refs = await client.request<Location[]>('textDocument/references', {
        textDocument: { uri },
        position: pos(LIF, 'alpha * u', 0, 8),
        context: { includeDeclaration: true },
      });
      // u: its declaration, u[t+1] =, alpha * u, spike(u[t+1] …), and d(u[t+1]) twice and d(u) in the rules.
      assert.equal(refs.length, 7);
      assert.deepEqual(refs[0]!.range.start, pos(LIF, 'u: [n]'));
      const noDecl = await client.request<Location[]>('textDocument/references', {
        textDocument: { uri },
        position: pos(LIF, 'alpha * u', 0, 8),
        context: { includeDeclaration: false },
      });
      assert.equal(noDecl.length, 6);
    });

    it('renames a state everywhere and the result still checks with the same costs', async () => {
      const edit = await client.request<WorkspaceEdit>('textDocument/rename', {
        textDocument: { uri },
        position: pos(LIF, 'alpha * u', 0, 8),
        newName: 'v_mem',
      });
      const edits = edit.changes![uri]!;
      assert.equal(edits.length, 7);
      const renamed = applyEdits(LIF, edits);
      assert.deepEqual(compile(renamed).diagnostics, []);
      assert.ok(renamed.includes('approximate d(v_mem[t+1])/d(v_mem) = diagonal'));
      const dir = mkdtempSync(join(tmpdir(), 'eligo-lsp-'));
      writeFileSync(join(dir, 'a.eligo'), renamed);
      const a = cli(['analyze', join(dir, 'a.eligo'), '--json']) as { items: CliItem[] };
      const b = cli(['analyze', join(EXAMPLES, 'lif.eligo'), '--json']) as { items: CliItem[] };
      assert.deepEqual(
        a.items.map((i) => i.costs),
        b.items.map((i) => i.costs),
      );
    });

    it('renames a model in the rules written for it', async () => {
      const edit = await client.request<WorkspaceEdit>('textDocument/rename', { textDocument: { uri }, position: pos(LIF, 'lif {', 0, 1), newName: 'leaky' });
      const renamed = applyEdits(LIF, edit.changes![uri]!);
      assert.ok(renamed.includes('model leaky {') && renamed.includes('rule eprop for leaky {') && renamed.includes('rule bptt for leaky {'));
    });

    it('refuses a new name that is a keyword, a builtin or already taken', async () => {
      for (const [newName, why] of [
        ['state', 'is a keyword'],
        ['exp', 'is a builtin'],
        ['z', "already declared in 'lif'"],
        ['2x', 'is not a name'],
      ] as const) {
        await assert.rejects(client.request('textDocument/rename', { textDocument: { uri }, position: pos(LIF, 'alpha * u', 0, 8), newName }), (e: Error) =>
          e.message.includes(why),
        );
      }
      const prep = await client.request<{ range: unknown; placeholder: string }>('textDocument/prepareRename', {
        textDocument: { uri },
        position: pos(LIF, 'alpha * u', 0, 8),
      });
      assert.equal(prep.placeholder, 'u');
      assert.equal(await client.request('textDocument/prepareRename', { textDocument: { uri }, position: pos(LIF, 'mse(', 0, 1) }), null);
    });
  });

  it('colours names by what the checker resolved them to (semantic tokens)', async () => {
    const tokens = await client.request<SemanticTokens>('textDocument/semanticTokens/full', { textDocument: { uri: uriOf('lif.eligo') } });
    // Decode the relative encoding.
    const decoded: { line: number; character: number; length: number; type: string; mods: string[] }[] = [];
    let line = 0;
    let character = 0;
    for (let i = 0; i < tokens.data.length; i += 5) {
      const [dl, dc, length, type, mods] = tokens.data.slice(i, i + 5) as [number, number, number, number, number];
      line += dl;
      character = dl === 0 ? character + dc : dc;
      decoded.push({ line, character, length, type: LEGEND.tokenTypes[type]!, mods: LEGEND.tokenModifiers.filter((_, k) => mods & (1 << k)) });
    }
    const at = (p: { line: number; character: number }): (typeof decoded)[number] | undefined =>
      decoded.find((t) => t.line === p.line && t.character === p.character);
    assert.deepEqual(at(pos(LIF, 'W_rec:')), { ...pos(LIF, 'W_rec:'), length: 5, type: 'property', mods: ['declaration'] });
    assert.equal(at(pos(LIF, 'W_rec @'))!.type, 'property');
    // spike(…) calls the model's `surrogate spike = …`: a function of the file, not the library.
    assert.deepEqual(at(pos(LIF, 'spike(u'))!, { ...pos(LIF, 'spike(u'), length: 5, type: 'function', mods: [] });
    assert.deepEqual(at(pos(LIF, 'fast_sigmoid'))!.mods, ['defaultLibrary']);
    assert.equal(at(pos(LIF, 'state  u'))!.type, 'keyword');
    assert.deepEqual(at(pos(LIF, 'n_in ='))!, { ...pos(LIF, 'n_in ='), length: 4, type: 'enumMember', mods: ['declaration', 'readonly'] });
    assert.equal(at(pos(LIF, 'x[t+1]'))!.type, 'parameter');
    assert.equal(decoded.filter((t) => t.type === 'comment').length, LIF.split('\n').filter((l) => l.includes('#')).length);
  });

  describe('formatting', () => {
    it('lays out a messy file canonically, and the canonical layout is a fixed point', async () => {
      const uri = 'file:///messy.eligo';
      // Spacing and indentation scrambled in the code, comments left as they are.
      const messy = LIF.split('\n')
        .map((line) => {
          const k = line.indexOf('#');
          const [code, comment] = k < 0 ? [line, ''] : [line.slice(0, k), line.slice(k)];
          return code.replace(/ = /g, '=').replace(/, /g, ',').replace(/^ {2}/, '\t').replace('u[t+1] =', 'u[ t + 1 ]   =') + comment;
        })
        .join('\n')
        .replace('\n\n', '\n\n\n\n');
      await client.open(uri, messy);
      const edits = await client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
      assert.equal(edits.length, 1);
      const formatted = applyEdits(messy, edits);
      assert.equal(formatted, formatText(LIF));
      assert.deepEqual(compile(formatted).diagnostics, []);
      const v = await client.replace(uri, formatted);
      await client.diagnostics(uri, v);
      assert.deepEqual(await client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } }), []);
      await client.close(uri);
    });

    it('keeps the house style of the specification: aligned declarations and trailing comments', () => {
      const f = formatText(LIF);
      assert.ok(f.includes('  param  W_in:  [n, n_in]  ~ normal(0, 0.1)\n  param  W_rec: [n, n]     ~ normal(0, 0.05)\n'), f);
      assert.ok(f.includes('  approximate d(u[t+1])/d(z) = 0         # drop recurrent credit through spikes\n'), f);
      for (const file of exampleFiles) {
        const t = readFileSync(join(EXAMPLES, file), 'utf8');
        assert.equal(formatText(formatText(t)), formatText(t), file);
      }
    });
  });

  it('answers eligo/graph with the graph of `eligo graph --json` and its layout', async () => {
    const r = await client.request<{
      graph: { vertices: { id: number; op: string; range: unknown }[] };
      layout?: { nodes: unknown[] };
      item: string;
      version: number;
    }>('eligo/graph', { uri: uriOf('lif.eligo'), item: 'lif' });
    const g = cli(['graph', join(EXAMPLES, 'lif.eligo'), '--item', 'lif', '--json']) as { vertices: { id: number; op: string; range: unknown }[] };
    assert.equal(r.item, 'lif');
    assert.deepEqual(
      r.graph.vertices.map((v) => [v.id, v.op, v.range]),
      g.vertices.map((v) => [v.id, v.op, v.range]),
    );
    assert.ok(r.layout && r.layout.nodes.length > 0);
    await assert.rejects(client.request('eligo/graph', { uri: uriOf('lif.eligo'), item: 'nope' }), /no function or model named 'nope'|no .*named 'nope'/);
  });

  describe('settings and incremental analysis', () => {
    it('reads eligo.analysis.steps through workspace/configuration and analyses again with it', async () => {
      const uri = uriOf('lif.eligo');
      client.settings = { analysis: { steps: 3 } };
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
      let md = '';
      for (let i = 0; i < 50 && !md.includes('after 3 steps'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        md = (
          (await client.request<Hover>('textDocument/hover', { textDocument: { uri }, position: pos(LIF, 'alpha * u', 0, 8) }))?.contents as { value: string }
        ).value;
      }
      assert.ok(md.includes('after 3 steps on random data (seed 0)'), md);
      client.settings = {};
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
      for (let i = 0; i < 50 && !md.includes('after 10 steps'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        md = (
          (await client.request<Hover>('textDocument/hover', { textDocument: { uri }, position: pos(LIF, 'alpha * u', 0, 8) }))?.contents as { value: string }
        ).value;
      }
      assert.ok(md.includes('after 10 steps'), md);
    });

    it('recomputes only the items an edit touched', async () => {
      const uri = 'file:///incremental.eligo';
      const text = `${LIF}\n${readFileSync(join(EXAMPLES, 'heart_dipole.eligo'), 'utf8')}`;
      await client.open(uri, text);
      const first = await client.request<{ computed: number; reused: number; version: number }>('eligo/analysisStats', { uri });
      assert.equal(first.computed, 4);
      // An edit inside heart_dipole: lif and its rules are reused, their ranges unchanged.
      const v = await client.replace(uri, text.replace('let f1 = x1 + x2 - sigma', 'let f1 = x1 + x2 - 2 * sigma'));
      const second = await client.request<{ computed: number; reused: number; version: number }>('eligo/analysisStats', { uri });
      assert.deepEqual([second.version, second.computed, second.reused], [v, 1, 3]);
      // An edit above everything moves every item: all reused, lenses on the moved lines.
      const v2 = await client.replace(uri, `# a new first line\n${text.replace('let f1 = x1 + x2 - sigma', 'let f1 = x1 + x2 - 2 * sigma')}`);
      const third = await client.request<{ computed: number; reused: number; version: number }>('eligo/analysisStats', { uri });
      assert.deepEqual([third.version, third.computed, third.reused], [v2, 0, 4]);
      const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
      assert.equal(lenses[0]!.range.start.line, pos(LIF, 'model lif').line + 1);
      await client.close(uri);
    });
  });

  it('stays up and answers every request when the document is closed, unknown or empty', async () => {
    const uri = 'file:///gone.eligo';
    assert.equal(await client.request('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 0 } }), null);
    assert.deepEqual(await client.request('textDocument/codeLens', { textDocument: { uri } }), []);
    await client.open(uri, '');
    assert.deepEqual((await client.diagnostics(uri)).diagnostics, [] as Diagnostic[]);
    assert.deepEqual(await client.request('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } }), []);
    await client.close(uri);
    assert.equal(client.exited, false);
  });
});
