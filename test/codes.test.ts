// The catalogue of codes (language-server/src/util/codes.ts, issue 12 item 2):
// every code raised anywhere in the sources is in it, every entry is raised
// somewhere (or says why it is reserved), docs/diagnostics.md is generated
// from it, and the types make a misspelt code, or one raised with another
// severity than the catalogue's, fail to compile (the @ts-expect-error lines
// below are checked by `tsc -p . --noEmit`, part of `npm test`).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Diagnostic } from '../language-server/src/lang/ast.js';
import { compile } from '../language-server/src/compile.js';
import { CODES, codeInfo, fixOf, isDiagnosticCode, type Code, type CodeEntry } from '../language-server/src/util/codes.js';
import { EligoError } from '../language-server/src/util/errors.js';
import { codesMarkdown, DIAGNOSTICS_DOC } from '../scripts/codes-doc.js';

const ROOT = join(__dirname, '..');
const CATALOGUE = join(ROOT, 'language-server', 'src', 'util', 'codes.ts');
const SOURCES = ['language-server/src', 'extension/src', 'webview/src'].map((d) => join(ROOT, d));

/** Literals of the form `area.what` that are not codes although their area is a code's, and why. */
const NOT_CODES: Readonly<Record<string, string>> = {
  'queue.redis': "the setting eligo.queue.redis (VS Code's dotted key)",
  'train.steps': 'the setting eligo.train.steps',
  'train.epochs': 'the setting eligo.train.epochs',
  'train.seed': 'the setting eligo.train.seed',
  'graph.inputs': 'a field of the graph data (docs/elimination.md)',
};

/** File names (`train.csv`, `lif.params.h5`) are no codes. */
const FILE_NAME = /\.(csv|h5|json|js|ts|html|svg|nir|bin|eligo|py|md|gz)$/;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

/** The text without comments (a code named in a comment is neither raised nor a literal). */
function stripComments(text: string): string {
  // Strings are kept whole: a '//' inside one (a URL) is not a comment.
  return text.replace(/('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`)|\/\*[^]*?\*\/|\/\/[^\n]*/g, (m, str: string | undefined) => str ?? ' ');
}

interface Occurrence { readonly file: string; readonly line: number; readonly text: string; readonly raised: boolean }

/** Every `'area.what'` string literal of the sources (but the catalogue), and whether it is raised there rather than only compared or named in a type. */
function literals(): Map<string, Occurrence[]> {
  const out = new Map<string, Occurrence[]>();
  for (const file of SOURCES.flatMap(files)) {
    if (file === CATALOGUE) continue;
    const text = stripComments(readFileSync(file, 'utf8'));
    for (const m of text.matchAll(/(['"`])([a-z][a-z0-9]*\.[a-z][a-z0-9-]*)\1/g)) {
      const before = text.slice(Math.max(0, m.index - 24), m.index);
      // `x.code === 'file.changed'` reads a code; `readonly code: 'a' | 'b'` and `| 'b'` name it in a type.
      const raised = !/(===|!==|case)\s*$/.test(before) && !/readonly code:\s*$/.test(before) && !/\|\s*$/.test(before);
      const line = text.slice(0, m.index).split('\n').length;
      const list = out.get(m[2]!) ?? [];
      list.push({ file: relative(ROOT, file), line, text: m[2]!, raised });
      out.set(m[2]!, list);
    }
  }
  return out;
}

describe('the catalogue of diagnostic and error codes', () => {
  const codes = Object.keys(CODES) as Code[];
  const areas = new Set(codes.map((c) => c.split('.')[0]!));
  const found = literals();

  it('every code is area.what, and the catalogue has diagnostics and errors with their severity and a description', () => {
    for (const c of codes) {
      assert.match(c, /^[a-z][a-z0-9]*\.[a-z][a-z0-9-]*$/, c);
      const e = CODES[c];
      assert.ok(e.description.length > 10 && !e.description.includes('\n'), `${c}: a one-line description`);
      if (e.kind === 'diagnostic') assert.ok(['error', 'warning', 'info'].includes(e.severity), c);
    }
    assert.ok(codes.filter(isDiagnosticCode).length >= 100, 'the diagnostics are all here');
    assert.equal(codeInfo('name.unknown')?.kind, 'diagnostic');
    assert.equal(codeInfo('graph.build')?.kind, 'error');
    // A code from the wire is looked up in a Map: Object's properties are no codes.
    assert.equal(codeInfo('__proto__'), undefined);
    assert.equal(codeInfo('constructor'), undefined);
    assert.equal(fixOf('toString'), undefined);
  });

  it('every code literal in the sources whose area is a code area is in the catalogue', () => {
    const unknown: string[] = [];
    for (const [lit, occ] of found) {
      if (!areas.has(lit.split('.')[0]!) || codeInfo(lit) || NOT_CODES[lit] || FILE_NAME.test(lit)) continue;
      unknown.push(`${lit} (${occ.map((o) => `${o.file}:${o.line}`).join(', ')})`);
    }
    assert.deepEqual(unknown, [], 'add these to language-server/src/util/codes.ts (or, if they are not codes, to NOT_CODES here with the reason)');
  });

  it('no code is built from a template: a literal is what the types and this test can check', () => {
    const built: string[] = [];
    for (const file of SOURCES.flatMap(files)) {
      const text = stripComments(readFileSync(file, 'utf8'));
      for (const m of text.matchAll(/`([a-z][a-z0-9]*)\.\$\{/g)) if (areas.has(m[1]!)) built.push(`${relative(ROOT, file)}: \`${m[1]}.\${…}\``);
    }
    assert.deepEqual(built, []);
  });

  it('every catalogue entry is raised somewhere in the sources, or says why it is reserved', () => {
    const unraised = codes.filter((c) => {
      const e: CodeEntry = CODES[c];
      return !e.reserved && !(found.get(c) ?? []).some((o) => o.raised);
    });
    assert.deepEqual(unraised, [], 'raise them, remove them, or mark them reserved with a reason');
    for (const c of codes) {
      const e: CodeEntry = CODES[c];
      if (e.reserved) assert.ok(!(found.get(c) ?? []).some((o) => o.raised), `${c} is raised: it is not reserved any more`);
    }
  });

  it('docs/diagnostics.md is the catalogue as scripts/codes-doc.ts renders it (run `npx tsx scripts/codes-doc.ts`)', () => {
    assert.equal(readFileSync(DIAGNOSTICS_DOC, 'utf8'), codesMarkdown());
    const doc = readFileSync(DIAGNOSTICS_DOC, 'utf8');
    for (const c of codes) assert.ok(doc.includes(`| \`${c}\` |`), c);
  });

  it('the docs name only catalogued codes', () => {
    const docs = join(ROOT, 'docs');
    const unknown: string[] = [];
    for (const name of readdirSync(docs).filter((n) => n.endsWith('.md'))) {
      const text = readFileSync(join(docs, name), 'utf8');
      for (const m of text.matchAll(/`([a-z][a-z0-9]*\.[a-z][a-z0-9-]*)`/g)) {
        const lit = m[1]!;
        if (areas.has(lit.split('.')[0]!) && !codeInfo(lit) && !NOT_CODES[lit] && !FILE_NAME.test(lit)) unknown.push(`docs/${name}: ${lit}`);
      }
      // `[code]` at the end of a printed diagnostic line.
      for (const m of text.matchAll(/ \[([a-z][a-z0-9]*\.[a-z][a-z0-9-]*)\]$/gm)) if (!codeInfo(m[1]!)) unknown.push(`docs/${name}: [${m[1]}]`);
    }
    assert.deepEqual(unknown, []);
  });

  it("the checker's diagnostics carry the catalogue's codes with the catalogue's severities", () => {
    const c = compile([
      'model m {', '  input x: [2]', '  state u: [2] = 0', '  state w: [2] = 0', '  u[t+1] = thetta * u + x[t+1]', '  z = spike(u)', '  loss = sum(u[t+1])', '}',
      'rule r for mm {', '  schedule online', '}',
    ].join('\n'));
    assert.ok(c.diagnostics.length >= 3, JSON.stringify(c.diagnostics));
    for (const d of c.diagnostics) {
      const e = codeInfo(d.code);
      assert.ok(e?.kind === 'diagnostic', d.code);
      assert.equal(d.severity, e.severity, d.code);
    }
    assert.ok(c.diagnostics.some((d) => d.code === 'name.unknown' && fixOf(d.code) === 'did-you-mean'));
    assert.ok(c.diagnostics.some((d) => d.code === 'state.no-update'));
  });

  it('a misspelt code, or one raised with another severity, does not compile', () => {
    const range = { start: 0, end: 1 };
    // @ts-expect-error a misspelt code
    const misspelt: Diagnostic = { range, severity: 'error', code: 'name.unknwn', message: '' };
    // @ts-expect-error eval.nan is a warning in the catalogue
    const wrongSeverity: Diagnostic = { range, severity: 'error', code: 'eval.nan', message: '' };
    // @ts-expect-error an error code is no diagnostic code
    const errorCode: Diagnostic = { range, severity: 'error', code: 'graph.build', message: '' };
    // @ts-expect-error an EligoError's code is catalogued too
    const error = new EligoError('graph.bulid', 'x');
    const ok: Diagnostic = { range, severity: 'warning', code: 'eval.nan', message: '' };
    // At run time the strings are what they are; the compiler is what refuses them.
    assert.deepEqual([misspelt.code, wrongSeverity.code, errorCode.code, error.code, ok.code].map((c) => codeInfo(c)?.kind), [undefined, 'diagnostic', 'error', undefined, 'diagnostic']);
  });
});
