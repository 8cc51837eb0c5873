// `npm run demo`: Eligo's main job on the examples, end to end, in a few
// minutes, with the real command lines and what they print: the cost table of
// every example, a short search for a better elimination order, find-rule with
// accuracy in the loop under Loihi 2's limits, training the faithful ALIF with
// the compiled engine (and its page with the spike raster), the bridges (NIR
// out and back in with a check, the e-prop rule to Lava and to PyTorch), the
// graph view as a standalone page, and the job queue on a real redis-server
// with two `eligo worker` processes when one is installed.
//
// Every step must exit 0; the first that does not stops the demo, naming the
// command. Each section is timed and the total printed, with the machine's
// load (the figures are wall times on a machine that may be shared).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { analyze } from '../language-server/src/analyze.js';
import { formatBytes } from '../language-server/src/util/units.js';
import { table } from '../language-server/src/cli/common.js';

const root = join(__dirname, '..');
const examples = join(root, 'examples');
const out = 'demo-output';
const cli = join(root, 'dist', 'cli.js');

/** A step that did not exit 0: the demo stops here and names it. */
class StepFailed extends Error {}

function heading(text: string): void {
  console.log(`\n━━ ${text} ${'━'.repeat(Math.max(0, 76 - text.length))}`);
}

/** An argument as a shell would need it written. */
const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const shell = (args: string[]): string => args.map(quote).join(' ');

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

const timings: { title: string; seconds: number }[] = [];

async function section(title: string, body: () => void | Promise<void>): Promise<void> {
  heading(title);
  const t = performance.now();
  await body();
  timings.push({ title, seconds: (performance.now() - t) / 1000 });
}

/** Runs a command in the repository as a user would, shows it and what it prints, and stops the demo unless it exits 0. */
function run(shown: string, command: string, args: string[]): Promise<void> {
  console.log(`\n$ ${shown}`);
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { cwd: root, stdio: 'inherit' });
    p.once('error', (e) => reject(new StepFailed(`\`${shown}\` could not start: ${e.message}`)));
    p.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new StepFailed(`\`${shown}\` ${signal ? `was killed by ${signal}` : `exited with ${code}`}`));
    });
  });
}

const eligo = (...args: string[]): Promise<void> => run(`eligo ${shell(args)}`, process.execPath, [cli, ...args]);

/**
 * The same command, its output kept rather than shown (for a comparison). Asynchronous, so the
 * workers' output keeps being read meanwhile (a full pipe would block them, and the run with them).
 */
function capture(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    p.once('exit', () => children.delete(p));
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('error', (e) => reject(new StepFailed(`\`eligo ${shell(args)}\` could not start: ${e.message}`)));
    p.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new StepFailed(`\`eligo ${shell(args)}\` exited with ${code}:\n${stderr}`))));
  });
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** Debian's python3 (or the first on PATH) when it imports torch: its version, else null. */
function torchPython(): { python: string; version: string } | null {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : onPath('python3');
  if (!python) return null;
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { python, version: r.stdout.trim() } : null;
}

function costTable(): void {
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
  console.log('(the figures of `eligo analyze FILE` for every example; models: one time step, w.r.t. states and parameters)');
}

// ---- the job queue: a private redis-server and two workers, all stopped at the end

const children = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Background {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(re: RegExp, ms: number, what: string): Promise<void>;
}

function background(command: string, args: string[]): Background {
  const p = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  const lines: string[] = [];
  const waiters: { re: RegExp; done(): void }[] = [];
  let partial = '';
  const take = (chunk: string): void => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((x) => x.re.test(l))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done();
      }
    }
  };
  p.stdout!.setEncoding('utf8').on('data', take);
  p.stderr!.setEncoding('utf8').on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.once('exit', (code, signal) => {
    children.delete(p);
    r({ code, signal });
  }));
  const shown = [command === process.execPath ? 'eligo' : command, ...(command === process.execPath ? args.slice(1) : args)].join(' ');
  return {
    process: p, lines, exited,
    waitFor(re, ms, what) {
      if (lines.some((l) => re.test(l))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new StepFailed(`\`${shown}\`: no sign of ${what} after ${ms / 1000} s; it printed:\n${lines.slice(-20).join('\n')}`)), ms);
        void exited.then(({ code }) => reject(new StepFailed(`\`${shown}\` exited with ${code} before ${what}:\n${lines.slice(-20).join('\n')}`)));
        waiters.push({ re, done: () => { clearTimeout(t); resolve(); } });
      });
    },
  };
}

/** SIGTERM, then the exit code: a worker finishes the task in hand and exits 0, Redis saves nothing (--save '') and exits 0. */
async function stop(b: Background, shown: string): Promise<void> {
  if (b.process.exitCode !== null) {
    if (b.process.exitCode !== 0) throw new StepFailed(`\`${shown}\` exited with ${b.process.exitCode}`);
    return;
  }
  b.process.kill('SIGTERM');
  const timer = setTimeout(() => b.process.kill('SIGKILL'), 15_000);
  const { code, signal } = await b.exited;
  clearTimeout(timer);
  if (code !== 0) throw new StepFailed(`\`${shown}\` ${signal ? `was killed by ${signal} (it did not stop within 15 s of SIGTERM)` : `exited with ${code} when stopped`}`);
}

async function queue(): Promise<void> {
  const redisServer = onPath('redis-server');
  if (!redisServer) {
    console.log('redis-server is not on PATH: skipped. To see it, install it (Debian: sudo apt-get install redis-server) and run the demo again; docs/scale-out.md shows a run on two machines.');
    return;
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'eligo-demo-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  const workerArgs = (name: string): string[] => ['worker', '--redis', url, '--concurrency', '1', '--name', name, '--lock-duration', '3s'];
  const started: { b: Background; shown: string }[] = [];
  try {
    console.log(`\n$ redis-server ${shell(redisArgs)} &   # a private Redis on a free loopback port, in ${dir}`);
    const redis = background(redisServer, redisArgs);
    started.push({ b: redis, shown: 'redis-server' });
    await redis.waitFor(/Ready to accept connections/, 20_000, 'Redis being ready');
    const workers: Background[] = [];
    for (const name of ['w1', 'w2']) {
      const shown = `eligo ${shell(workerArgs(name))}`;
      console.log(`$ ${shown} &`);
      const w = background(process.execPath, [cli, ...workerArgs(name)]);
      started.push({ b: w, shown });
      workers.push(w);
    }
    for (const w of workers) await w.waitFor(/eligo worker started/, 30_000, 'the worker starting');
    for (const w of workers) console.log(`  ${w.lines.find((l) => /eligo worker started/.test(l))}`);
    const find = ['find-rule', 'examples/lif.eligo', '--model', 'lif', '--steps', '40', '--samples', '1', '--evaluations', '12', '--budget', '120s'];
    await eligo(...find, '--redis', url);
    // The workers' log of the run: which task ran where.
    console.log('\nthe workers meanwhile:');
    workers.forEach((w, k) => {
      const tasks = w.lines.filter((l) => /[▶✓] rule-candidate/.test(l));
      console.log(`  w${k + 1}: ${tasks.filter((l) => l.includes('✓')).length} tasks done`);
      for (const l of tasks.slice(0, 4)) console.log(`    ${l}`);
      if (tasks.length > 4) console.log(`    … ${tasks.length - 4} more lines`);
    });
    // The same command without --redis must give the same front: the queue changes where rules are measured, not what.
    const front = (text: string): string => text.slice(text.indexOf('Pareto front'));
    const queued = front(await capture([...find, '--redis', url, '--quiet']));
    const local = front(await capture([...find, '--quiet']));
    if (queued !== local) throw new StepFailed(`find-rule through the queue and here gave different fronts:\n${queued}\n---\n${local}`);
    console.log(`\nthe same command without --redis, run here: the same front (${/Pareto front \((\d+)\)/.exec(local)?.[1] ?? '?'} rules), line for line`);
  } finally {
    // Workers first (they finish the task in hand), then Redis; the temporary folder goes with it.
    const errors: string[] = [];
    for (const { b, shown } of started.reverse()) await stop(b, shown).catch((e: Error) => errors.push(e.message));
    rmSync(dir, { recursive: true, force: true });
    console.log('stopped the two workers and redis-server; removed its folder');
    if (errors.length) throw new StepFailed(errors.join('\n'));
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadBefore = load();
  console.log(`Eligo demo · Node ${process.version} · ${availableParallelism()} cores · load average ${loadBefore} (1, 5, 15 min) · output in ${out}/`);
  mkdirSync(join(root, out), { recursive: true });

  await section('1. Cost of the full Jacobian by vertex elimination (multiplications; Graphax conventions)', costTable);

  await section('2. Search for a cheaper elimination order (RoeFlux_1d; heuristics, beam, annealing, MCTS on both cores)', () => eligo(
    'search', 'examples/roeflux_1d.eligo', '--method', 'all', '--seed', '1', '--evaluations', '20000', '--budget', '60s', '--quiet',
    '--out', `${out}/roeflux_1d.order.json`,
  ));

  // Successive halving over the rules that fit Loihi 2: 6 trained for 10 updates, the best 2 for 30, the best one for 90.
  // The budget is a cap: the run ends when its last round is done (about 35 s on two idle cores, 70 s at a load of 6).
  await section('3. Find learning rule with accuracy in the loop: LIF under Loihi 2, on the correlated task', () => eligo(
    'find-rule', 'examples/lif.eligo', '--model', 'lif', '--task', 'correlated:T=30,correlation=1', '--hardware', 'loihi2',
    '--max-trained', '6', '--budget', '90s',
  ));

  await section('4. Train the faithful ALIF (Bellec et al. 2020) with e-prop on the compiled engine: evidence accumulation', () => eligo(
    'train', 'examples/alif.eligo', '--model', 'alif', '--rule', 'eprop', '--task', 'evidence:T=100', '--steps', '40', '--batch', '16',
    '--lr', '0.01', '--seed', '1', '--eval-every', '10', '--html', `${out}/alif-train.html`,
  ));

  await section('5. Bridges: the LIF model to NIR and back, the e-prop rule to Lava (Loihi 2) and to PyTorch', async () => {
    await eligo('export', 'nir', 'examples/lif.eligo', '--model', 'lif', '--dt', '1e-3', '--out', `${out}/lif.nir`, '--force');
    await eligo('import', 'nir', `${out}/lif.nir`, '--out', `${out}/lif_nir.eligo`, '--dt', '1e-3', '--check', '--force');
    await eligo('export', 'lava', 'examples/lif.eligo', '--model', 'lif', '--rule', 'eprop', '--out', `${out}/lif_eprop_loihi2.py`, '--force');
    await eligo('export', 'torch', 'examples/lif.eligo', '--model', 'lif', '--rule', 'eprop', '--out', `${out}/lif_eprop.py`, '--force');
    const torch = torchPython();
    if (torch) await run(`python3 ${out}/lif_eprop.py --iterations 5 --steps 50   # PyTorch ${torch.version}`, torch.python, [`${out}/lif_eprop.py`, '--iterations', '5', '--steps', '50']);
    else console.log('\n(python3 with torch not found: the exported module is not run; Debian: sudo apt-get install python3-torch)');
  });

  await section('6. The graph view as a standalone page', async () => {
    await eligo('graph', 'examples/lif.eligo', '--item', 'lif', '--html', `${out}/lif.html`);
    await eligo('graph', 'examples/roeflux_1d.eligo', '--html', `${out}/roeflux_1d.html`, '--order', `${out}/roeflux_1d.order.json`);
  });

  await section('7. Scale out: find-rule through BullMQ on Redis with two eligo workers', queue);

  heading('Time per section');
  const total = (performance.now() - t0) / 1000;
  console.log(table(['section', 'seconds'], [...timings.map((s) => [s.title.replace(/:.*$/, ''), s.seconds.toFixed(1)]), ['total', total.toFixed(1)]]));
  console.log(`load average ${loadBefore} at the start, ${load()} at the end, on ${availableParallelism()} cores`);
  console.log(`\nOpen ${out}/lif.html (the graph view) and ${out}/alif-train.html (its Training tab: learning curve, spike raster, traces) in a browser.`);
}

function stopChildren(): void {
  for (const p of children) p.kill('SIGKILL');
}
process.once('exit', stopChildren);
for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.once(s, () => {
    stopChildren();
    process.exit(130);
  });
}

main().catch((e: unknown) => {
  stopChildren();
  if (e instanceof StepFailed) console.error(`\ndemo stopped: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
});
