// Incremental analysis of open documents.
//
// Parsing and checking run on the whole file (milliseconds, see
// bench/frontend.ts); the expensive part — each item's graph, elimination
// costs and evaluation point — is cached per item under a hash of the item's
// text and of everything else it depends on (file-level dims and consts, the
// `# @eval` comment, the model of a rule, the settings). An edit recomputes
// only the items it touched; the others are reused with their ranges moved.
// Typing is debounced: an isolated edit is analysed at once, a burst of edits
// once it pauses for `eligo.analysis.debounceMs`. Work on a version that a
// newer edit has made stale is abandoned between items.

import { createHash } from 'node:crypto';
import { analyzeItem, type ItemAnalysis } from '../analyze.js';
import type { Compiled, NamedItem } from '../compile.js';
import { evalComment } from '../graph/inputs.js';
import type { Diagnostic, Range } from '../lang/ast.js';
import { formatBytes } from '../lang/check.js';
import type { EligoSettings } from '../protocol.js';
import type { Snapshot, Workspace } from './documents.js';
import { evaluateItem, shiftEvalPoint, VANISHING_RATIO, type EvalOutcome } from './evalPoint.js';
import { profileMemory, type Settings } from './settings.js';

export interface ItemResult {
  readonly item: NamedItem;
  readonly analysis: ItemAnalysis;
  readonly evaluation?: EvalOutcome;
  /** Analysis warnings of this item (NaN, vanishing surrogate, memory over the profile). */
  readonly warnings: readonly Diagnostic[];
  readonly key: string;
  /** True when taken from the cache of an earlier version. */
  readonly reused: boolean;
}

export interface DocumentAnalysis {
  readonly uri: string;
  readonly version: number;
  readonly snapshot: Snapshot;
  readonly settings: EligoSettings;
  readonly items: readonly ItemResult[];
  /** Parser and checker diagnostics followed by the analysis warnings. */
  readonly diagnostics: readonly Diagnostic[];
  readonly stats: { readonly computed: number; readonly reused: number; readonly ms: number };
}

interface CacheEntry {
  /** Item start offset when computed: results are moved by the difference. */
  readonly start: number;
  readonly analysis: ItemAnalysis;
  readonly evaluation?: EvalOutcome;
  readonly warnings: readonly Diagnostic[];
}

interface DocState {
  timer?: NodeJS.Timeout;
  lastChange: number;
  running?: { version: number; promise: Promise<DocumentAnalysis | undefined> };
  done?: DocumentAnalysis;
  cache: Map<string, CacheEntry>;
}

/** Hooks the presenters attach: early diagnostics after checking, full ones after analysis. */
export interface AnalysisListener {
  compiled?(snapshot: Snapshot, diagnostics: readonly Diagnostic[]): void;
  analysed?(analysis: DocumentAnalysis): void;
}

/** Main-loop time an analysis may take before it lets requests in. */
const SLICE_MS = 8;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function shiftRange(r: Range, d: number): Range {
  return d === 0 ? r : { start: r.start + d, end: r.end + d };
}

function shiftDiagnostic(x: Diagnostic, d: number): Diagnostic {
  if (d === 0) return x;
  return { ...x, range: shiftRange(x.range, d), ...(x.related ? { related: x.related.map((r) => ({ ...r, range: shiftRange(r.range, d) })) } : {}) };
}

export class Analyzer {
  private readonly states = new Map<string, DocState>();
  private readonly listeners: AnalysisListener[] = [];
  /** Items computed (not reused) since start: for tests and the benchmark. */
  computedItems = 0;

  constructor(private readonly workspace: Workspace, private readonly settings: Settings) {}

  listen(l: AnalysisListener): void {
    this.listeners.push(l);
  }

  private state(uri: string): DocState {
    let s = this.states.get(uri);
    if (!s) this.states.set(uri, (s = { lastChange: -Infinity, cache: new Map() }));
    return s;
  }

  /** A document was opened or edited: analyse it, at once if it was quiet, else after the burst. */
  changed(uri: string): void {
    const s = this.state(uri);
    const now = performance.now();
    const quiet = now - s.lastChange >= this.settings.value.analysis.debounceMs;
    s.lastChange = now;
    if (s.timer) clearTimeout(s.timer);
    const fire = (): void => {
      s.timer = undefined;
      void this.ensure(uri);
    };
    s.timer = setTimeout(fire, quiet ? 0 : this.settings.value.analysis.debounceMs);
  }

  closed(uri: string): void {
    const s = this.states.get(uri);
    if (s?.timer) this.clear(s);
    this.states.delete(uri);
  }

  /**
   * Settings changed: analyse every document again. Cached items stay: their
   * keys hold the settings they depend on, so only those are recomputed.
   */
  invalidateAll(): void {
    for (const [uri, s] of this.states) {
      s.done = undefined;
      s.running = undefined;
      this.changed(uri);
    }
  }

  /** The last finished analysis, possibly of an older version. */
  latest(uri: string): DocumentAnalysis | undefined {
    return this.states.get(uri)?.done;
  }

  /** The analysis of the document's current version, computed now if needed (requests do not wait for the debounce). */
  async current(uri: string): Promise<DocumentAnalysis | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const version = this.workspace.version(uri);
      if (version === undefined) return undefined;
      const s = this.state(uri);
      if (s.done?.version === version) return s.done;
      const a = await this.ensure(uri);
      if (a && a.version === this.workspace.version(uri)) return a;
    }
    return this.states.get(uri)?.done;
  }

  private clear(s: DocState): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
  }

  /** Start (or join) the analysis of the current version. */
  private ensure(uri: string): Promise<DocumentAnalysis | undefined> {
    const version = this.workspace.version(uri);
    if (version === undefined) return Promise.resolve(undefined);
    const s = this.state(uri);
    if (s.done?.version === version) return Promise.resolve(s.done);
    if (s.running?.version === version) return s.running.promise;
    this.clear(s);
    const promise = this.run(uri).catch((e: unknown) => {
      console.error(`eligo: analysis of ${uri} failed: ${(e as Error).stack ?? String(e)}`);
      return undefined;
    });
    s.running = { version, promise };
    void promise.then(() => {
      if (s.running?.promise === promise) s.running = undefined;
    });
    return promise;
  }

  private async run(uri: string): Promise<DocumentAnalysis | undefined> {
    const snap = this.workspace.snapshot(uri);
    if (!snap) return undefined;
    const t0 = performance.now();
    const settings = this.settings.value;
    const s = this.state(uri);
    const c = snap.compiled;
    const keys = c.items.map((item) => itemKey(c, item, settings));
    const reusedWarnings: Diagnostic[] = [];
    keys.forEach((k, i) => {
      const hit = s.cache.get(k);
      if (hit) for (const w of hit.warnings) reusedWarnings.push(shiftDiagnostic(w, c.items[i]!.range.start - hit.start));
    });
    const early = [...c.diagnostics, ...reusedWarnings].sort((a, b) => a.range.start - b.range.start);
    for (const l of this.listeners) l.compiled?.(snap, early);

    const results: ItemResult[] = [];
    const cache = new Map<string, CacheEntry>();
    let computed = 0;
    let slice = performance.now();
    for (let i = 0; i < c.items.length; i++) {
      const item = c.items[i]!;
      const key = keys[i]!;
      const hit = s.cache.get(key) ?? cache.get(key);
      if (hit) {
        results.push(materialise(item, key, hit, true));
        cache.set(key, hit);
        continue;
      }
      if (performance.now() - slice > SLICE_MS) {
        await yieldToLoop();
        if (this.workspace.version(uri) !== snap.version) return undefined;
        slice = performance.now();
      }
      const entry = computeItem(c, item, settings);
      computed++;
      this.computedItems++;
      cache.set(key, entry);
      results.push(materialise(item, key, entry, false));
    }
    s.cache = cache;
    const warnings = results.flatMap((r) => r.warnings);
    const analysis: DocumentAnalysis = {
      uri, version: snap.version, snapshot: snap, settings, items: results,
      diagnostics: [...c.diagnostics, ...warnings].sort((a, b) => a.range.start - b.range.start),
      stats: { computed, reused: results.length - computed, ms: performance.now() - t0 },
    };
    if (this.workspace.version(uri) === snap.version) {
      s.done = analysis;
      for (const l of this.listeners) l.analysed?.(analysis);
    }
    return analysis;
  }
}

/** Everything an item's analysis depends on, hashed. */
export function itemKey(c: Compiled, item: NamedItem, settings: EligoSettings): string {
  const h = createHash('sha1');
  const text = c.text;
  h.update(`${item.kind}\0${item.hasErrors}\0${text.slice(item.range.start, item.range.end)}\0`);
  // File-level dims and consts are visible in every item.
  for (const it of c.checked.program.items) {
    if (it.kind === 'dim' || it.kind === 'const') h.update(`${text.slice(it.range.start, it.range.end)}\n`);
  }
  if (item.kind === 'function' || item.kind === 'grad') h.update(`\0eval ${evalComment(text, item.range.start) ?? ''}`);
  if (item.kind === 'model') h.update(`\0steps ${settings.analysis.steps}`);
  if (item.kind === 'rule' || item.kind === 'grad') {
    // A rule reads its model; a grad item its function.
    const scope = item.scope;
    const target = scope?.kind === 'rule' ? scope.model?.item : scope?.kind === 'grad' ? scope.of?.item : undefined;
    if (target) h.update(`\0of ${text.slice(target.range.start, target.range.end)}`);
  }
  h.update(`\0profile ${settings.hardwareProfile}`);
  return h.digest('base64');
}

function computeItem(c: Compiled, item: NamedItem, settings: EligoSettings): CacheEntry {
  let analysis: ItemAnalysis;
  try {
    analysis = analyzeItem(c, item);
  } catch (e) {
    analysis = { name: item.name, kind: item.kind, range: item.range, nameRange: item.nameRange, problem: { message: `analysis failed: ${(e as Error).message}` } };
  }
  const evaluation = item.kind !== 'rule' && !item.hasErrors ? evaluateItem(c, item, settings.analysis.steps) : undefined;
  return { start: item.range.start, analysis, ...(evaluation ? { evaluation } : {}), warnings: itemWarnings(c, item, analysis, evaluation, settings) };
}

function materialise(item: NamedItem, key: string, e: CacheEntry, reused: boolean): ItemResult {
  const d = item.range.start - e.start;
  const a = e.analysis;
  const analysis: ItemAnalysis = {
    ...a, range: item.range, nameRange: item.nameRange,
    ...(a.problem ? { problem: { message: a.problem.message, ...(a.problem.range ? { range: shiftRange(a.problem.range, d) } : {}) } } : {}),
  };
  const evaluation = e.evaluation && 'point' in e.evaluation ? { point: shiftEvalPoint(e.evaluation.point, d) } : e.evaluation;
  return { item, analysis, ...(evaluation ? { evaluation } : {}), warnings: e.warnings.map((w) => shiftDiagnostic(w, d)), key, reused };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2));

/** Analysis warnings: computed figures that say the model will not learn or will not fit. */
function itemWarnings(c: Compiled, item: NamedItem, a: ItemAnalysis, ev: EvalOutcome | undefined, settings: EligoSettings): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = (r: Range): string => {
    const s = c.text.slice(r.start, r.end).replace(/\s+/g, ' ');
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  };
  if (ev && 'point' in ev) {
    const p = ev.point;
    const nf = p.nonFinite;
    if (nf) {
      const ops = nf.operands.map((o) => (o.min === o.max ? fmt(o.min) : `[${fmt(o.min)}, ${fmt(o.max)}]`)).join(' and ');
      out.push({
        range: nf.range, severity: 'warning', code: 'eval.nan',
        message: `${src(nf.range)} is ${nf.kind} at the evaluation point${nf.step !== undefined ? ` (step ${nf.step} of ${p.steps})` : ''}: ${nf.op} of ${ops}`,
        data: { kind: nf.kind, op: nf.op, ...(nf.step !== undefined ? { step: nf.step } : {}) },
      });
    }
    for (const sp of p.spikes) {
      if (sp.maxRatio >= VANISHING_RATIO) continue;
      const param = 'slope' in sp.surrogate ? `slope = ${sp.surrogate.slope}` : `width = ${sp.surrogate.width}`;
      out.push({
        range: sp.range, severity: 'warning', code: 'spike.vanishing',
        message: `the surrogate ${sp.surrogate.kind}(${param}) makes gradients vanish at the evaluation point: ψ(x)/ψ(0) ≤ ${fmt(sp.maxRatio)} for every element${p.steps ? ` and step` : ''} (x in [${fmt(sp.input.min)}, ${fmt(sp.input.max)}]); widen the surrogate or move the threshold`,
        data: { maxRatio: sp.maxRatio, surrogate: sp.surrogate },
      });
    }
  }
  const limit = profileMemory(settings.hardwareProfile);
  if (a.costs && limit !== undefined) {
    const least = Math.min(...Object.values(a.costs).map((k) => k.peakMemoryBytes));
    if (least > limit) {
      out.push({
        range: item.nameRange, severity: 'warning', code: 'memory.profile',
        message: `'${item.name}' needs at least ${formatBytes(least)} for its Jacobian (best of forward, reverse, Markowitz), more than the ${formatBytes(limit)} of hardware profile '${settings.hardwareProfile}'`,
        data: { peakMemoryBytes: least, limitBytes: limit },
      });
    }
  }
  return out;
}
