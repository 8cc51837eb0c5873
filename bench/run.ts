// `npm run bench`: every benchmark prints a table and writes JSON under
// bench/results/. Run one with `npm run bench -- NAME` (frontend, elimination, …).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts'].includes(f))
    .sort();
  const order = ['frontend', 'elimination', 'search', 'rules', 'train', 'graph', 'server'];
  files.sort((a, b) => (order.indexOf(a.slice(0, -3)) + 1 || 99) - (order.indexOf(b.slice(0, -3)) + 1 || 99));
  for (const f of files) {
    const name = f.slice(0, -3);
    if (only.length && !only.includes(name)) continue;
    const mod = (await import(join(__dirname, f))) as Record<string, unknown>;
    const fn = Object.entries(mod).find(([k, v]) => k.startsWith('bench') && typeof v === 'function')?.[1] as (() => Promise<unknown>) | undefined;
    if (!fn) continue;
    const t0 = performance.now();
    await fn();
    console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
