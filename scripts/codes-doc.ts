// docs/diagnostics.md from the catalogue of codes (language-server/src/util/codes.ts):
// `npx tsx scripts/codes-doc.ts` writes it; test/codes.test.ts checks that the
// committed page is what this renders, so the page cannot drift from the code.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CODES, FIXES, type CodeEntry, type DiagnosticEntry, type DiagnosticStage, type ErrorEntry } from '../language-server/src/util/codes.js';

export const DIAGNOSTICS_DOC = join(__dirname, '..', 'docs', 'diagnostics.md');

/** Who raises each stage's diagnostics, in pipeline order. */
const STAGES: Readonly<Record<DiagnosticStage, string>> = {
  lexer: 'Lexer (`lang/lexer.ts`)',
  parser: 'Parser (`lang/parser.ts`)',
  limits: 'Size limits (`lang/limits.ts`)',
  compile: 'Front end (`compile.ts`)',
  checker: 'Checker (`lang/check.ts`)',
  rules: 'Rules engine (`rules/diagnostics.ts`, `rules/blocks.ts`)',
  analysis: 'Analysis warnings (`analysis/itemAnalysis.ts`)',
  settings: 'Settings the server cannot use (`server/settings.ts`), said at the start of every open document',
  data: '`data(…)` params (`interop/paramData.ts`)',
  interop: 'Import and export bridges, as `eligo import` / `eligo export` print them (`cli/exporters.ts`)',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function diagnosticRow(code: string, e: DiagnosticEntry): string {
  const notes = [e.fix ? `fix: ${FIXES[e.fix]}` : '', e.unnecessary ? 'shown faded (unnecessary)' : '', e.reserved ? `reserved: ${e.reserved}` : ''].filter(Boolean).join('; ');
  return `| \`${code}\` | ${e.severity} | ${cell(e.description)} | ${cell(notes)} |`;
}

export function codesMarkdown(): string {
  const entries = Object.entries(CODES) as [string, CodeEntry][];
  const diagnostics = entries.filter((x): x is [string, DiagnosticEntry] => x[1].kind === 'diagnostic');
  const errors = entries.filter((x): x is [string, ErrorEntry] => x[1].kind === 'error');
  const out: string[] = [
    '# Diagnostic and error codes',
    '',
    '<!-- Generated from language-server/src/util/codes.ts by `npx tsx scripts/codes-doc.ts`; test/codes.test.ts checks it. Do not edit by hand. -->',
    '',
    'Every diagnostic Eligo raises has a stable code (`area.what`), in the editor',
    '(the Problems panel shows it), in `eligo check` (`file:line:col: severity: message [code]`)',
    'and in `eligo check --json`. Code actions key off the codes, never off the',
    'message text. The catalogue (`language-server/src/util/codes.ts`) is the one',
    'list: each code with its severity, what it means and the fix the editor offers;',
    'a code not in it does not compile.',
    '',
    `${diagnostics.length} diagnostic codes, ${errors.length} error codes.`,
    '',
    '## Diagnostics',
  ];
  for (const stage of Object.keys(STAGES) as DiagnosticStage[]) {
    const rows = diagnostics.filter(([, e]) => e.stage === stage);
    if (!rows.length) continue;
    out.push('', `### ${STAGES[stage]}`, '', '| code | severity | meaning | code action, notes |', '| --- | --- | --- | --- |');
    for (const [code, e] of rows) out.push(diagnosticRow(code, e));
  }
  out.push(
    '',
    '## Errors',
    '',
    'The codes of `EligoError` (`util/errors.ts`): input Eligo refuses, a limit reached, a request it will not run.',
    'The CLI prints one line and exits 2 (1 for errors in the input); a job answers `refused` or `failed` with',
    'the message; anything without such a code is a bug and is reported with its stack.',
    '',
    '| code | thrown in | meaning |',
    '| --- | --- | --- |',
  );
  for (const [code, e] of errors) out.push(`| \`${code}\` | \`${e.stage}/\` | ${cell(e.description)}${e.reserved ? ` (reserved: ${cell(e.reserved)})` : ''} |`);
  return `${out.join('\n')}\n`;
}

if (require.main === module) {
  const text = codesMarkdown();
  let old = '';
  try {
    old = readFileSync(DIAGNOSTICS_DOC, 'utf8');
  } catch {
    // first run
  }
  if (old !== text) writeFileSync(DIAGNOSTICS_DOC, text);
  process.stdout.write(`${old === text ? 'unchanged' : 'wrote'} ${DIAGNOSTICS_DOC}\n`);
}
