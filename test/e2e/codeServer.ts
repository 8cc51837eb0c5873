// A real VS Code for the end-to-end test: code-server (installed by
// scripts/e2e-setup.sh into a cache outside the repository) serving on
// loopback with a private user-data and extensions directory, the freshly
// packaged .vsix installed into it. Every failure says why, so the test
// fails with the reason instead of passing silently.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export interface Setup {
  readonly node22: string;
  readonly codeServer: string;
  readonly setupSeconds: number;
}

function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-60).join('\n');
          rej(new Error(`${cmd} ${args.join(' ')} failed (${err.killed ? `killed after ${opts.timeoutMs / 1000} s` : `exit ${String(err.code)}`}):\n${tail}`));
        } else res({ stdout, stderr });
      },
    );
  });
}

/** Runs scripts/e2e-setup.sh (idempotent, cached) and reads the paths it reports. */
export async function ensureCodeServer(): Promise<Setup> {
  const t0 = Date.now();
  const { stdout } = await run('bash', [join(ROOT, 'scripts', 'e2e-setup.sh')], { timeoutMs: 30 * 60_000 });
  const envFile = stdout.trim().split('\n').at(-1) ?? '';
  if (!existsSync(envFile)) throw new Error(`e2e setup did not report its env file (got '${envFile}')`);
  const env = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  if (!env.NODE22 || !existsSync(env.NODE22)) throw new Error(`e2e setup: Node 22 missing at '${env.NODE22}'`);
  if (!env.CODE_SERVER || !existsSync(env.CODE_SERVER)) throw new Error(`e2e setup: code-server missing at '${env.CODE_SERVER}'`);
  return { node22: env.NODE22, codeServer: env.CODE_SERVER, setupSeconds: (Date.now() - t0) / 1000 };
}

/** Builds the .vsix exactly as users get it (`npm run package`). */
export async function packageVsix(out: string): Promise<void> {
  // Once more on failure: in a shared working tree another `node esbuild.mjs`
  // may rewrite dist/ while vsce zips it (a file changing size under yazl).
  for (let attempt = 1; ; attempt++) {
    try {
      await run(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), '--out', out], { timeoutMs: 5 * 60_000 });
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
      console.log(`      packaging failed, once more: ${(e as Error).message.split('\n').slice(-3).join(' | ')}`);
    }
  }
  if (!existsSync(out)) throw new Error(`packaging did not write ${out}`);
  // Packaging left production bundles in dist/; the suites after this one
  // expect the development build that `npm test` made.
  await run(process.execPath, [join(ROOT, 'esbuild.mjs')], { timeoutMs: 5 * 60_000 });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface Instance {
  readonly url: string;
  readonly workspace: string;
  readonly dir: string;
  readonly log: () => string;
  /** The extension host's log of our extension (the 'Eligo' output channel), if written. */
  readonly eligoLog: () => string;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly vsix: string;
  /** Files to put in the workspace folder: name → content. */
  readonly files: Readonly<Record<string, string>>;
  /** User settings (settings.json). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** Installs the .vsix into a private extensions dir and serves code-server on a free loopback port. */
export async function startCodeServer(setup: Setup, o: StartOptions): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'eligo-e2e-'));
  const userData = join(dir, 'user-data');
  const extensions = join(dir, 'extensions');
  const workspace = join(dir, 'workspace');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  mkdirSync(workspace, { recursive: true });
  for (const [name, content] of Object.entries(o.files)) writeFileSync(join(workspace, name), content);
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(o.settings, null, 2));
  // code-server writes a default config.yaml (with a password) under XDG_CONFIG_HOME: keep it private.
  const env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg-config'), XDG_DATA_HOME: join(dir, 'xdg-data'), NODE_OPTIONS: '' };
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  const inst = await run(setup.node22, [setup.codeServer, ...common, '--install-extension', o.vsix], { env, timeoutMs: 120_000 });
  if (!/successfully installed|was successfully/i.test(inst.stdout + inst.stderr)) {
    throw new Error(`installing the .vsix into code-server did not report success:\n${inst.stdout}\n${inst.stderr}`);
  }
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    setup.node22,
    [
      setup.codeServer,
      ...common,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`code-server exited (${String(exited)}) before serving:\n${log.slice(-3000)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within 60 s:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async (): Promise<void> => {
    if (exited !== undefined || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, 'SIGTERM'); // its process group: the server, extension host, our language server
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await gone;
    clearTimeout(t);
  };
  const eligoLog = (): string => {
    // <user-data>/logs/<date>/…/exthost*/output_logging_*/N-Eligo.log
    try {
      return execFileSync('bash', ['-c', `find "${userData}/logs" -name '*Eligo.log' -exec tail -n 200 {} + 2>/dev/null`], { encoding: 'utf8' });
    } catch {
      return '';
    }
  };
  return { url: `${url}/?folder=${encodeURIComponent(workspace)}`, workspace, dir, log: () => log, eligoLog, stop };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
