// Writing a found order back into the model file as a rule,
//
//   rule NAME for ITEM {
//     schedule order [vl, pl, _17, …]
//   }
//
// and reading it again: the names are names.ts's stable vertex names, so the
// order round-trips to the same vertex ids. A rule's `objective` and `limit`
// lines (LANGUAGE.md §3) give a search its defaults.

import type { Compiled } from '../compile.js';
import type { RuleItem, ScheduleStmt } from '../lang/ast.js';
import { memoryUnit } from '../lang/check.js';
import type { Graph } from '../graph/types.js';
import { orderFromNames } from './names.js';
import type { ObjectiveSpec } from './objective.js';

/** The rule items of a file that are for `itemName`, in source order. */
export function rulesFor(c: Compiled, itemName: string): RuleItem[] {
  const out: RuleItem[] = [];
  for (const it of c.items) {
    if (it.kind !== 'rule') continue;
    const scope = c.checked.items.get(it.name);
    if (scope?.kind === 'rule' && scope.item.model.name === itemName) out.push(scope.item);
  }
  return out;
}

function ruleNamed(c: Compiled, name: string): RuleItem | undefined {
  const scope = c.checked.items.get(name);
  return scope?.kind === 'rule' ? scope.item : undefined;
}

/** The objective and memory limit a rule states, if any. */
export function ruleObjective(rule: RuleItem): { objective?: ObjectiveSpec['kind']; limitBytes?: number } {
  const out: { objective?: ObjectiveSpec['kind']; limitBytes?: number } = {};
  for (const s of rule.body) {
    if (s.kind === 'objective' && ['multiplications', 'memory', 'time'].includes(s.objective.name)) out.objective = s.objective.name as ObjectiveSpec['kind'];
    if (s.kind === 'limit' && s.what.name === 'memory') {
      const unit = s.unit ? memoryUnit(s.unit.name) : 1;
      if (unit !== undefined && s.value > 0) out.limitBytes = s.value * unit;
    }
  }
  return out;
}

/** The `schedule order [...]` statement text, wrapped to about `width` columns. */
export function scheduleText(names: readonly string[], indent = '  ', width = 100): string {
  const head = `${indent}schedule order [`;
  const lines: string[] = [];
  let line = head;
  names.forEach((n, k) => {
    const piece = `${n}${k < names.length - 1 ? ',' : ''}`;
    if (line.length + piece.length + 1 > width && line !== head) {
      lines.push(line.trimEnd());
      line = `${indent}  `;
    }
    line += `${piece} `;
  });
  lines.push(`${line.trimEnd()}]`);
  return lines.join('\n');
}

/**
 * The file text with rule `ruleName` scheduling `names`: an existing rule of
 * that name gets its schedule replaced (or added), keeping its other lines;
 * otherwise a new rule is appended.
 */
export function writeRule(c: Compiled, ruleName: string, itemName: string, names: readonly string[]): string {
  const text = c.text;
  const existing = ruleNamed(c, ruleName);
  if (!existing) {
    const sep = text.length === 0 || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    return `${text}${sep}rule ${ruleName} for ${itemName} {\n${scheduleText(names)}\n}\n`;
  }
  if (existing.model.name !== itemName) {
    throw new Error(`rule '${ruleName}' is for '${existing.model.name}', not '${itemName}'; choose another rule name`);
  }
  const sched = existing.body.find((s): s is ScheduleStmt => s.kind === 'schedule');
  if (sched) {
    const lineStart = text.lastIndexOf('\n', sched.range.start - 1) + 1;
    const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
    return text.slice(0, lineStart) + scheduleText(names, indent) + text.slice(sched.range.end);
  }
  const close = text.lastIndexOf('}', existing.range.end - 1);
  if (close < existing.range.start) throw new Error(`rule '${ruleName}' has no closing brace`);
  const before = text.slice(0, close).replace(/[ \t]*$/, '');
  return `${before}${before.endsWith('\n') ? '' : '\n'}${scheduleText(names)}\n${text.slice(close)}`;
}

/** The vertex ids a rule's `schedule order [...]` names, for `graph`; null when the rule has no explicit order. */
export function ruleOrder(c: Compiled, ruleName: string, graph: Graph): number[] | null {
  const rule = ruleNamed(c, ruleName);
  if (!rule) throw new Error(`no rule named '${ruleName}'`);
  const sched = rule.body.find((s): s is ScheduleStmt => s.kind === 'schedule');
  if (!sched || sched.schedule.kind !== 'order') return null;
  return orderFromNames(
    graph,
    sched.schedule.order.map((i) => i.name),
  );
}
