// The one place that picks TensorFlow.js's backend (DESIGN.md, "tensors,
// networks"): the native `@tensorflow/tfjs-node` when it is installed and its
// library loads, else `@tensorflow/tfjs` with the WebAssembly backend, the
// plain-JS cpu backend last. tfjs-node is an optional dependency whose install
// downloads libtensorflow and fails on machines without that access, so it is
// only ever reached through a guarded run-time require, never an import: the
// bundles (esbuild.mjs keeps `@tensorflow/*` external) and the type checker
// must not depend on it being there.
//
// Everything that needs tensors (training, the search's policy network) calls
// `loadTf()` and uses the namespace it returns, and shows `backendInfo()`.

import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

/** The TensorFlow.js API (tfjs-node re-exports the same namespace). */
export type Tf = typeof import('@tensorflow/tfjs');

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The backend that runs: 'tensorflow' (tfjs-node, native), 'wasm' or 'cpu'. */
  readonly name: BackendName;
  /** The package that provides it, with its version. */
  readonly package: string;
  readonly version: string;
  /** Backends tried before this one, each with why it was not used. */
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
  /** One line for a status bar or a CLI header: "tfjs 4.22.0 · wasm (tfjs-node not installed)". */
  readonly summary: string;
}

/** How packages are loaded; injectable so tests can stand in a missing or broken package. */
export type Loader = (id: string) => unknown;

export interface SelectOptions {
  /** Try only these backends, in this order (default: tensorflow, wasm, cpu; or ELIGO_TF_BACKEND). */
  readonly order?: readonly BackendName[];
  readonly load?: Loader;
}

const DEFAULT_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

// `require` of the running bundle or module: the packages stay external and
// resolve from node_modules at run time.
const nodeRequire: NodeJS.Require = require;
const defaultLoad: Loader = (id) => nodeRequire(id);

let current: Promise<{ tf: Tf; info: BackendInfo }> | undefined;
let settled: { tf: Tf; info: BackendInfo } | undefined;

/** Reads ELIGO_TF_BACKEND=tensorflow|wasm|cpu (one name, or a comma list) to force an order. */
export function orderFromEnv(value: string | undefined): BackendName[] | undefined {
  if (!value) return undefined;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !DEFAULT_ORDER.includes(n as BackendName));
  if (bad.length) throw new Error(`ELIGO_TF_BACKEND: unknown backend ${bad.map((b) => `'${b}'`).join(', ')} (use tensorflow, wasm or cpu)`);
  return names as BackendName[];
}

function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | undefined)?.code;
  if (code === 'MODULE_NOT_FOUND' && /Cannot find module '@tensorflow\/[^']*'/.test(msg) && !/\.node'/.test(msg)) return 'not installed';
  return msg.split('\n')[0]!.slice(0, 200);
}

function versionOf(load: Loader, pkg: string): string {
  try {
    const v = (load(`${pkg}/package.json`) as { version?: string }).version;
    if (v) return v;
  } catch {
    /* fall through */
  }
  return 'unknown';
}

/** Directory of the wasm binaries inside node_modules, so the bundled dist/*.js find them too. */
function wasmDir(): string | undefined {
  try {
    const main = nodeRequire.resolve('@tensorflow/tfjs-backend-wasm');
    const dir = dirname(main);
    return existsSync(join(dir, 'tfjs-backend-wasm.wasm')) ? `${dir}/` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Selects a backend: the first of `order` that loads and initialises. Pure
 * apart from the loader and tfjs's global engine, so tests call it with a
 * loader that hides or breaks a package.
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<{ tf: Tf; info: BackendInfo }> {
  const load = opts.load ?? defaultLoad;
  const order = opts.order ?? orderFromEnv(process.env.ELIGO_TF_BACKEND) ?? DEFAULT_ORDER;
  const skipped: { name: BackendName; reason: string }[] = [];
  let tfjs: Tf | undefined;
  const plain = (): Tf => (tfjs ??= load('@tensorflow/tfjs') as Tf);
  for (const name of order) {
    try {
      let tf: Tf;
      let pkg: string;
      if (name === 'tensorflow') {
        // Loading tfjs-node registers the 'tensorflow' backend; a missing
        // native library throws here (libtensorflow.so / tfjs_binding.node).
        tf = load('@tensorflow/tfjs-node') as Tf;
        pkg = '@tensorflow/tfjs-node';
      } else if (name === 'wasm') {
        tf = plain();
        const wasm = load('@tensorflow/tfjs-backend-wasm') as { setWasmPaths?: (p: string) => void };
        const dir = opts.load ? undefined : wasmDir();
        if (dir && wasm.setWasmPaths) wasm.setWasmPaths(dir);
        pkg = '@tensorflow/tfjs-backend-wasm';
      } else {
        tf = plain();
        pkg = '@tensorflow/tfjs-backend-cpu';
      }
      if (!tf.findBackend(name) && !tf.engine().registryFactory[name]) throw new Error(`backend '${name}' is not registered`);
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`backend '${name}' failed to initialise`);
      await tf.ready();
      if (tf.getBackend() !== name) throw new Error(`backend '${name}' did not become active`);
      const version = versionOf(load, pkg);
      const why = skipped.length ? ` (${skipped.map((s) => `${s.name === 'tensorflow' ? 'tfjs-node' : s.name}: ${s.reason}`).join('; ')})` : '';
      const info: BackendInfo = { name, package: pkg, version, skipped, summary: `tfjs ${tf.version_core} · ${name}${why}` };
      return { tf, info };
    } catch (e) {
      skipped.push({ name, reason: reasonOf(e) });
    }
  }
  throw new Error(
    `no TensorFlow.js backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}. Run 'npm install' in the Eligo folder (it installs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm).`,
  );
}

/** The process-wide TensorFlow.js, loaded once (concurrent callers share the load). */
export function loadTf(): Promise<Tf> {
  current ??= selectBackend().then((r) => (settled = r));
  current.catch(() => {
    current = undefined;
  });
  return current.then((r) => r.tf);
}

/** The backend that runs, once `loadTf()` has resolved. */
export function backendInfo(): BackendInfo | undefined {
  return settled?.info;
}

/** The loaded namespace; throws when `loadTf()` has not resolved yet (a programming error). */
export function tfNow(): Tf {
  if (!settled) throw new Error('TensorFlow.js is not loaded yet: await loadTf() first');
  return settled.tf;
}
