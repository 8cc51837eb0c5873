// Offsets ↔ line/character positions. The AST stores only offsets (cheap to
// build on every keystroke); editors and the CLI ask for positions here.
// Characters are UTF-16 code units, as in LSP's default position encoding.
// Line breaks are `\n`, `\r\n` and a lone `\r`, as in VS Code.

import type { Range } from './ast.js';

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface LspRange {
  readonly start: Position;
  readonly end: Position;
}

export class LineIndex {
  /** Offset of the first character of each line; lineStarts[0] === 0. */
  private readonly lineStarts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      } else if (c === 10 /* \n */) {
        starts.push(i + 1);
      }
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** Offset → position; offsets outside the text are clamped to it. */
  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    // Last line whose start is <= o.
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.lineStarts[lo]! };
  }

  /** Position → offset; a line past the end or a character past the line's text is clamped. */
  offsetAt(pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.lineStarts.length) return this.text.length;
    const start = this.lineStarts[pos.line]!;
    return Math.max(start, Math.min(start + pos.character, this.lineEnd(pos.line)));
  }

  /** Offset just past the last character of `line`, before its line break. */
  lineEnd(line: number): number {
    let end = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1]! : this.text.length;
    if (end > this.lineStarts[line]! && this.text.charCodeAt(end - 1) === 10) end--;
    if (end > this.lineStarts[line]! && this.text.charCodeAt(end - 1) === 13) end--;
    return end;
  }

  rangeToLsp(range: Range): LspRange {
    return { start: this.positionAt(range.start), end: this.positionAt(range.end) };
  }

  lspToRange(range: LspRange): Range {
    return { start: this.offsetAt(range.start), end: this.offsetAt(range.end) };
  }
}
