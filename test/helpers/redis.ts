// A real redis-server for tests: on a free loopback port, in a private
// directory, in the foreground (so the test owns the process and stops it),
// and `eligo worker` processes on the bundled CLI. Everything started here
// is stopped by `stopAll()`.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const started = new Set<ChildProcess>();
const dirs: string[] = [];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Lines of a child's output as they come, with a way to wait for one. */
export class Output {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve(l: string): void }[] = [];
  private partial = '';

  constructor(stream: NodeJS.ReadableStream | null) {
    stream?.setEncoding?.('utf8');
    stream?.on('data', (chunk: string) => {
      const text = this.partial + chunk;
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const l of parts) this.add(l);
    });
  }

  get text(): string {
    return [...this.lines, this.partial].join('\n');
  }

  private add(l: string): void {
    this.lines.push(l);
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(l)) return true;
      w.resolve(l);
      return false;
    });
  }

  waitFor(re: RegExp, ms = 60_000, what = String(re)): Promise<string> {
    const hit = this.lines.find((l) => re.test(l));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; output so far:\n${this.text.slice(-3000)}`)), ms);
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  process: ChildProcess;
  /** Stops it (SIGTERM: Redis writes its append-only file and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

export async function startRedis(o: { password?: string; appendonly?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'eligo-redis-'));
  dirs.push(dir);
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--protected-mode',
    'yes',
    '--appendonly',
    o.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
    ...(o.password ? ['--requirepass', o.password] : []),
  ];
  const server: RedisServer = {
    port,
    dir,
    url: `redis://${o.password ? `:${o.password}@` : ''}127.0.0.1:${port}`,
    process: undefined as unknown as ChildProcess,
    async start() {
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      started.add(p);
      p.once('exit', () => started.delete(p));
      const out = new Output(p.stdout);
      server.process = p;
      await out.waitFor(/Ready to accept connections/, 20_000, 'redis-server to start');
    },
    async stop() {
      const p = server.process;
      p.kill('SIGTERM');
      await exited(p);
    },
  };
  await server.start();
  return server;
}

export interface Spawned {
  readonly process: ChildProcess;
  readonly out: Output;
  readonly err: Output;
  readonly exit: Promise<number | null>;
}

/** `node dist/cli.js ARGS` as a child process. */
export function eligo(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const p = spawn(process.execPath, ['dist/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  started.add(p);
  const exit = new Promise<number | null>((r) =>
    p.once('exit', (code) => {
      started.delete(p);
      r(code);
    }),
  );
  return { process: p, out: new Output(p.stdout), err: new Output(p.stderr), exit };
}

/** An `eligo worker` on the URL, ready to take tasks. */
export async function startWorker(url: string, name: string, extra: string[] = []): Promise<Spawned> {
  const w = eligo(['worker', '--redis', url, '--concurrency', '1', '--name', name, '--lock-duration', '1500ms', ...extra]);
  await w.out.waitFor(/eligo worker started/, 30_000, `worker ${name} to start`);
  return w;
}

/** Stops every process started here (SIGKILL: nothing outlives the tests) and removes the private directories. */
export async function stopAll(): Promise<void> {
  const ps = [...started];
  for (const p of ps) p.kill('SIGKILL');
  await Promise.all(ps.map(exited));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
