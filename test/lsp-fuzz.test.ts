// The server cannot be knocked over (issue 12, item 5), fuzzed three ways
// through the real process: 1,000 random edits of an example with a random
// request after each; malformed files (random bytes, deep nesting, huge
// calls); malformed messages as raw frames. Every request gets an answer, the
// server never exits, and the test prints its counts: tried, answered, crashed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compile } from '../language-server/src/compile.js';
import { LineIndex } from '../language-server/src/lang/source.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';
import { RawServer } from './helpers/rawServer.js';

/** Counts of every fuzz run, printed at the end (CI shows them). */
const counts = { tried: 0, answered: 0, crashed: 0 };

after(() => console.log(`      fuzz: tried ${counts.tried}, answered ${counts.answered}, crashed ${counts.crashed}`));

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');

/** Fragments an editing person types: tokens of the language, brackets, newlines, junk. */
const fragment = fc.oneof(
  fc.constantFrom(
    'u',
    'z',
    'theta',
    'W_rec',
    '@',
    '*',
    '+',
    '-',
    '(',
    ')',
    '[',
    ']',
    '{',
    '}',
    '[t+1]',
    '=',
    '~',
    ',',
    ':',
    '\n',
    '  ',
    '#',
    'let ',
    'state ',
    'spike(',
    'exp(',
    'sum(',
    'axis = ',
    '0',
    '1e9',
    '1.5',
    'model m {',
    'rule r for lif {',
    'approximate d(u[t+1])/d(z) = ',
    '\t',
    ';',
  ),
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
  'textDocument/hover',
  'textDocument/completion',
  'textDocument/codeLens',
  'textDocument/semanticTokens/full',
  'textDocument/inlayHint',
  'textDocument/documentSymbol',
  'textDocument/formatting',
  'textDocument/signatureHelp',
  'textDocument/definition',
  'textDocument/references',
  'textDocument/prepareRename',
  'textDocument/codeAction',
] as const;

function paramsFor(method: (typeof REQUESTS)[number], uri: string, position: { line: number; character: number }): unknown {
  const textDocument = { uri };
  switch (method) {
    case 'textDocument/codeLens':
    case 'textDocument/semanticTokens/full':
    case 'textDocument/documentSymbol':
      return { textDocument };
    case 'textDocument/formatting':
      return { textDocument, options: { tabSize: 2, insertSpaces: true } };
    case 'textDocument/inlayHint':
      return { textDocument, range: { start: { line: 0, character: 0 }, end: position } };
    case 'textDocument/references':
      return { textDocument, position, context: { includeDeclaration: true } };
    case 'textDocument/codeAction':
      return { textDocument, range: { start: position, end: position }, context: { diagnostics: [] } };
    default:
      return { textDocument, position };
  }
}

describe('language server: 1,000 random edits (fast-check)', function () {
  this.timeout(120000);

  before(() => buildServer());

  it("never crashes, answers every request, and ends with the checker's diagnostics", async () => {
    const client = await LspClient.start();
    const uri = 'file:///fuzz/lif.eligo';
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(edit, { minLength: 1000, maxLength: 1000 }), async (edits) => {
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
            counts.tried++;
            pending.push(
              client.request(method, paramsFor(method, uri, { line: e.line, character: e.character })).then(
                () => {
                  answered++;
                  counts.answered++;
                },
                (err: Error & { code?: number }) => {
                  // Refusals are answers too (rename's; ContentModified for a request a newer edit made stale); a crash or a lost request is not.
                  answered++;
                  counts.answered++;
                  if (!/cannot rename/.test(err.message) && err.code !== -32801) throw new Error(`${method} failed: ${err.message}`);
                },
              ),
            );
          }
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`only ${answered} of ${pending.length} requests answered`)), 60000);
          });
          try {
            await Promise.race([Promise.all(pending), timeout]);
          } finally {
            clearTimeout(timer);
          }
          assert.equal(answered, edits.length);
          if (client.exited) counts.crashed++;
          assert.equal(client.exited, false, client.stderr);
          // The server's view of the text is the client's: its diagnostics are the checker's for the final text.
          const final = await client.diagnostics(uri, client.version(uri), 20000);
          const expected = compile(text).diagnostics;
          const fromCheck = final.diagnostics.filter((d) => !['eval.nan', 'spike.vanishing', 'memory.profile'].includes(String(d.code)));
          const lines = new LineIndex(text);
          assert.deepEqual(
            fromCheck.map((d) => [d.code, d.range]),
            expected.map((d) => [d.code, lines.rangeToLsp(d.range)]),
          );
          await client.close(uri);
        }),
        { numRuns: 1 },
      );
    } finally {
      const errors = client.logs.filter((l) => l.startsWith('eligo:'));
      await client.stop();
      assert.equal(runs, 1);
      assert.deepEqual(errors, [], errors.join('\n'));
    }
  });
});

/** Files no editor should choke on: random bytes, junk, deep nesting, huge calls, a model of huge shape. */
const malformedFile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.string({ maxLength: 2000 }),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.nat({ max: 20000 }).map((n) => `function f(a) {\n  return ${'('.repeat(n)}a${')'.repeat(n)}\n}\n`),
  fc.nat({ max: 50000 }).map((n) => `function f(a) {\n  return sum(stack(${Array.from({ length: n + 1 }, () => 'a').join(', ')}))\n}\n`),
  fc.nat({ max: 3000 }).map((n) => `${Array.from({ length: n }, (_, i) => `function f${i}(a) {\n  return a *`).join('\n')}\n`),
  fc.constantFrom(
    'model m {\n  dim n = 1000000000\n  state u: [n] = 0\n  u[t+1] = u\n  loss = sum(u)\n}\n',
    '\u0000\u0000{{{{',
    'rule r for nothing {',
    '# @eval {"a": [1e309]}\nfunction f(a) {\n  return a\n}\n',
  ),
);

describe('language server: malformed files and malformed messages (fast-check)', function () {
  this.timeout(180000);

  before(() => buildServer());

  it("answers every request on malformed files, and the diagnostics are the checker's", async () => {
    const client = await LspClient.start();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(malformedFile, { minLength: 40, maxLength: 40 }), async (files) => {
          for (const [i, text] of files.entries()) {
            const uri = `file:///fuzz/malformed-${i}.eligo`;
            await client.open(uri, text, 1);
            for (const method of ['textDocument/hover', 'textDocument/codeLens', 'textDocument/documentSymbol', 'textDocument/semanticTokens/full'] as const) {
              counts.tried++;
              await client.request(method, paramsFor(method, uri, { line: 1, character: 4 })).then(
                () => undefined,
                (e: Error & { code?: number }) => {
                  if (e.code !== -32801) throw e;
                },
              );
              counts.answered++;
            }
            const d = await client.diagnostics(uri, 1, 30000);
            assert.deepEqual(
              d.diagnostics.filter((x) => !['eval.nan', 'spike.vanishing', 'memory.profile'].includes(String(x.code))).map((x) => x.code),
              compile(text).diagnostics.map((x) => x.code),
            );
            await client.close(uri);
          }
        }),
        { numRuns: 1, seed: 12 },
      );
      if (client.exited) counts.crashed++;
      assert.equal(client.exited, false, client.stderr);
    } finally {
      await client.stop();
    }
  });

  it('answers malformed messages with JSON-RPC errors and keeps answering', async () => {
    const s = new RawServer();
    try {
      await s.initialize();
      const junk = fc.oneof(
        fc.jsonValue().map((v) => ({ kind: 'frame', body: JSON.stringify(v) })),
        fc.string({ maxLength: 200 }).map((t) => ({ kind: 'frame', body: t })),
        fc
          .record({
            method: fc.constantFrom('textDocument/didOpen', 'textDocument/didChange', 'textDocument/hover', 'eligo/graph', 'eligo/train', 'eligo/runJob'),
            params: fc.jsonValue(),
          })
          .map((m) => ({ kind: 'frame', body: JSON.stringify({ jsonrpc: '2.0', ...m }) })),
        fc.string({ maxLength: 100 }).map((t) => ({ kind: 'raw', body: `${t.replace(/Content-Length/gi, '')}\r\n\r\n` })),
      );
      let id = 1000;
      await fc.assert(
        fc.asyncProperty(fc.array(junk, { minLength: 300, maxLength: 300 }), async (msgs) => {
          for (const m of msgs) {
            counts.tried++;
            if (m.kind === 'raw') s.write(m.body);
            else s.write(s.frame(m.body));
            // After each: a well-formed request is answered.
            const probe = id++;
            s.send({ jsonrpc: '2.0', id: probe, method: 'eligo/analysisStats', params: { uri: 'file:///fuzz/none.eligo' } });
            await s.response(probe, 20000);
            counts.answered++;
          }
        }),
        { numRuns: 1, seed: 12 },
      );
      if (s.exited) counts.crashed++;
      assert.equal(s.exited, false);
    } finally {
      await s.stop();
    }
  });
});
