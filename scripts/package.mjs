// `npm run package`: the .vsix users install.
//
// 1. Production bundles of every entry (`node esbuild.mjs --production`).
// 2. The node bundles that run inside the installed extension (server,
//    worker) are rebuilt with TensorFlow.js *inside* them: esbuild.mjs keeps
//    @tensorflow/* external for development (resolved from node_modules),
//    but an installed extension has no node_modules. Only the native
//    `@tensorflow/tfjs-node` stays external: it cannot be bundled (a .node
//    addon plus libtensorflow), and where it is absent the server falls back
//    to the wasm backend, whose .wasm binaries are copied beside the bundle
//    (emscripten looks for them in the script's own directory).
// 3. `vsce package --no-dependencies`: nothing from node_modules; the
//    .vscodeignore allow-list keeps dist/, media/, examples/, docs/images/.
//
// Prints the .vsix path and size. `--out FILE` names the output.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
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

const esbuild = await import('esbuild');
const nodeEntries = [
  ['language-server/src/server/main.ts', 'dist/server.js'],
  ['language-server/src/worker.ts', 'dist/worker.js'],
].filter(([src]) => existsSync(join(root, src)));
step(`bundling TensorFlow.js into ${nodeEntries.map(([, o]) => o).join(', ')}`);
await Promise.all(
  nodeEntries.map(([src, outfile]) =>
    esbuild.build({
      entryPoints: [join(root, src)],
      outfile: join(root, outfile),
      bundle: true,
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'warning',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'playwright-core'],
    }),
  ),
);

// The wasm backend's binaries, beside the bundle that loads them.
try {
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const distDir = join(wasmDir, 'dist');
  const wasm = readdirSync(distDir).filter((f) => f.endsWith('.wasm'));
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (const f of wasm) copyFileSync(join(distDir, f), join(root, 'dist', f));
  step(`copied ${wasm.join(', ')} to dist/`);
} catch (e) {
  step(`no wasm backend to copy (${e.message})`);
}

for (const f of ['dist/extension.js', 'dist/server.js', 'dist/webview.js']) {
  if (!existsSync(join(root, f))) step(`WARNING: ${f} is missing; the extension will not work without it`);
}

step(`vsce package → ${relative(root, out)}`);
const vsce = join(dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], {
  cwd: root,
  stdio: 'inherit',
});

const size = statSync(out).size;
step(`${relative(root, out)}: ${(size / 1024 / 1024).toFixed(2)} MiB (${size} bytes)`);
