// `npm run package`: the .vsix users install.
//
// 1. Production bundles of every entry (`node esbuild.mjs --production`):
//    the extension, the language server and its job worker, the webview.
// 2. `vsce package`: the .vscodeignore allow-list keeps dist/, media/,
//    examples/, docs/images/, and from node_modules only what the bundles
//    load by name at run time (TensorFlow.js's Node entry files, the wasm
//    binaries and their few dependencies; elkjs's layout engine for the
//    layout worker). tfjs-node, optional and native, is not shipped: where
//    it is absent the server runs TensorFlow.js on wasm (train/backend.ts).
// 3. A check that the packed extension works without the repository: the
//    .vsix is unpacked into a temporary folder and, from there, TensorFlow.js
//    loads with the wasm backend and computes, elkjs loads, the server
//    bundle starts and answers `initialize` over stdio, the files found by
//    path are there (h5wasm, ELK, models/agent/), and the CLI bundle run
//    from that folder exports and imports NIR, runs MCTS with the shipped
//    network and trains on the compiled engine.
//
// Prints the .vsix path and size. `--out FILE` names the output.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const argOut = process.argv.indexOf('--out');
const out = argOut > 0 ? process.argv[argOut + 1] : join(root, `${pkg.name}-${pkg.version}.vsix`);
const t0 = Date.now();
const step = (s) => console.log(`[package ${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`);

step('production bundles (esbuild.mjs --production)');
execFileSync(process.execPath, [join(root, 'esbuild.mjs'), '--production'], { cwd: root, stdio: 'inherit' });

for (const f of ['dist/extension.js', 'dist/server.js', 'dist/webview.js']) {
  if (!existsSync(join(root, f))) step(`WARNING: ${f} is missing; the extension will not work without it`);
}

step(`vsce package → ${relative(root, out)}`);
const vsce = join(dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
execFileSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], {
  cwd: root,
  stdio: 'inherit',
});

step('checking the packed extension on its own');
const unpacked = mkdtempSync(join(tmpdir(), 'eligo-vsix-'));
try {
  // A .vsix is a zip; its files are under extension/.
  const py = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', out, unpacked], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`could not unpack ${out}: ${py.stderr}`);
  const ext = join(unpacked, 'extension');
  const probe = `
    const tf = require('@tensorflow/tfjs');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const path = require('path');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    require('elkjs/lib/elk.bundled.js');
    (async () => {
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
      const s = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
      if (s !== 14) throw new Error('wasm computed ' + s);
      console.log('tfjs ' + tf.version_core + ' on ' + tf.getBackend() + ': ok');
    })().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: join(ext, 'dist'), encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  if (r.status !== 0) throw new Error(`TensorFlow.js does not load from the packed extension:\n${r.stdout}\n${r.stderr}`);
  step(`packed extension: ${r.stdout.trim()}, elkjs: ok`);
  if (existsSync(join(ext, 'dist', 'server.js'))) {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    const msg = `Content-Length: ${Buffer.byteLength(init)}\r\n\r\n${init}`;
    const answer = await new Promise((resolveAnswer) => {
      const child = spawn(process.execPath, [join(ext, 'dist', 'server.js'), '--stdio'], { cwd: unpacked, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const done = (ok) => {
        clearTimeout(timer);
        child.kill();
        resolveAnswer({ ok, stdout, stderr });
      };
      const timer = setTimeout(() => done(false), 20_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/"capabilities"/.test(stdout)) done(true);
      });
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', () => done(/"capabilities"/.test(stdout)));
      child.stdin.write(msg);
    });
    if (!answer.ok) throw new Error(`the packed server did not answer initialize:\n${answer.stdout.slice(0, 2000)}\n${answer.stderr.slice(0, 2000)}`);
    step('packed server: answers initialize');
  }
  // Files the bundles find by path at run time rather than through require: h5wasm (ESM, its
  // wasm inlined in hdf5_util.js), ELK's engine for the layout worker, and the pre-trained
  // networks, looked for upward from dist/ (search/network.ts, discovery/ruleNet.ts).
  const needed = [
    'dist/server.js', 'dist/worker.js', 'dist/extension.js', 'dist/webview.js',
    'node_modules/h5wasm/package.json', 'node_modules/h5wasm/dist/node/hdf5_hl.js', 'node_modules/h5wasm/dist/node/hdf5_util.js',
    'node_modules/elkjs/lib/elk.bundled.js', 'models/agent/agent.json', 'models/agent/rule-agent.json',
  ];
  const missing = needed.filter((f) => !existsSync(join(ext, f)));
  if (missing.length) throw new Error(`the packed extension lacks ${missing.join(', ')} (see .vscodeignore)`);
  for (const f of ['models/agent/agent.json', 'models/agent/rule-agent.json']) JSON.parse(readFileSync(join(ext, f), 'utf8'));
  // The CLI bundle is not shipped, but it has the server's externals and finds those files the
  // same way, so run from the unpacked folder it checks what the server loads there: h5wasm for
  // NIR out and back, the shipped order network for MCTS, the compiled trainer and its threads.
  if (existsSync(join(root, 'dist', 'cli.js'))) {
    copyFileSync(join(root, 'dist', 'cli.js'), join(ext, 'dist', 'cli.js'));
    const cli = (...args) => {
      const r = spawnSync(process.execPath, [join(ext, 'dist', 'cli.js'), ...args], { cwd: ext, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
      if (r.status !== 0) throw new Error(`from the packed extension, eligo ${args.join(' ')} exited with ${r.status}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
      return r.stdout + r.stderr;
    };
    cli('export', 'nir', 'examples/lif.eligo', '--model', 'lif', '--out', join(unpacked, 'lif.nir'));
    const check = cli('import', 'nir', join(unpacked, 'lif.nir'), '--out', join(unpacked, 'lif_nir.eligo'), '--check');
    if (!/largest difference/.test(check)) throw new Error(`NIR import --check from the packed extension printed no check:\n${check}`);
    const mcts = cli('search', 'examples/roeflux_1d.eligo', '--method', 'mcts', '--evaluations', '300', '--threads', '0', '--quiet');
    if (/untrained prior|no pre-trained network/.test(mcts)) throw new Error(`MCTS from the packed extension did not find its network:\n${mcts}`);
    const trained = JSON.parse(cli('train', 'examples/lif.eligo', '--model', 'lif', '--rule', 'eprop', '--task', 'correlated:T=20,train=32,test=32', '--steps', '2', '--batch', '8', '--json').trim().split('\n').at(-1));
    if (trained.engine !== 'compiled' || !Number.isFinite(trained.final?.loss)) throw new Error(`training from the packed extension: ${JSON.stringify(trained)}`);
    step('packed extension: NIR out and back (h5wasm), MCTS with the shipped network, compiled training: ok');
  }
} finally {
  rmSync(unpacked, { recursive: true, force: true });
}
const size = statSync(out).size;
step(`${relative(root, out) || out}: ${(size / 1024 / 1024).toFixed(2)} MiB (${size} bytes)`);
