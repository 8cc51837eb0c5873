// One bundle per front door: the CLI and the language server (node, cjs),
// the extension host client (node, cjs, `vscode` external), and the webview
// (browser, iife). Type checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};
// tfjs-node is optional: resolved at run time when installed, never bundled. h5wasm (4 MB of
// wasm, ESM only) is loaded by interop/hdf5.ts with import() when a bridge first needs it.
const nodeExternals = [
  'vscode',
  'h5wasm',
  'h5wasm/node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  'playwright-core',
];

const entries = [
  { entryPoints: ['language-server/src/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  {
    entryPoints: ['language-server/src/server/main.ts'],
    outfile: 'dist/server.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
  },
  { entryPoints: ['language-server/src/worker.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  { entryPoints: ['extension/src/main.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  { entryPoints: ['webview/src/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
].filter((e) => existsSync(e.entryPoints[0]));

await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));

// The manifest's generated enums (hardware profiles) from the registries.
const { writeEnums } = await import('./scripts/manifest-enums.mjs');
if (writeEnums()) console.log('package.json: generated settings enums updated');
