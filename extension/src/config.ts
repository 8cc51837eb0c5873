// The extension's settings (`eligo.*`), read once into plain data and
// validated: `workspace.getConfiguration` returns whatever the user typed in
// settings.json, so every field is checked and falls back to its default.
// Pure functions only, so the parsing is tested without VS Code.

import type { EligoSettings, Objective } from '../../language-server/src/protocol.js';

export const SECTION = 'eligo';

export const OBJECTIVES: readonly Objective[] = ['multiplications', 'memory', 'time'];

/**
 * Hardware profiles a rule must fit: the server's named memory limits
 * (language-server/src/server/settings.ts) and the neuromorphic chips of
 * shared/reference/neuromorphic-hardware.md (protocol.ts CHIP_PROFILES).
 * `laptop` is the server's default.
 */
export const HARDWARE_PROFILES = ['laptop', 'gpu-16g', 'microcontroller', 'neuromorphic-core', 'loihi2', 'spinnaker2', 'brainscales2'] as const;
export type HardwareProfile = (typeof HARDWARE_PROFILES)[number];

export const HARDWARE_LABELS: Readonly<Record<HardwareProfile, string>> = {
  laptop: 'A laptop CPU with 8 GiB for the job',
  'gpu-16g': 'One accelerator with 16 GiB',
  microcontroller: 'A microcontroller with 256 KiB of SRAM',
  'neuromorphic-core': 'One neuromorphic core with 128 KiB of synaptic and state memory',
  loihi2: 'Intel Loihi 2: ~192 KB per core; rules as sums of products of pre/post traces',
  spinnaker2: 'SpiNNaker 2: ~128 KB SRAM per processing element; programmable rules',
  brainscales2: 'BrainScaleS-2: 6-bit weights; eligibility from correlation sensors',
};

/** What the extension itself reads, beside what it passes to the server. */
export interface ExtensionConfig extends EligoSettings {
  readonly server: {
    /** Extra arguments for the server's Node process (e.g. `--max-old-space-size=4096`). */
    readonly execArgv: readonly string[];
  };
}

/** The server's defaults (server/settings.ts; a test keeps the two equal), plus the extension's own. */
export const DEFAULTS: ExtensionConfig = {
  analysis: { steps: 10, debounceMs: 50 },
  objective: 'multiplications',
  hardwareProfile: 'laptop',
  search: { budgetSeconds: 30 },
  train: { task: 'correlated', steps: 100, epochs: 1, learningRate: 1e-3, batchSize: 16, seed: 0 },
  server: { execArgv: [] },
};

/** Reads a value by dotted key: `workspace.getConfiguration('eligo').get` or a plain object. */
export type ConfigGetter = (key: string) => unknown;

function int(v: unknown, dflt: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : dflt;
}

function num(v: unknown, dflt: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : dflt;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], dflt: T): T {
  return typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : dflt;
}

function str(v: unknown, dflt: string): string {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : dflt;
}

/** Parses the `eligo` section; out-of-range or mistyped values take their defaults. */
export function parseConfig(get: ConfigGetter): ExtensionConfig {
  const d = DEFAULTS;
  const execArgv = get('server.execArgv');
  return {
    analysis: {
      // T = 1 000 unrolls a thousand copies of the step graph: past that the
      // analysis would not finish at typing speed.
      steps: int(get('analysis.steps'), d.analysis.steps, 1, 1000),
      debounceMs: int(get('analysis.debounceMs'), d.analysis.debounceMs, 0, 10_000),
    },
    objective: oneOf(get('objective'), OBJECTIVES, d.objective),
    hardwareProfile: oneOf(get('hardwareProfile'), HARDWARE_PROFILES, d.hardwareProfile as HardwareProfile),
    search: { budgetSeconds: num(get('search.budgetSeconds'), d.search.budgetSeconds, 0.1, 3600) },
    train: {
      task: str(get('train.task'), d.train.task),
      steps: int(get('train.steps'), d.train.steps, 1, 10_000),
      epochs: int(get('train.epochs'), d.train.epochs, 1, 1000),
      learningRate: num(get('train.learningRate'), d.train.learningRate, 1e-9, 10),
      batchSize: int(get('train.batchSize'), d.train.batchSize, 1, 65_536),
      seed: int(get('train.seed'), d.train.seed, 0, 2 ** 31 - 1),
    },
    server: {
      execArgv: Array.isArray(execArgv) ? execArgv.filter((a): a is string => typeof a === 'string') : [],
    },
  };
}

/** A getter over a plain nested object (settings.json as parsed JSON; tests). */
export function objectGetter(root: unknown): ConfigGetter {
  return (key) => {
    let v: unknown = root;
    for (const k of key.split('.')) {
      if (v === null || typeof v !== 'object') return undefined;
      const o = v as Record<string, unknown>;
      // settings.json may hold the flat key `"analysis.steps"` as well as nesting.
      v = k in o ? o[k] : undefined;
    }
    return v;
  };
}

/** The settings the server reads, without the extension's own `server.*`. */
export function serverSettings(c: ExtensionConfig): EligoSettings {
  const { server: _server, ...rest } = c;
  return rest;
}

/** Whether a change of these settings needs the server restarted (not just re-read). */
export function needsRestart(before: ExtensionConfig, after: ExtensionConfig): boolean {
  return JSON.stringify(before.server) !== JSON.stringify(after.server);
}
