import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULTS, needsRestart, objectGetter, OBJECTIVES, parseConfig, serverSettings } from '../extension/src/config.js';
import { RestartPolicy } from '../extension/src/restart.js';
import { PROFILE_IDS } from '../language-server/src/rules/profiles.js';
import { DEFAULTS as SERVER_DEFAULTS, normalizeSettings } from '../language-server/src/server/settings.js';

type SettingSchema = { default?: unknown; enum?: unknown[]; description?: string; markdownDescription?: string };
// The manifest's shape as far as these tests read it.
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { contributes: { configuration: { properties: Record<string, SettingSchema> } } };
const props = manifest.contributes.configuration.properties;

describe('extension: settings', () => {
  it('an empty configuration gives the defaults', () => {
    assert.deepEqual(
      parseConfig(() => undefined),
      DEFAULTS,
    );
  });

  it('reads valid values and replaces invalid ones by their defaults', () => {
    const c = parseConfig(
      objectGetter({
        analysis: { steps: 25, debounceMs: -3 },
        objective: 'memory',
        hardwareProfile: 'loihi9',
        search: { budgetSeconds: '5' },
        train: { learningRate: 0.5, seed: 1.5 },
      }),
    );
    assert.equal(c.analysis.steps, 25);
    assert.equal(c.analysis.debounceMs, DEFAULTS.analysis.debounceMs);
    assert.equal(c.objective, 'memory');
    // Passed on as written: the server knows the profiles and says when one is unknown (settings.hardware-profile).
    assert.equal(c.hardwareProfile, 'loihi9');
    assert.equal(c.search.budgetSeconds, DEFAULTS.search.budgetSeconds);
    assert.equal(c.train.learningRate, 0.5);
    assert.equal(c.train.seed, DEFAULTS.train.seed);
  });

  it('T must be a whole number of steps between 1 and 1000', () => {
    for (const bad of [0, -1, 2.5, 1001, NaN, '10', null])
      assert.equal(parseConfig(objectGetter({ analysis: { steps: bad } })).analysis.steps, 10, String(bad));
    assert.equal(parseConfig(objectGetter({ analysis: { steps: 1000 } })).analysis.steps, 1000);
  });

  it('the server gets the settings without the extension-only keys', () => {
    const s = serverSettings(parseConfig(objectGetter({ server: { execArgv: ['--max-old-space-size=4096'] } })));
    assert.equal('server' in s, false);
    assert.equal(s.analysis.steps, 10);
  });

  it('only a change of the server process arguments needs a restart', () => {
    const a = parseConfig(() => undefined);
    assert.equal(needsRestart(a, parseConfig(objectGetter({ analysis: { steps: 3 } }))), false);
    assert.equal(needsRestart(a, parseConfig(objectGetter({ server: { execArgv: ['--inspect'] } }))), true);
  });

  it('package.json declares every setting with a description, and the same defaults', () => {
    const expect: Record<string, unknown> = {
      'eligo.analysis.steps': DEFAULTS.analysis.steps,
      'eligo.analysis.debounceMs': DEFAULTS.analysis.debounceMs,
      'eligo.objective': DEFAULTS.objective,
      'eligo.hardwareProfile': DEFAULTS.hardwareProfile,
      'eligo.search.budgetSeconds': DEFAULTS.search.budgetSeconds,
      'eligo.train.task': DEFAULTS.train.task,
      'eligo.train.steps': DEFAULTS.train.steps,
      'eligo.train.epochs': DEFAULTS.train.epochs,
      'eligo.train.learningRate': DEFAULTS.train.learningRate,
      'eligo.train.batchSize': DEFAULTS.train.batchSize,
      'eligo.train.seed': DEFAULTS.train.seed,
    };
    for (const [k, v] of Object.entries(expect)) {
      assert.ok(props[k], `${k} is declared`);
      assert.deepEqual(props[k].default, v, `${k} default`);
    }
    for (const [k, p] of Object.entries(props)) assert.ok(p.description ?? p.markdownDescription, `${k} has a description`);
    assert.deepEqual(props['eligo.objective']!.enum, [...OBJECTIVES]);
    assert.deepEqual(props['eligo.hardwareProfile']!.enum, [...PROFILE_IDS]);
  });
});

describe('extension: settings agree with the server', () => {
  it('the extension and the server have the same defaults', () => {
    assert.deepEqual(serverSettings(DEFAULTS), SERVER_DEFAULTS);
  });

  it('every profile the server knows is offered, and the server reads what the extension sends', () => {
    // Every name the manifest offers is one the server keeps (it used to fall back to 'laptop' for three of them).
    for (const name of props['eligo.hardwareProfile']!.enum as string[]) assert.equal(normalizeSettings({ hardwareProfile: name }).hardwareProfile, name);
    const sent = serverSettings(parseConfig(objectGetter({ analysis: { steps: 40 }, objective: 'memory', search: { budgetSeconds: 5 } })));
    assert.deepEqual(normalizeSettings(sent), sent);
  });
});

describe('extension: restarting a dying server', () => {
  it('restarts up to four times in three minutes, then stays down', () => {
    const p = new RestartPolicy(4, 180_000);
    const t = 1_000_000;
    for (let i = 0; i < 4; i++) assert.equal(p.onClosed(t + i * 1000).restart, true);
    const fifth = p.onClosed(t + 5000);
    assert.equal(fifth.restart, false);
    assert.match(fifth.message, /Restart Server/);
  });

  it('forgets deaths older than the window, and after a deliberate restart', () => {
    const p = new RestartPolicy(1, 60_000);
    assert.equal(p.onClosed(0).restart, true);
    assert.equal(p.onClosed(61_000).restart, true);
    assert.equal(p.onClosed(62_000).restart, false);
    p.reset();
    assert.equal(p.onClosed(63_000).restart, true);
  });
});
