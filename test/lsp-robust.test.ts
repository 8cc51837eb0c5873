// The server cannot be knocked over by a valid file either (issue 12, item 5):
// expression-size limits give a diagnostic instead of memory growth, and a
// burst of edits does not queue a burst of stale work — requests made for a
// version a newer edit replaced are answered ContentModified at once.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedFunctions } from '../bench/server.js';
import { MAX_CALL_ARGUMENTS } from '../language-server/src/lang/limits.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';

describe('language server: limits and stale requests', function () {
  this.timeout(120000);
  let client: LspClient;

  before(async () => {
    buildServer();
    client = await LspClient.start();
  });

  after(async () => {
    await client?.stop();
  });

  it('a call with 100,000 arguments is a diagnostic at the call, and the rest of the file is analysed', async () => {
    const uri = 'file:///robust/huge-call.eligo';
    const huge = `function f(a) {\n  return sum(stack(${Array.from({ length: 100_000 }, () => 'a').join(', ')}))\n}\n`;
    const text = `${huge}\n${readFileSync(join(ROOT, 'examples', 'roeflux_1d.eligo'), 'utf8')}`;
    await client.open(uri, text);
    const d = await client.settledDiagnostics(uri);
    assert.deepEqual(
      d.map((x) => x.code),
      ['limit.arguments'],
    );
    assert.equal(
      d[0]!.message,
      `this call has 100,000 arguments, more than the ${MAX_CALL_ARGUMENTS.toLocaleString('en-US')} Eligo accepts; use a tensor argument (x: [n]) instead of listing elements`,
    );
    assert.deepEqual(d[0]!.range.start, { line: 1, character: 13 });
    const lenses = await client.request<{ command?: { title: string } }[]>('textDocument/codeLens', { textDocument: { uri } });
    // The other item still has its costs.
    assert.ok(
      lenses.some((l) => /mults/.test(l.command?.title ?? '')),
      JSON.stringify(lenses.map((l) => l.command?.title)),
    );
    await client.close(uri);
  });

  it('a burst of edits: hovers for replaced versions are answered ContentModified, the last one with its content', async () => {
    const uri = 'file:///robust/burst.eligo';
    const base = generatedFunctions(1000, 2);
    await client.open(uri, base);
    await client.settledDiagnostics(uri);
    const answers: Promise<'stale' | 'answered'>[] = [];
    for (let i = 1; i <= 20; i++) {
      await client.replace(uri, base.replace('function f0(', `function f0${'x'.repeat(i)}(`));
      answers.push(
        client.request('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 8 } }).then(
          () => 'answered' as const,
          (e: Error & { code?: number }) => {
            assert.equal(e.code, -32801, e.message);
            return 'stale' as const;
          },
        ),
      );
    }
    const got = await Promise.all(answers);
    assert.equal(got[got.length - 1], 'answered');
    assert.ok(got.filter((g) => g === 'stale').length >= 1, got.join(' '));
    await client.close(uri);
  });
});
