// `npm run demo`: Eligo's main job on the examples, end to end, in a few
// minutes: the cost table of every example, a short search for a better
// elimination order, "find learning rule" on the LIF model, a short online
// training run, and the graph view written as a standalone HTML page.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { analyze } from '../language-server/src/analyze.js';
import { formatBytes } from '../language-server/src/lang/check.js';
import { table } from '../language-server/src/cli/common.js';

const examples = join(__dirname, '..', 'examples');

// ALIF with its leaky readout learns the correlated-input task in seconds; the
// LANGUAGE.md LIF layer (no readout filter, weak input weights) barely spikes
// on it and stays near chance in so few updates.
const TRAIN_ARGS = [
  'train', 'examples/alif.eligo', '--model', 'alif', '--rule', 'eprop', '--task', 'correlated:T=30,correlation=1',
  '--steps', '60', '--batch', '16', '--lr', '0.01', '--seed', '1', '--eval-every', '20',
];

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

const root = join(__dirname, '..');
const out = join(root, 'demo-output');

/** Run the real command line, as a user would, and show what it prints. */
function eligo(title: string, args: string[]): void {
  heading(title);
  console.log(`$ eligo ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`eligo ${args[0]} exited with ${r.status}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  mkdirSync(out, { recursive: true });
  costTable();
  eligo('2. Search for a cheaper elimination order (RoeFlux_1d, 20 s on both cores)', [
    'search', 'examples/roeflux_1d.eligo', '--budget', '20s', '--method', 'all', '--seed', '1', '--out', join('demo-output', 'roeflux_1d.order.json'),
  ]);
  eligo('3. Find learning rule for the LIF model (Pareto front of cost vs alignment with BPTT)', [
    'find-rule', 'examples/lif.eligo', '--model', 'lif', '--budget', '30s', '--hardware', 'loihi2',
  ]);
  eligo('4. Train the ALIF model online with e-prop, briefly (correlated-input task)', TRAIN_ARGS);
  eligo('5. The graph view as a standalone page', [
    'graph', 'examples/lif.eligo', '--item', 'lif', '--html', join('demo-output', 'lif.html'),
  ]);
  eligo('   …and RoeFlux_1d with the searched order in its elimination stepper', [
    'graph', 'examples/roeflux_1d.eligo', '--html', join('demo-output', 'roeflux_1d.html'), '--order', join('demo-output', 'roeflux_1d.order.json'),
  ]);
  console.log(`\nOpen ${relative(process.cwd(), join(out, 'lif.html'))} in a browser to see the graph view.`);
  console.log(`\nDemo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
