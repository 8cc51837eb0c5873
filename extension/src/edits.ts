// Where "Find Learning Rule" puts the rule it found: pure text computation,
// tested without VS Code (test/extension-edits.test.ts). The command turns
// the result into a WorkspaceEdit, so the insertion is one undoable step.
//
// Placement: the rule goes right after the last rule for that model, or else
// right after the model itself, separated by one blank line. The plan is made
// against the document's text at the moment of insertion, which may have
// changed since the search began: a rule of the same name written since is
// never overwritten — the found rule goes in under a fresh name — and the same
// rule already in the text is not inserted twice.

export interface Pos {
  readonly line: number;
  readonly character: number;
}

export interface TextEditPlan {
  readonly range: { readonly start: Pos; readonly end: Pos };
  readonly newText: string;
  /** The rule's name as inserted (renamed when the found name is taken by now). */
  readonly name?: string;
  /** The same rule is in the text already: nothing to insert. */
  readonly present?: boolean;
}

interface Span {
  readonly kind: 'function' | 'model' | 'rule';
  readonly name: string;
  /** For rules: the model after `for`. */
  readonly target?: string;
  /** Offsets: start of the keyword, one past the closing brace. */
  readonly start: number;
  readonly end: number;
}

const ITEM_HEAD = /(^|\n)[ \t]*(function|model|rule)[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?:[ \t]+for[ \t]+([A-Za-z_][A-Za-z0-9_]*))?/g;

/**
 * Top-level items with their extents. A light scan (comments and brace depth
 * only), enough to place text between items; the language server does the
 * real parsing. An unclosed item extends to the end of the text.
 */
export function scanItems(text: string): Span[] {
  const items: Span[] = [];
  ITEM_HEAD.lastIndex = 0;
  let m: RegExpExecArray | null;
  let from = 0;
  while ((m = ITEM_HEAD.exec(text)) !== null) {
    const kwAt = text.indexOf(m[2]!, m.index + m[1]!.length);
    if (kwAt < from || inComment(text, kwAt)) continue;
    const open = nextCodeChar(text, m.index + m[0].length, '{');
    if (open < 0) continue;
    const end = matchBrace(text, open);
    items.push({ kind: m[2] as Span['kind'], name: m[3]!, ...(m[4] ? { target: m[4] } : {}), start: kwAt, end });
    from = end;
    ITEM_HEAD.lastIndex = end;
  }
  return items;
}

function inComment(text: string, at: number): boolean {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  return text.slice(lineStart, at).includes('#');
}

/** Offset of the next `ch` outside comments, or -1. */
function nextCodeChar(text: string, from: number, ch: string): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return -1;
      i = nl;
    } else if (c === ch) return i;
    else if (c === '\n' || c === ' ' || c === '\t' || c === '\r') continue;
    else if (ch === '{' && /[A-Za-z0-9_,:()[\]\s]/.test(c!)) continue; // parameter lists before `{`
  }
  return -1;
}

/** One past the brace that closes the one at `open` (comments skipped), or text.length. */
function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return text.length;
      i = nl;
    } else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** Zero-based line/character of an offset (UTF-16, as LSP and VS Code count). */
export function positionAt(text: string, offset: number): Pos {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, character: Math.min(offset, text.length) - lineStart };
}

/** `rule NAME for MODEL`: the name and model of a rule's text, if it has that head. */
export function ruleHead(ruleText: string): { name: string; model: string } | undefined {
  const m = /^\s*(?:#[^\n]*\n\s*)*rule[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+for[ \t]+([A-Za-z_][A-Za-z0-9_]*)/.exec(ruleText);
  return m ? { name: m[1]!, model: m[2]! } : undefined;
}

/**
 * The edit that puts `ruleText` into `text`: replaces the rule of the same
 * name for the same model, or inserts after the model's last rule (or the
 * model). Returns undefined when the model is not in the text.
 */
export function planRuleInsertion(text: string, ruleText: string, model?: string): TextEditPlan | undefined {
  const head = ruleHead(ruleText);
  const target = model ?? head?.model;
  if (!target) return undefined;
  let body = ruleText.trim();
  const items = scanItems(text);
  let name = head?.name;
  const same = head && items.find((i) => i.kind === 'rule' && i.name === head.name);
  if (same) {
    const at = positionAt(text, same.start);
    if (normalise(text.slice(same.start, same.end)) === normalise(body)) return { range: { start: at, end: at }, newText: '', name: head.name, present: true };
    // Taken since the search (the user's rule, or another found one): keep it, rename ours.
    const taken = new Set(items.map((i) => i.name));
    let k = 2;
    while (taken.has(`${head.name}_${k}`)) k++;
    name = `${head.name}_${k}`;
    body = body.replace(/(^|\n)([ \t]*rule[ \t]+)([A-Za-z_][A-Za-z0-9_]*)/, (_m, a: string, b: string) => `${a}${b}${name}`);
  }
  const modelItem = items.find((i) => i.kind === 'model' && i.name === target);
  if (!modelItem) return undefined;
  const after = items.filter((i) => i.kind === 'rule' && i.target === target && i.start > modelItem.start).reduce((a, i) => Math.max(a, i.end), modelItem.end);
  const at = positionAt(text, after);
  // One blank line before, and one before whatever follows on later lines.
  const rest = text.slice(after).replace(/\r/g, '');
  const trailing = rest === '' ? '\n' : rest.startsWith('\n\n') || rest.trim() === '' ? '' : rest.startsWith('\n') ? '\n' : '\n\n';
  return { range: { start: at, end: at }, newText: `\n\n${body}${trailing}`, ...(name !== undefined ? { name } : {}) };
}

/** Text compared for "the same rule": whitespace runs and comments do not count. */
function normalise(t: string): string {
  return t
    .replace(/#[^\n]*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Applies a plan to text (what VS Code will do); for tests and previews. */
export function applyPlan(text: string, plan: TextEditPlan): string {
  return text.slice(0, offsetAt(text, plan.range.start)) + plan.newText + text.slice(offsetAt(text, plan.range.end));
}

export interface ItemRef {
  readonly kind: 'function' | 'model' | 'rule';
  readonly name: string;
  /** For rules: the model it is for. */
  readonly target?: string;
}

/**
 * The item a command at `offset` is about: the one containing it, else the
 * last one before it, else the first function or model of the text.
 */
export function itemAt(text: string, offset: number): ItemRef | undefined {
  const items = scanItems(text);
  const ref = (s: Span): ItemRef => ({ kind: s.kind, name: s.name, ...(s.target ? { target: s.target } : {}) });
  const inside = items.find((i) => i.start <= offset && offset <= i.end);
  if (inside) return ref(inside);
  const before = items.filter((i) => i.end <= offset).at(-1);
  if (before) return ref(before);
  const first = items.find((i) => i.kind !== 'rule') ?? items[0];
  return first ? ref(first) : undefined;
}

/** The model a command should work on for an item: a rule's model, or the item itself. */
export function modelOf(ref: ItemRef): string {
  return ref.kind === 'rule' && ref.target ? ref.target : ref.name;
}

/** Rules for a model in the text, in order. */
export function rulesFor(text: string, model: string): string[] {
  return scanItems(text)
    .filter((i) => i.kind === 'rule' && i.target === model)
    .map((i) => i.name);
}

/** Offset of a line/character position (UTF-16). */
export function offsetAt(text: string, pos: Pos): number {
  let line = 0;
  let i = 0;
  while (line < pos.line && i < text.length) {
    if (text.charCodeAt(i) === 10) line++;
    i++;
  }
  const lineEnd = text.indexOf('\n', i);
  return Math.min(i + pos.character, lineEnd < 0 ? text.length : lineEnd);
}
