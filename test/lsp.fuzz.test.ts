// 1,000 random edits of an example, sent as incremental changes to the real
// server with a random request after each: the server never crashes, every
// request gets its response, and the diagnostics of the final text are the
// checker's.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compile } from '../language-server/src/compile.js';
import { LineIndex } from '../language-server/src/lang/source.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');

/** Fragments an editing person types: tokens of the language, brackets, newlines, junk. */
const fragment = fc.oneof(
  fc.constantFrom('u', 'z', 'theta', 'W_rec', '@', '*', '+', '-', '(', ')', '[', ']', '{', '}', '[t+1]', '=', '~', ',', ':', '\n', '  ', '#', 'let ', 'state ', 'spike(', 'exp(', 'sum(', 'axis = ', '0', '1e9', '1.5', 'model m {', 'rule r for lif {', 'approximate d(u[t+1])/d(z) = ', '\t', ';'),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 3 }),
);

const edit = fc.record({
  at: fc.nat(),
  remove: fc.oneof(fc.constant(0), fc.nat({ max: 3 }), fc.nat({ max: 40 })),
  insert: fc.oneof(fc.constant(''), fragment),
  request: fc.nat({ max: 11 }),
  line: fc.nat({ max: 40 }),
  character: fc.nat({ max: 60 }),
  /** One edit in 50 pastes the example back, so most of the run edits a nearly valid model (analysis, Jacobians, lenses). */
  reset: fc.nat({ max: 49 }),
});

const REQUESTS = [
  'textDocument/hover', 'textDocument/completion', 'textDocument/codeLens', 'textDocument/semanticTokens/full', 'textDocument/inlayHint',
  'textDocument/documentSymbol', 'textDocument/formatting', 'textDocument/signatureHelp', 'textDocument/definition', 'textDocument/references',
  'textDocument/prepareRename', 'textDocument/codeAction',
] as const;

function paramsFor(method: (typeof REQUESTS)[number], uri: string, position: { line: number; character: number }): unknown {
  const textDocument = { uri };
  switch (method) {
    case 'textDocument/codeLens': case 'textDocument/semanticTokens/full': case 'textDocument/documentSymbol': return { textDocument };
    case 'textDocument/formatting': return { textDocument, options: { tabSize: 2, insertSpaces: true } };
    case 'textDocument/inlayHint': return { textDocument, range: { start: { line: 0, character: 0 }, end: position } };
    case 'textDocument/references': return { textDocument, position, context: { includeDeclaration: true } };
    case 'textDocument/codeAction': return { textDocument, range: { start: position, end: position }, context: { diagnostics: [] } };
    default: return { textDocument, position };
  }
}

describe('language server: 1,000 random edits (fast-check)', function () {
  this.timeout(120000);

  before(() => buildServer());

  it('never crashes, answers every request, and ends with the checker\'s diagnostics', async () => {
    const client = await LspClient.start();
    const uri = 'file:///fuzz/lif.eligo';
    let runs = 0;
    try {
      await fc.assert(fc.asyncProperty(fc.array(edit, { minLength: 1000, maxLength: 1000 }), async (edits) => {
        runs++;
        let text = LIF;
        await client.open(uri, text, 1);
        const pending: Promise<unknown>[] = [];
        let answered = 0;
        for (const e of edits) {
          const lines = new LineIndex(text);
          const start = e.reset === 0 ? 0 : e.at % (text.length + 1);
          const end = e.reset === 0 ? text.length : Math.min(text.length, start + e.remove);
          const insert = e.reset === 0 ? LIF : e.insert;
          const range = { start: lines.positionAt(start), end: lines.positionAt(end) };
          text = text.slice(0, start) + insert + text.slice(end);
          await client.edit(uri, range, insert);
          const method = REQUESTS[e.request]!;
          pending.push(client.request(method, paramsFor(method, uri, { line: e.line, character: e.character })).then(
            () => { answered++; },
            (err: Error) => {
              // Rename-style refusals are answers too; a crash or a lost request is not.
              answered++;
              if (!/cannot rename/.test(err.message)) throw new Error(`${method} failed: ${err.message}`);
            },
          ));
        }
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${answered} of ${pending.length} requests answered`)), 60000); });
        try {
          await Promise.race([Promise.all(pending), timeout]);
        } finally {
          clearTimeout(timer);
        }
        assert.equal(answered, edits.length);
        assert.equal(client.exited, false, client.stderr);
        // The server's view of the text is the client's: its diagnostics are the checker's for the final text.
        const final = await client.diagnostics(uri, client.version(uri), 20000);
        const expected = compile(text).diagnostics;
        const fromCheck = final.diagnostics.filter((d) => !['eval.nan', 'spike.vanishing', 'memory.profile'].includes(String(d.code)));
        const lines = new LineIndex(text);
        assert.deepEqual(fromCheck.map((d) => [d.code, d.range]), expected.map((d) => [d.code, lines.rangeToLsp(d.range)]));
        await client.close(uri);
      }), { numRuns: 1 });
    } finally {
      const errors = client.logs.filter((l) => l.startsWith('eligo:'));
      await client.stop();
      assert.equal(runs, 1);
      assert.deepEqual(errors, [], errors.join('\n'));
    }
  });
});
