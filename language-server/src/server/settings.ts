// Settings read through `workspace/configuration` (section `eligo`), with
// defaults and validation: whatever the client sends (`unknown` crosses a
// process), the server works with a complete, valid EligoSettings.

import type { Connection } from 'vscode-languageserver/node';
import type { AnalyzeSettings } from '../analysis/settings.js';
import { DEFAULT_PROFILE, isProfile, namedProfile, unknownProfileMessage } from '../rules/profiles.js';
import { OBJECTIVES, type EligoSettings, type Objective } from '../protocol.js';
import { parseRedisUrl, QueueUrlError } from '../jobs/queue/connection.js';
import type { DiagnosticCodeOf } from '../util/codes.js';

export const DEFAULTS: EligoSettings = {
  analysis: { steps: 10, debounceMs: 50 },
  objective: 'multiplications',
  hardwareProfile: DEFAULT_PROFILE,
  search: { budgetSeconds: 30 },
  train: { task: 'correlated', steps: 100, epochs: 1, learningRate: 1e-3, batchSize: 16, seed: 0 },
};

export { isProfile, profileMemory } from '../rules/profiles.js';

/** The two settings an analysis depends on (analysis/settings.ts), as the CLI passes them too. */
export function analyzeSettings(s: EligoSettings): AnalyzeSettings {
  return { steps: s.analysis.steps, hardwareProfile: s.hardwareProfile };
}

function num(v: unknown, def: number, min: number, max: number, integer = false): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) return def;
  return n;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * A complete EligoSettings from whatever the client sent. Accepts both the
 * nested form (`{analysis: {steps}}`) and VS Code's dotted keys
 * (`{"analysis.steps": 10}`).
 */
export function normalizeSettings(raw: unknown): EligoSettings {
  const queue = queueUrlOf(raw);
  const r = obj(raw);
  const pick = (path: string): unknown => {
    if (path in r) return r[path];
    let v: unknown = r;
    for (const part of path.split('.')) v = obj(v)[part];
    return v;
  };
  const d = DEFAULTS;
  const objective = pick('objective');
  const profile = pick('hardwareProfile');
  return {
    analysis: {
      steps: num(pick('analysis.steps'), d.analysis.steps, 1, 10000, true),
      debounceMs: num(pick('analysis.debounceMs'), d.analysis.debounceMs, 0, 5000),
    },
    objective: OBJECTIVES.includes(objective as Objective) ? (objective as Objective) : d.objective,
    // A named profile as the registry spells it (`Loihi2` → `loihi2`); a size as written.
    hardwareProfile: typeof profile === 'string' && isProfile(profile) ? namedProfile(profile)?.id ?? profile.trim() : d.hardwareProfile,
    search: { budgetSeconds: num(pick('search.budgetSeconds'), d.search.budgetSeconds, 0.01, 86400) },
    train: {
      task: typeof pick('train.task') === 'string' && (pick('train.task') as string).trim() !== '' ? (pick('train.task') as string) : d.train.task,
      steps: num(pick('train.steps'), d.train.steps, 1, 1e7, true),
      epochs: num(pick('train.epochs'), d.train.epochs, 1, 1e6, true),
      learningRate: num(pick('train.learningRate'), d.train.learningRate, 1e-12, 10),
      batchSize: num(pick('train.batchSize'), d.train.batchSize, 1, 1e6, true),
      seed: num(pick('train.seed'), d.train.seed, 0, 2 ** 31, true),
    },
    ...(queue ? { queue: { redis: queue.shown } } : {}),
  };
}

/** A setting the server could not use: which, and why (shown as a diagnostic in every open document). */
export interface SettingProblem {
  readonly setting: string;
  readonly code: DiagnosticCodeOf<'warning'>;
  readonly message: string;
}

/** What in the client's settings the server cannot use (and replaced by its default). */
export function settingsProblems(raw: unknown): SettingProblem[] {
  const r = obj(raw);
  const profile = 'hardwareProfile' in r ? r.hardwareProfile : undefined;
  const out: SettingProblem[] = [];
  if (profile !== undefined && (typeof profile !== 'string' || !isProfile(profile))) {
    const why = typeof profile === 'string' ? unknownProfileMessage(profile) : `the hardware profile must be a name, got ${JSON.stringify(profile)}`;
    out.push({ setting: 'eligo.hardwareProfile', code: 'settings.hardware-profile', message: `setting eligo.hardwareProfile: ${why}; using '${DEFAULTS.hardwareProfile}'` });
  }
  const queue = queueProblem(raw);
  if (queue) out.push({ setting: 'eligo.queue.redis', code: 'settings.queue-redis', message: `setting eligo.queue.redis: ${queue}; Find Learning Rule and Search run in this process, not on the job queue` });
  return out;
}

function queueSetting(raw: unknown): unknown {
  const r = obj(raw);
  return 'queue.redis' in r ? r['queue.redis'] : obj(r.queue).redis;
}

/**
 * Why `eligo.queue.redis` cannot be used, or undefined when it is unset or a Redis URL. The
 * message is parseRedisUrl's, which never contains the password (it shows `***` in its place).
 */
function queueProblem(raw: unknown): string | undefined {
  const v = queueSetting(raw);
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return undefined;
  if (typeof v !== 'string') return `a Redis URL is a string such as redis://HOST:PORT, got ${Array.isArray(v) ? 'a list' : typeof v}`;
  try {
    parseRedisUrl(v);
    return undefined;
  } catch (e) {
    if (e instanceof QueueUrlError) return e.message;
    throw e;
  }
}

/**
 * `eligo.queue.redis`: the URL and the form that may be shown (password hidden), or undefined when
 * unset or not a Redis URL (settingsProblems says which). The URL itself stays out of EligoSettings, which are echoed in results
 * and traced: only the job that uses the queue gets it (JobInput.queueUrl).
 */
export function queueUrlOf(raw: unknown): { url: string; shown: string } | undefined {
  const v = queueSetting(raw);
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  try {
    return { url: v.trim(), shown: parseRedisUrl(v).shown };
  } catch {
    return undefined;
  }
}

/**
 * The current settings: pulled with `workspace/configuration` when the client
 * supports it (and again after `didChangeConfiguration`), else the
 * `initializationOptions.settings`, else the defaults.
 */
export class Settings {
  private current: EligoSettings = DEFAULTS;
  /** The job queue's URL, with its password (never sent back to the client). */
  queueUrl: string | undefined;
  private pull: Promise<EligoSettings> | undefined;
  private listeners: ((s: EligoSettings) => void)[] = [];

  constructor(private readonly connection: Connection) {}

  canPull = false;

  /** What the last settings received had that the server could not use. */
  problems: readonly SettingProblem[] = [];

  get value(): EligoSettings {
    return this.current;
  }

  /** Settings given at startup or pushed in `didChangeConfiguration`. */
  set(raw: unknown): void {
    this.queueUrl = queueUrlOf(raw)?.url;
    this.update(normalizeSettings(raw), settingsProblems(raw));
  }

  /** Ask the client; the last answer wins. Never rejects. */
  refresh(): Promise<EligoSettings> {
    if (!this.canPull) return Promise.resolve(this.current);
    const p = this.connection.workspace.getConfiguration('eligo').then(
      (raw: unknown) => {
        if (this.pull === p) {
          this.queueUrl = queueUrlOf(raw)?.url;
          this.update(normalizeSettings(raw), settingsProblems(raw));
        }
        return this.current;
      },
      () => this.current,
    );
    this.pull = p;
    return p;
  }

  onChange(f: (s: EligoSettings) => void): void {
    this.listeners.push(f);
  }

  private update(next: EligoSettings, problems: readonly SettingProblem[]): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.current) || JSON.stringify(problems) !== JSON.stringify(this.problems);
    this.current = next;
    this.problems = problems;
    if (changed) for (const f of this.listeners) f(next);
  }
}
