// Open documents and their compiled form, one per version: every feature of
// a request reads the same Snapshot, compiled at most once per version.

import { TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { compile, type Compiled, type NamedItem } from '../compile.js';
import type { Range } from '../lang/ast.js';
import type { LineIndex, LspRange, Position } from '../lang/source.js';

export class Snapshot {
  private compiledValue: Compiled | undefined;

  constructor(
    readonly uri: string,
    readonly version: number,
    readonly text: string,
  ) {}

  /** Parser + checker result for this version (computed on first use). */
  get compiled(): Compiled {
    this.compiledValue ??= compile(this.text);
    return this.compiledValue;
  }

  get lines(): LineIndex {
    return this.compiled.lines;
  }

  range(r: Range): LspRange {
    return this.lines.rangeToLsp(r);
  }

  offset(p: Position): number {
    return this.lines.offsetAt(p);
  }

  /** The item (function, model, rule, grad) that contains `offset`, if any. */
  itemAt(offset: number): NamedItem | undefined {
    return this.compiled.items.find((i) => i.range.start <= offset && offset <= i.range.end);
  }

  /** An item by name, else the first function or model. */
  item(name: string | undefined): NamedItem | undefined {
    const items = this.compiled.items;
    if (name !== undefined) return items.find((i) => i.name === name);
    return items.find((i) => i.kind === 'function' || i.kind === 'model');
  }
}

export class Workspace {
  readonly documents = new TextDocuments(TextDocument);
  private readonly snapshots = new Map<string, Snapshot>();

  /** The snapshot of the open document's current version. */
  snapshot(uri: string): Snapshot | undefined {
    const doc = this.documents.get(uri);
    if (!doc) {
      this.snapshots.delete(uri);
      return undefined;
    }
    const cached = this.snapshots.get(uri);
    if (cached && cached.version === doc.version) return cached;
    const snap = new Snapshot(uri, doc.version, doc.getText());
    this.snapshots.set(uri, snap);
    return snap;
  }

  version(uri: string): number | undefined {
    return this.documents.get(uri)?.version;
  }

  forget(uri: string): void {
    this.snapshots.delete(uri);
  }
}
