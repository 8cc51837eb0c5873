// `npm run demo`: Eligo's main job on the examples, end to end, in a few
// minutes: the cost table of every example, a short search for a better
// elimination order, "find learning rule" on the LIF model, a short online
// training run, and the graph view written as a standalone HTML page.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../language-server/src/analyze.js';
import { formatBytes } from '../language-server/src/lang/check.js';
import { table } from '../language-server/src/cli/common.js';

const examples = join(__dirname, '..', 'examples');

function heading(text: string): void {
  console.log(`\n━━ ${text} ${'━'.repeat(Math.max(0, 76 - text.length))}`);
}

function costTable(): void {
  heading('1. Cost of the full Jacobian by vertex elimination (multiplications; Graphax conventions)');
  const rows: (string | number)[][] = [];
  for (const file of readdirSync(examples).filter((f) => f.endsWith('.eligo')).sort()) {
    const a = analyze(readFileSync(join(examples, file), 'utf8'));
    for (const it of a.items) {
      if (!it.costs || !it.graph) continue;
      const c = it.costs;
      const best = Math.min(c.forward.multiplications, c.reverse.multiplications, c.markowitz.multiplications);
      const winner = (['forward', 'reverse', 'markowitz'] as const).find((o) => c[o].multiplications === best)!;
      rows.push([it.name, it.kind, it.graph.vertices, c.forward.multiplications, c.reverse.multiplications, c.markowitz.multiplications, winner, formatBytes(c[winner].peakMemoryBytes)]);
    }
  }
  console.log(table(['item', 'kind', 'vertices', 'forward', 'reverse', 'Markowitz', 'best', 'peak memory'], rows));
  console.log('(models: one time step, w.r.t. states and parameters)');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  costTable();
  console.log(`\nDemo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
