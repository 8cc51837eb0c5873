// Parse + check + graph for a generated file of 1,000 equations: the
// language server re-analyses on every keystroke, so the target is < 50 ms.

import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { table } from '../language-server/src/cli/common.js';
import { ms, timeIt, writeResult } from './util.js';

/** A model with `n` equations: 8 states with updates and n − 8 lets mixing vector ops. */
export function generatedModel(n: number): string {
  const lines = ['model big {', '  dim k = 16', '  const a = 0.9', '  input x: [k]', '  param W: [k, k] ~ normal(0, 0.1)'];
  for (let s = 0; s < 8; s++) lines.push(`  state s${s}: [k] = 0`);
  for (let i = 0; i < n - 8; i++) {
    const prev = i === 0 ? 'x[t+1]' : `l${i - 1}`;
    const other = i < 2 ? 's0' : `l${i - 2}`;
    const forms = [
      `tanh(W @ ${prev}) + a * ${other}`,
      `${prev} * sigmoid(${other}) - s${i % 8}`,
      `exp(-${prev} ^ 2) + softplus(${other})`,
      `${prev} / (1 + abs(${other}))`,
    ];
    lines.push(`  let l${i} = ${forms[i % forms.length]}`);
  }
  for (let s = 0; s < 8; s++) lines.push(`  s${s}[t+1] = a * s${s} + l${n - 9 - s}`);
  lines.push(`  loss = sum(l${n - 9} ^ 2)`, '}');
  return `${lines.join('\n')}\n`;
}

// (a Promise, as every benchmark's entry returns one for bench/run.ts; this one is synchronous)
export function benchFrontend(): Promise<unknown> {
  const text = generatedModel(1000);
  let vertices = 0;
  const parseCheck = timeIt(() => {
    compile(text);
  }, 50);
  const full = timeIt(() => {
    const c = compile(text);
    vertices = graphOf(c, findItem(c, 'big')).vertices.length;
  }, 50);
  console.log(`\nFront end on a generated file of 1,000 equations (${text.length.toLocaleString()} chars, ${vertices.toLocaleString()} vertices), ms`);
  console.log(
    table(
      ['stage', 'median', 'p95'],
      [
        ['parse + check', ms(parseCheck.median), ms(parseCheck.p95)],
        ['parse + check + graph', ms(full.median), ms(full.p95)],
      ],
    ),
  );
  const result = { equations: 1000, chars: text.length, vertices, parseCheckMs: parseCheck, parseCheckGraphMs: full, targetMedianMs: 50 };
  writeResult('frontend', result);
  return Promise.resolve(result);
}
