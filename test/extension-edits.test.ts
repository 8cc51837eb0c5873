import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyPlan, itemAt, modelOf, offsetAt, planRuleInsertion, positionAt, ruleHead, rulesFor, scanItems } from '../extension/src/edits.js';

const LIF = readFileSync('examples/lif.eligo', 'utf8');

const SMALL = `# two items
function f(a, b: [3]) {
  let s = sin(a)   # { not a brace that counts
  return s
}

model m {
  state u: [2] = 0
  u[t+1] = 0.5 * u
}
`;

const RULE = `rule sparse for m {
  approximate d(u[t+1])/d(u) = diagonal
  schedule online
}`;

describe('extension: finding items in the text', () => {
  it('scans functions, models and rules with their extents, ignoring braces in comments', () => {
    const items = scanItems(SMALL);
    assert.deepEqual(
      items.map((i) => [i.kind, i.name]),
      [
        ['function', 'f'],
        ['model', 'm'],
      ],
    );
    assert.equal(SMALL.slice(items[0]!.start, items[0]!.end).split('\n').at(-1), '}');
    assert.ok(SMALL.slice(items[1]!.start, items[1]!.end).startsWith('model m {'));
  });

  it('reads rule targets in the LIF example', () => {
    const rules = scanItems(LIF).filter((i) => i.kind === 'rule');
    assert.deepEqual(
      rules.map((r) => [r.name, r.target]),
      [
        ['eprop', 'lif'],
        ['bptt', 'lif'],
      ],
    );
    assert.deepEqual(rulesFor(LIF, 'lif'), ['eprop', 'bptt']);
  });

  it('the item at the cursor is the one containing it, else the one before, else the first', () => {
    assert.deepEqual(itemAt(SMALL, SMALL.indexOf('0.5')), { kind: 'model', name: 'm' });
    assert.deepEqual(itemAt(SMALL, SMALL.indexOf('let s')), { kind: 'function', name: 'f' });
    assert.deepEqual(itemAt(SMALL, SMALL.indexOf('model m') - 1), { kind: 'function', name: 'f' });
    assert.deepEqual(itemAt(SMALL, 0), { kind: 'function', name: 'f' });
    assert.equal(itemAt('# nothing here\n', 3), undefined);
  });

  it('a command on a rule works on its model', () => {
    const ref = itemAt(LIF, LIF.indexOf('schedule online'))!;
    assert.deepEqual(ref, { kind: 'rule', name: 'eprop', target: 'lif' });
    assert.equal(modelOf(ref), 'lif');
  });

  it('positions and offsets are inverse, in UTF-16 units', () => {
    const text = 'a\nβγ x\n\nlast';
    for (let o = 0; o <= text.length; o++) assert.equal(offsetAt(text, positionAt(text, o)), o);
    assert.deepEqual(positionAt(text, text.indexOf('x')), { line: 1, character: 3 });
  });
});

describe('extension: inserting a found rule', () => {
  it('reads the rule head', () => {
    assert.deepEqual(ruleHead(RULE), { name: 'sparse', model: 'm' });
    assert.deepEqual(ruleHead(`# found by search\nrule r1 for lif {\n}`), { name: 'r1', model: 'lif' });
    assert.equal(ruleHead('approximate d(u)/d(z) = 0'), undefined);
  });

  it('puts a new rule after the model, one blank line apart', () => {
    const plan = planRuleInsertion(SMALL, RULE)!;
    const after = applyPlan(SMALL, plan);
    assert.ok(after.includes(`  u[t+1] = 0.5 * u\n}\n\n${RULE}\n`), after);
    assert.deepEqual(
      scanItems(after).map((i) => i.name),
      ['f', 'm', 'sparse'],
    );
  });

  it('puts a new rule after the last rule of the model, not between its rules', () => {
    const rule = RULE.replace('sparse for m', 'sparse for lif');
    const after = applyPlan(LIF, planRuleInsertion(LIF, rule)!);
    assert.deepEqual(rulesFor(after, 'lif'), ['eprop', 'bptt', 'sparse']);
    assert.ok(after.endsWith(`${rule}\n`));
  });

  it('never overwrites a rule of the same name written since the search: the found one goes in under a fresh name', () => {
    const first = applyPlan(SMALL, planRuleInsertion(SMALL, RULE)!);
    // The user edited the inserted rule (or wrote their own 'sparse') while a new search ran.
    const edited = first.replace('= diagonal', '= 0');
    const plan = planRuleInsertion(edited, RULE)!;
    assert.equal(plan.name, 'sparse_2');
    const second = applyPlan(edited, plan);
    assert.deepEqual(rulesFor(second, 'm'), ['sparse', 'sparse_2']);
    assert.ok(second.includes('rule sparse for m {\n  approximate d(u[t+1])/d(u) = 0\n'), second);
    assert.ok(second.includes('rule sparse_2 for m {\n  approximate d(u[t+1])/d(u) = diagonal\n'), second);
  });

  it('inserts nothing when the same rule is in the text already (clicked twice)', () => {
    const first = applyPlan(SMALL, planRuleInsertion(SMALL, RULE)!);
    const again = planRuleInsertion(first, RULE)!;
    assert.equal(again.present, true);
    assert.equal(applyPlan(first, again), first);
  });

  it('plans against the text at insertion: lines added above the model since the search move the insertion with them', () => {
    const grown = `# a comment added while the search ran\nfunction g(x) {\n  return x\n}\n\n${SMALL}`;
    const after = applyPlan(grown, planRuleInsertion(grown, RULE)!);
    assert.ok(after.includes(`  u[t+1] = 0.5 * u\n}\n\n${RULE}\n`), after);
    assert.deepEqual(
      scanItems(after).map((i) => i.name),
      ['g', 'f', 'm', 'sparse'],
    );
  });

  it('uses the given model for a rule text without a head, and refuses an unknown model', () => {
    assert.ok(planRuleInsertion(SMALL, RULE, 'm'));
    assert.equal(planRuleInsertion(SMALL, RULE.replace('for m', 'for nope')), undefined);
    assert.equal(planRuleInsertion(SMALL, 'schedule online'), undefined);
  });

  it('inserts into a model that ends the file without a newline', () => {
    const text = 'model m {\n  state u = 0\n  u[t+1] = u\n}';
    const after = applyPlan(text, planRuleInsertion(text, RULE)!);
    assert.equal(after, `${text}\n\n${RULE}\n`);
  });
});
