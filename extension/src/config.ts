// The extension's settings (`eligo.*`), read once into plain data and
// validated: `workspace.getConfiguration` returns whatever the user typed in
// settings.json, so every field is checked and falls back to its default.
// Pure functions only, so the parsing is tested without VS Code.

import { OBJECTIVES as PROTOCOL_OBJECTIVES, type EligoSettings, type Objective } from '../../language-server/src/protocol.js';
import { DEFAULT_PROFILE } from '../../language-server/src/rules/profiles.js';

export const SECTION = 'eligo';

export const OBJECTIVES: readonly Objective[] = PROTOCOL_OBJECTIVES;

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
  hardwareProfile: DEFAULT_PROFILE,
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
    // Passed as written: the server knows the profiles (rules/profiles.ts) and says so on an unknown one.
    hardwareProfile: str(get('hardwareProfile'), d.hardwareProfile),
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
