// The bridges in the editor, through the real language server: the code
// actions on a rule item, and eligo/interop answering with the files an
// export or an import writes (the extension writes them, the server does not).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CodeAction } from 'vscode-languageserver-protocol';
import { LineIndex } from '../language-server/src/lang/source.js';
import { InteropRequest, type InteropResult } from '../language-server/src/protocol.js';
import { writeParamData } from '../language-server/src/interop/paramData.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');

describe('bridges in the language server (eligo/interop, code actions)', function () {
  this.timeout(120000);
  let client: LspClient;
  const dir = mkdtempSync(join(tmpdir(), 'eligo-interop-lsp-'));
  before(async () => {
    buildServer();
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  it('offers Export to Lava and Export to PyTorch on a rule item, with the rule and its model', async () => {
    const uri = 'file:///lif-actions.eligo';
    await client.open(uri, LIF);
    await client.settledDiagnostics(uri);
    const at = new LineIndex(LIF).positionAt(LIF.indexOf('rule eprop') + 6);
    const actions = await client.connection.sendRequest<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: at, end: at },
      context: { diagnostics: [] },
    });
    assert.deepEqual(
      actions.map((a) => a.title),
      ["Export rule 'eprop' to Lava (Loihi 2)…", "Export rule 'eprop' to PyTorch…"],
    );
    assert.equal(actions[0]!.kind, 'refactor.export');
    assert.deepEqual(actions[0]!.command!.arguments, [{ uri, format: 'lava', model: 'lif', rule: 'eprop' }]);
    const inModel = new LineIndex(LIF).positionAt(LIF.indexOf('u[t+1] ='));
    const none = await client.connection.sendRequest<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: inModel, end: inModel },
      context: { diagnostics: [] },
    });
    assert.deepEqual(none, []);
    await client.close(uri);
  });

  it('exports the open document to Lava, PyTorch and NIR as file contents, and imports the NIR back', async () => {
    const uri = 'file:///lif-export.eligo';
    await client.open(uri, LIF);
    const lava = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'lava',
      model: 'lif',
      rule: 'eprop',
      outName: 'lif_rule.py',
      trusted: false,
    });
    assert.ok(lava.ok, JSON.stringify(lava));
    assert.equal(lava.files[0]!.name, 'lif_rule.py');
    assert.match(Buffer.from(lava.files[0]!.base64, 'base64').toString('utf8'), /W_rec_rule = LoihiLearningRule\(dw="-10\*2\^-20 \* u0 \* x1 \* y2"/);
    const torch = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'torch',
      model: 'lif',
      rule: 'eprop',
      outName: 'lif.py',
      trusted: false,
    });
    assert.ok(torch.ok);
    assert.match(Buffer.from(torch.files[0]!.base64, 'base64').toString('utf8'), /def online_update\(params, data, steps, states=None\):/);
    const nir = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'nir',
      model: 'lif',
      outName: 'lif.nir',
      dt: 0.001,
      trusted: false,
    });
    assert.ok(nir.ok);
    assert.equal(nir.warnings.length, 1);
    assert.match(nir.warnings[0]!, /^line \d+:\d+: u\[t\+1\]: reset by subtraction/);
    const bytes = Buffer.from(nir.files[0]!.base64, 'base64');
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    const path = join(dir, 'lif.nir');
    writeFileSync(path, bytes);
    const imp = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'importNir',
      path,
      outName: 'lif_imported.eligo',
      dt: 0.001,
    });
    assert.ok(imp.ok, JSON.stringify(imp));
    assert.deepEqual(
      imp.files.map((f) => f.name),
      ['lif_imported.eligo', 'lif_imported.params.h5'],
    );
    assert.match(Buffer.from(imp.files[0]!.base64, 'base64').toString('utf8'), /^model lif_imported \{/m);
    assert.ok(
      imp.lines.some((l) => /^check: 100 steps .* largest difference 0\.000e\+0$|largest difference \d\.\d{3}e-1\d$/.test(l)),
      imp.lines.join('\n'),
    );
    const bad = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'lava',
      model: 'lif',
      rule: 'bptt',
      outName: 'x.py',
      trusted: false,
    });
    assert.ok(!bad.ok);
    assert.match(bad.problems[0]!, /^line \d+:\d+: rule 'bptt' does not fit Loihi 2/);
    await client.close(uri);
  });

  it("reads a model's data(…) files only for a trusted workspace", async () => {
    await writeParamData(join(dir, 'm.params.h5'), new Map([['W', { shape: [2, 2], data: [0.5, 0, 0, 0.5] }]]));
    const text =
      'model m {\n  input x: [2]\n  target y: [2]\n  param W: [2, 2] = data("m.params.h5")\n  state u: [2] = 0\n  u[t+1] = exp(-1 / 10) * u + W @ x[t+1]\n  loss = mse(u[t+1], y[t+1])\n}\n';
    const file = join(dir, 'm.eligo');
    writeFileSync(file, text);
    const uri = pathToFileURL(file).toString();
    await client.open(uri, text);
    const untrusted = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'nir',
      model: 'm',
      outName: 'm.nir',
      trusted: false,
    });
    assert.ok(!untrusted.ok);
    assert.match(untrusted.problems[0]!, /^line 4:\d+: data\("m.params.h5"\) is not read in an untrusted workspace/);
    // The server reads them once it is told the workspace is trusted (as the extension does when the user grants trust).
    await client.connection.sendNotification('eligo/didChangeTrust', { trusted: true });
    const trusted = await client.connection.sendRequest<InteropResult>(InteropRequest.method, {
      kind: 'export',
      uri,
      format: 'nir',
      model: 'm',
      outName: 'm.nir',
      trusted: true,
    });
    assert.ok(trusted.ok, JSON.stringify(trusted));
    assert.ok(
      trusted.lines.some((l) => /u \(LI\) ← u\[t\+1\]/.test(l)),
      trusted.lines.join('\n'),
    );
    await client.close(uri);
  });

  it("hovers show a data(…) param's values only when the client says the workspace is trusted", async () => {
    await writeParamData(join(dir, 'h.params.h5'), new Map([['W', { shape: [2, 2], data: [0.5, -1, 0, 2.5] }]]));
    const text =
      'model h {\n  input x: [2]\n  target y: [2]\n  param W: [2, 2] = data("h.params.h5")\n  state u: [2] = 0\n  u[t+1] = exp(-1 / 10) * u + W @ x[t+1]\n  loss = mse(u[t+1], y[t+1])\n}\n';
    const file = join(dir, 'h.eligo');
    writeFileSync(file, text);
    const uri = pathToFileURL(file).toString();
    const lines = new LineIndex(text);
    const hoverAt = async (c: LspClient, at: number): Promise<string> => {
      const h = await c.connection.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', {
        textDocument: { uri },
        position: lines.positionAt(at),
      });
      return h?.contents.value ?? '';
    };
    const untrusted = await LspClient.start();
    const trusted = await LspClient.start({ initializationOptions: { trusted: true } });
    try {
      for (const c of [untrusted, trusted]) await c.open(uri, text);
      const decl = text.indexOf('W: [2, 2]');
      const use = text.indexOf('W @ x');
      assert.match(await hoverAt(untrusted, decl), /\*\*initial values\*\* from `data\("h.params.h5", "W"\)`: not read, the workspace is not trusted/);
      // At the declaration and at a use: the values as the file holds them.
      for (const at of [decl, use])
        assert.match(
          await hoverAt(trusted, at),
          /\*\*initial values\*\* from `data\("h.params.h5", "W"\)`: min -1 · mean 0.5 · max 2.5 \(4 values\) — \[0.5, -1, 0, 2.5\]/,
        );
      // A changed file is read again; a wrong shape is the loader's message.
      await writeParamData(join(dir, 'h.params.h5'), new Map([['W', { shape: [3], data: [1, 2, 3] }]]));
      assert.match(await hoverAt(trusted, decl), /h.params.h5\/W has shape \[3\] but param 'W' has shape \[2, 2\]/);
      // Not a data param: no line.
      assert.doesNotMatch(await hoverAt(trusted, text.indexOf('u: [2]')), /initial values/);
    } finally {
      await untrusted.stop();
      await trusted.stop();
    }
  });
});
