// Property tests: whatever the input, the parser returns (never throws),
// quickly, with diagnostics and node ranges inside the text.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Diagnostic, Node, Program } from '../language-server/src/lang/ast.js';
import { KEYWORDS } from '../language-server/src/lang/lexer.js';
import { parse } from '../language-server/src/lang/parser.js';
import { LIF_MODEL } from './helpers/models.js';

const LIF = LIF_MODEL;
const BEFORE = 'function f(a, b, c: [3]) {\n  let s = sin(a * b)\n  return s, sum(c[0:2])\n}\n';
const AFTER = 'rule eprop for lif {\n  approximate d(u[t+1])/d(z) = 0\n  schedule online\n}\n';

/** Per-parse bound: generous against a slow machine, far below anything quadratic on these sizes. */
const MAX_MS = 250;

function checkedParse(text: string): { program: Program; diagnostics: Diagnostic[] } {
  const t0 = performance.now();
  const r = parse(text);
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_MS, `parse took ${ms.toFixed(1)} ms`);
  for (const d of r.diagnostics) {
    assert.ok(
      d.range.start >= 0 && d.range.start <= d.range.end && d.range.end <= text.length,
      `diagnostic [${d.range.start}, ${d.range.end}) outside the text: ${d.message}`,
    );
  }
  for (let i = 1; i < r.diagnostics.length; i++) {
    assert.ok(r.diagnostics[i - 1]!.range.start <= r.diagnostics[i]!.range.start, 'diagnostics sorted');
  }
  // Every node inside the text and inside its parent.
  const stack: [unknown, Node][] = [[r.program, { range: { start: 0, end: text.length } }]];
  while (stack.length > 0) {
    const [value, parent] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (const v of value) stack.push([v, parent]);
      continue;
    }
    let self = parent;
    const range = (value as Partial<Node>).range;
    if (range) {
      assert.ok(
        range.start >= parent.range.start && range.start <= range.end && range.end <= parent.range.end,
        `node [${range.start}, ${range.end}) outside its parent [${parent.range.start}, ${parent.range.end})`,
      );
      self = value as Node;
    }
    for (const [k, v] of Object.entries(value)) if (k !== 'range') stack.push([v, self]);
  }
  return r;
}

const IDENTS = ['x', 'u', 'z', 'W', 't', 'd', 'dt', 'du', 'grad', 'spike', 'sum', 'axis', 'normal', 'zeros', 'KiB', 'memory'];
const NUMBERS = ['0', '1', '2', '1.5', '.5', '1e-6', '10', '1e', '3.'];
const PUNCT = [...'+-*/@^=~:,()[]{}'];
const OTHER = ['\n', '\n\n', ';', '# comment\n', '[t+1]', '[t]', 'd(u[t+1])/d(z)', 'du/dt', '\u20ac', '\u0000', "'", '.', '\u2202\u2202', '\ud83d\ude00'];
const VOCAB = [...KEYWORDS, ...IDENTS, ...NUMBERS, ...PUNCT, ...OTHER];

const tokenText = fc
  .array(fc.tuple(fc.constantFrom(...VOCAB), fc.constantFrom(' ', '', '\n', '  ')), { maxLength: 120 })
  .map((parts) => parts.map(([tok, sep]) => tok + sep).join(''));

/** Token soup, alone or inside an item body or statement so that every part of the parser sees it. */
const HEADERS = [
  '',
  'model m {\n',
  'function f(a, b) {\n  let y = ',
  'rule r for m {\n  approximate ',
  'model m {\n  u[t+1] = ',
  'dim n = ',
  'rule r for m {\n  schedule order [',
  'model m {\n  param W: [',
];
const soup = fc.tuple(fc.constantFrom(...HEADERS), tokenText, fc.constantFrom('', '\n}\n')).map(([head, body, tail]) => head + body + tail);

const editChars = fc.constantFrom(..."abtu01 \n\t()[]{}=+-*/^@~:,#;.'\u20ac\u0000");

type Edit = { at: number; kind: 'insert' | 'delete' | 'replace'; text: string; len: number };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<Edit['kind']>('insert', 'delete', 'replace'),
  text: fc.array(editChars, { minLength: 1, maxLength: 6 }).map((cs) => cs.join('')),
  len: fc.integer({ min: 1, max: 8 }),
});

function applyEdits(text: string, edits: readonly Edit[]): string {
  let s = text;
  for (const e of edits) {
    const at = e.at % (s.length + 1);
    if (e.kind === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
    else if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + e.len);
    else s = s.slice(0, at) + e.text + s.slice(at + e.len);
  }
  return s;
}

describe('parser properties', () => {
  it("never throws on random sequences of the language's tokens", () => {
    fc.assert(
      fc.property(soup, (text) => {
        checkedParse(text);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random edits of the LIF model', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => {
        checkedParse(applyEdits(BEFORE + LIF + AFTER, edits));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the items around a model whose body holds a junk line', () => {
    // Junk without braces or item keywords: recovery must stay inside the model.
    const junkVocab = VOCAB.filter((v) => !/[{}]/.test(v) && !['function', 'model', 'rule'].includes(v) && !v.includes('\n'));
    const junk = fc.array(fc.constantFrom(...junkVocab), { minLength: 1, maxLength: 20 }).map((ts) => ts.join(' '));
    const lines = LIF.split('\n');
    fc.assert(
      fc.property(junk, fc.integer({ min: 1, max: lines.length - 2 }), (line, at) => {
        const model = [...lines.slice(0, at), '  ' + line, ...lines.slice(at)].join('\n');
        const { program } = checkedParse(BEFORE + model + AFTER);
        const names = program.items.map((i) => `${i.kind} ${i.name.name}`);
        assert.ok(names.includes('function f'), names.join(', '));
        assert.ok(names.includes('model lif'), names.join(', '));
        assert.ok(names.includes('rule eprop'), names.join(', '));
      }),
      { numRuns: 300 },
    );
  });

  it('parses the unedited text without diagnostics (the baseline of the properties above)', () => {
    assert.deepEqual(checkedParse(BEFORE + LIF + AFTER).diagnostics, []);
  });
});
