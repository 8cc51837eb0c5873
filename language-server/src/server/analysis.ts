// Incremental analysis of open documents.
//
// Parsing and checking run on the whole file (milliseconds, see
// bench/frontend.ts); the expensive part — each item's graph, elimination
// costs and evaluation point — is cached per item under a hash of the item's
// text and of everything else it depends on (file-level dims and consts, the
// `# @eval` comment, the model of a rule, the settings). An edit recomputes
// only the items it touched; the others are reused with their ranges moved.
// Typing is debounced: an isolated edit is analysed at once, a burst of edits
// once it pauses for `eligo.analysis.debounceMs`. The items are computed in
// the analysis worker (analysisWorker.ts), off the main loop; work on a
// version that a newer edit has made stale is abandoned.

import type { NamedItem } from '../compile.js';
import type { Diagnostic } from '../lang/ast.js';
import type { EligoSettings } from '../protocol.js';
import type { Snapshot, Workspace } from './documents.js';
import type { AnalysisRun, AnalysisWorker } from './analysisWorker.js';
import { documentDiagnostics, type ItemReport } from '../analysis/index.js';
import { itemKey, moveEntry, shiftDiagnostic, type ItemEntry } from '../analysis/itemAnalysis.js';
import { StaleRequest } from './context.js';
import { analyzeSettings, type Settings } from './settings.js';

/** An item as analyze() reports it, and whether it was taken from the cache of an earlier version. */
export type ItemResult = ItemReport & { readonly reused: boolean };

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

interface DocState {
  timer?: NodeJS.Timeout | undefined;
  lastChange: number;
  running?: { version: number; promise: Promise<DocumentAnalysis | undefined> } | undefined;
  done?: DocumentAnalysis | undefined;
  cache: Map<string, ItemEntry>;
  /** The worker run of the version being analysed. */
  work?: AnalysisRun | undefined;
}

/** Hooks the presenters attach: early diagnostics after checking, full ones after analysis. */
export interface AnalysisListener {
  compiled?(snapshot: Snapshot, diagnostics: readonly Diagnostic[]): void;
  analysed?(analysis: DocumentAnalysis): void;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Analyzer {
  private readonly states = new Map<string, DocState>();
  private readonly listeners: AnalysisListener[] = [];
  /** Items computed (not reused) since start: for tests and the benchmark. */
  computedItems = 0;

  constructor(
    private readonly workspace: Workspace,
    private readonly settings: Settings,
    readonly backend: AnalysisWorker,
  ) {}

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
    // Whatever is being computed is for an older text now.
    s.work?.abort();
    s.work = undefined;
    const fire = (): void => {
      s.timer = undefined;
      void this.ensure(uri);
    };
    s.timer = setTimeout(fire, quiet ? 0 : this.settings.value.analysis.debounceMs);
  }

  closed(uri: string): void {
    const s = this.states.get(uri);
    if (s?.timer) this.clear(s);
    s?.work?.abort();
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
      s.work?.abort();
      s.work = undefined;
      this.changed(uri);
    }
  }

  /** The last finished analysis, possibly of an older version. */
  latest(uri: string): DocumentAnalysis | undefined {
    return this.states.get(uri)?.done;
  }

  /**
   * The analysis of the document's current version, computed now if needed
   * (requests do not wait for the debounce). With `asked`, the version the
   * request was made for: once a newer edit replaces it the request is stale
   * (StaleRequest) instead of chasing every later version.
   */
  async current(uri: string, asked?: number): Promise<DocumentAnalysis | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const version = this.workspace.version(uri);
      if (version === undefined) return undefined;
      if (asked !== undefined && version !== asked) throw new StaleRequest(uri);
      const s = this.state(uri);
      if (s.done?.version === version) return s.done;
      const a = await this.ensure(uri);
      if (a && a.version === this.workspace.version(uri)) return a;
      if (asked !== undefined && this.workspace.version(uri) !== asked) throw new StaleRequest(uri);
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
    const as = analyzeSettings(settings);
    const s = this.state(uri);
    const c = snap.compiled;
    const keys = c.items.map((item) => itemKey(c, item, as));
    const reusedWarnings: Diagnostic[] = [];
    keys.forEach((k, i) => {
      const hit = s.cache.get(k);
      if (hit) for (const w of hit.warnings) reusedWarnings.push(shiftDiagnostic(w, c.items[i]!.range.start - hit.start));
    });
    const early = [...c.diagnostics, ...reusedWarnings].sort((a, b) => a.range.start - b.range.start);
    for (const l of this.listeners) l.compiled?.(snap, early);

    // Let the early diagnostics go out before anything else runs.
    await yieldToLoop();
    if (this.workspace.version(uri) !== snap.version) return undefined;
    const missing: { index: number; key: string }[] = [];
    const asked = new Set<string>();
    keys.forEach((key, index) => {
      if (!s.cache.has(key) && !asked.has(key)) {
        asked.add(key);
        missing.push({ index, key });
      }
    });
    let computed = 0;
    if (missing.length > 0) {
      const work = this.backend.analyze(snap.text, as, missing, (key, entry) => {
        s.cache.set(key, entry);
        computed++;
        this.computedItems++;
      });
      s.work = work;
      await work.done;
      if (s.work === work) s.work = undefined;
      if (this.workspace.version(uri) !== snap.version || missing.some((m) => !s.cache.has(m.key))) return undefined;
    }
    const results: ItemResult[] = [];
    const cache = new Map<string, ItemEntry>();
    c.items.forEach((item, i) => {
      const key = keys[i]!;
      const entry = s.cache.get(key)!;
      cache.set(key, entry);
      results.push(materialise(item, key, entry, !asked.has(key)));
    });
    s.cache = cache;
    const warnings = results.flatMap((r) => r.warnings);
    const analysis: DocumentAnalysis = {
      uri,
      version: snap.version,
      snapshot: snap,
      settings,
      items: results,
      diagnostics: documentDiagnostics(c, warnings),
      stats: { computed, reused: results.length - computed, ms: performance.now() - t0 },
    };
    if (this.workspace.version(uri) === snap.version) {
      s.done = analysis;
      for (const l of this.listeners) l.analysed?.(analysis);
    }
    return analysis;
  }
}

function materialise(item: NamedItem, key: string, e: ItemEntry, reused: boolean): ItemResult {
  return { item, ...moveEntry(e, item), key, reused };
}
