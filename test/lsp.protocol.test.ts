// The protocol is a contract (issue 12, item 1): every custom request is sent
// to the real server with every field its schema names, and the job's result
// says what it ran with (`run`) — so a field the server dropped on the way
// (as `rule`, `batch` and the hardware profile were) fails here. Fields the
// schema does not name are refused with JSON-RPC's InvalidParams, naming them;
// job kinds are looked up in a Map; budgets are clamped; a failure's stack goes
// to the log, never to the client.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FindLearningRuleParamsSchema, GraphParamsSchema, SearchParamsSchema, TrainParamsSchema,
  type FindLearningRuleParams, type GraphParams, type GraphResult, type JobResult, type LearningRuleResult, type SearchParams, type SearchResult,
  type TrainParams, type TrainResult,
} from '../language-server/src/protocol.js';
import { JOB_CATALOG } from '../language-server/src/jobs/catalog.js';
import { JOB_KINDS } from '../language-server/src/jobs/kinds.js';
import { settingsProblems } from '../language-server/src/server/settings.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');
const uri = 'file:///protocol/lif.eligo';

/** The keys a strict schema names: the test below sends each of them. */
function keysOf(schema: { shape: Record<string, unknown> }): string[] {
  return Object.keys(schema.shape).filter((k) => k !== 'partialResultToken').sort();
}

describe('language server: the protocol is a contract', function () {
  this.timeout(120000);
  let client: LspClient;

  before(async () => {
    buildServer();
    client = await LspClient.start();
    await client.open(uri, LIF);
    await client.settledDiagnostics(uri);
  });

  after(async () => {
    await client?.stop();
  });

  it('eligo/train with every field: trains with the rule asked for (e-prop, online) and ran with every value sent', async () => {
    const params: Required<Omit<TrainParams, 'partialResultToken' | 'dataUri' | 'epochs'>> = {
      uri, item: 'lif', workDoneToken: 'train-contract', task: 'correlated:T=10,train=32,test=16', steps: 2, learningRate: 0.004, batchSize: 4, seed: 7, rule: 'eprop',
    };
    // dataUri and epochs are sent in the tests of trust and of epochs below; every other field here.
    assert.deepEqual([...Object.keys(params), 'dataUri', 'epochs'].sort(), keysOf(TrainParamsSchema));
    const r = await client.request<JobResult<TrainResult>>('eligo/train', params);
    assert.equal(r.status, 'done', JSON.stringify(r).slice(0, 400));
    assert.equal(r.result!.rule, 'eprop');
    assert.equal(r.result!.method, 'online');
    assert.equal(r.result!.steps, 2);
    assert.match(r.result!.task, /^correlated\(T=10/);
    assert.deepEqual(r.result!.run, { task: params.task, steps: 2, learningRate: 0.004, batchSize: 4, seed: 7, rule: 'eprop' });
    // The work-done progress went to the token the client gave.
    assert.ok(client.notifications.some((n) => n.method === '$/progress' && (n.params as { token: string }).token === 'train-contract'));
  });

  it('eligo/train with epochs instead of steps runs that many passes (steps are not defaulted over them)', async () => {
    const r = await client.request<JobResult<TrainResult>>('eligo/train', { uri, item: 'lif', task: 'correlated:T=10,train=8,test=8', epochs: 1, batchSize: 4, seed: 1 });
    assert.equal(r.status, 'done', JSON.stringify(r).slice(0, 400));
    assert.equal(r.result!.rule, 'bptt');
    assert.equal(r.result!.run!.steps, undefined);
    assert.equal(r.result!.run!.epochs, 1);
    // 8 training samples in batches of 4: one epoch is 2 updates.
    assert.equal(r.result!.steps, 2);
  });

  it('eligo/train refuses a rule the file does not have, naming the rules it has for the model', async () => {
    const r = await client.request<JobResult<TrainResult>>('eligo/train', { uri, item: 'lif', rule: 'nope', steps: 1 });
    assert.equal(r.status, 'refused');
    assert.equal(r.message, "no rule named 'nope' for model 'lif' in the file (it has 'eprop', 'bptt'; without a rule the exact gradient, BPTT, is used)");
  });

  it('eligo/findLearningRule with every field: the hardware profile picked is the one the rules were checked against', async () => {
    const params: Required<Omit<FindLearningRuleParams, 'partialResultToken'>> = {
      uri, item: 'lif', workDoneToken: 'find-contract', objective: 'memory', budgetSeconds: 3, seed: 5, hardwareProfile: 'spinnaker2', samples: 1, steps: 6,
      // No task: the alignment-only front (training the candidates would take the budget); batch and rate are then unused but echoed.
      task: '', batchSize: 4, learningRate: 0.01, evaluations: 6,
    };
    assert.deepEqual(Object.keys(params).sort(), keysOf(FindLearningRuleParamsSchema));
    const r = await client.request<JobResult<LearningRuleResult>>('eligo/findLearningRule', params);
    assert.ok(r.status === 'done' || r.status === 'budget', JSON.stringify(r).slice(0, 400));
    assert.deepEqual(r.result!.run, { objective: 'memory', seed: 5, samples: 1, steps: 6, hardwareProfile: 'spinnaker2', task: '', batchSize: 4, learningRate: 0.01, evaluations: 6 });
    // The search stopped at the evaluations asked for.
    assert.ok(r.result!.evaluated! <= 6, String(r.result!.evaluated));
    const front = r.result!.front;
    assert.ok(front.length > 0);
    // Checked against the chip: every candidate says whether it fits (only fitting ones are on the front).
    for (const c of front) assert.equal(c.fits, true, JSON.stringify(c));
    // Ordered by the objective asked for: least memory first.
    for (let i = 1; i < front.length; i++) assert.ok(front[i - 1]!.memoryBytes! <= front[i]!.memoryBytes!, JSON.stringify(front.map((c) => c.memoryBytes)));
  });

  it('eligo/findLearningRule refuses an unknown hardware profile instead of falling back', async () => {
    const r = await client.request<JobResult<LearningRuleResult>>('eligo/findLearningRule', { uri, item: 'lif', hardwareProfile: 'loihi3', budgetSeconds: 1 });
    assert.equal(r.status, 'refused');
    assert.match(r.message!, /^unknown hardware profile 'loihi3' \(did you mean 'loihi2'\?\); known: laptop, gpu-16g, microcontroller, neuromorphic-core, loihi2, spinnaker2, brainscales2/);
  });

  it('eligo/search with every field: the objective, strategy, seed and memory limit are the ones it ran with', async () => {
    const params: Required<Omit<SearchParams, 'partialResultToken'>> = {
      uri, item: 'lif', workDoneToken: 'search-contract', objective: 'memory', budgetSeconds: 1, strategy: 'heuristics', seed: 11, limitBytes: 1e9, evaluations: 50,
    };
    assert.deepEqual(Object.keys(params).sort(), keysOf(SearchParamsSchema));
    const r = await client.request<JobResult<SearchResult>>('eligo/search', params);
    assert.ok(r.status === 'done' || r.status === 'budget', JSON.stringify(r).slice(0, 400));
    assert.deepEqual(r.result!.run, { objective: 'memory', strategy: 'heuristics', seed: 11, limitBytes: 1e9, evaluations: 50 });
    assert.match(r.result!.objective!, /memory/);
  });

  it('eligo/graph with every field: unrolled, collapsed, the given order offered', async () => {
    type Traced = GraphResult & { layout: { elimination?: { orders: { id: string; order: number[]; totals: { multiplications: number } }[] } } };
    const step = await client.request<Traced>('eligo/graph', { uri, item: 'lif' });
    // The reverse order, given by hand: the view steps through it as 'given', with reverse's cost.
    const reverse = step.layout.elimination!.orders.find((o) => o.id === 'reverse')!;
    const order = [...reverse.order];
    const params: Required<GraphParams> = { uri, item: 'lif', collapsed: true, expand: [], collapseGroups: [], unroll: 2, order };
    assert.deepEqual(Object.keys(params).sort(), keysOf(GraphParamsSchema));
    const unrolled = await client.request<GraphResult>('eligo/graph', params);
    assert.equal(unrolled.graph.kind, 'model-unrolled');
    assert.ok(unrolled.graph.vertices.length > step.graph.vertices.length);
    const given = await client.request<Traced>('eligo/graph', { uri, item: 'lif', order });
    assert.equal(given.layout.elimination!.orders.find((o) => o.id === 'given')?.totals.multiplications, reverse.totals.multiplications);
  });

  it('refuses a field the contract does not name with InvalidParams, naming it (no silent drop)', async () => {
    await assert.rejects(client.request('eligo/train', { uri, item: 'lif', rule: 'eprop', batch: 8 }), (e: Error & { code?: number }) => {
      assert.equal(e.code, -32602);
      assert.equal(e.message, "eligo/train: the parameters: unknown field 'batch'");
      return true;
    });
    await assert.rejects(client.request('eligo/findLearningRule', { uri, item: 'lif', hardware: 'loihi2' }), /unknown field 'hardware'/);
    await assert.rejects(client.request('eligo/search', { uri, budgetSeconds: -1 }), /'budgetSeconds': Too small/);
    await assert.rejects(client.request('eligo/graph', { uri: 42 }), /'uri': Invalid input: expected string, received number/);
    await assert.rejects(client.request('eligo/analysisStats', {}), /'uri'/);
    // The server is still here.
    assert.ok(await client.request('eligo/analysisStats', { uri }));
  });

  it('looks job kinds up in a Map: __proto__ and constructor are unknown kinds, and the catalog names exactly the worker\'s kinds', async () => {
    assert.deepEqual([...JOB_CATALOG.keys()].sort(), [...JOB_KINDS.keys()].sort());
    for (const kind of ['__proto__', 'constructor', 'toString']) {
      const r = await client.request<JobResult<unknown>>('eligo/runJob', { kind });
      assert.equal(r.status, 'unavailable', kind);
      assert.equal(r.message, `unknown job kind '${kind}' (known: probe, search, findLearningRule, train)`);
    }
  });

  it('clamps a budget that would overflow a timer: budgetSeconds 1e7 does not end the job at once', async () => {
    const r = await client.request<JobResult<{ iterations: number }>>('eligo/runJob', { kind: 'probe', params: { seconds: 0.3 }, budgetSeconds: 1e7 });
    assert.equal(r.status, 'done', JSON.stringify(r));
    assert.ok(r.elapsedMs >= 250, `${r.elapsedMs} ms`);
  });

  it('a failed job answers one line; its stack goes to the log', async () => {
    client.logs.length = 0;
    const r = await client.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 5, fail: true } });
    assert.equal(r.status, 'failed');
    assert.equal(r.message, 'probe failed on purpose after 1 slice');
    assert.doesNotMatch(JSON.stringify(r), /\n\s+at /);
    assert.ok(client.logs.some((l) => /probe job \d+ failed: Error: probe failed on purpose[^]*\n\s+at /.test(l)), client.logs.join('\n'));
  });
});

describe('language server: hardware profiles from one registry', function () {
  this.timeout(60000);
  before(() => buildServer());

  it('an unknown eligo.hardwareProfile is a diagnostic on the setting (with did-you-mean), not a silent fallback', async () => {
    const client = await LspClient.start({ settings: { hardwareProfile: 'gpu-32g' }, initializationOptions: { settings: { hardwareProfile: 'gpu-32g' } } });
    try {
      await client.open(uri, LIF);
      const d = (await client.settledDiagnostics(uri)).find((x) => x.code === 'settings.hardware-profile');
      assert.ok(d, 'no settings diagnostic');
      assert.equal(d.message, "setting eligo.hardwareProfile: unknown hardware profile 'gpu-32g' (did you mean 'gpu-16g'?); known: laptop, gpu-16g, microcontroller, neuromorphic-core, loihi2, spinnaker2, brainscales2, or a size such as '192 KiB'; using 'laptop'");
      assert.deepEqual(d.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
      // Jobs run with (and say) the profile the server used.
      const r = await client.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 0 } });
      assert.equal(r.settings.hardwareProfile, 'laptop');
    } finally {
      await client.stop();
    }
  });

  it('the profiles the settings offer are the server\'s: microcontroller limits the Jacobian to 256 KiB (memory.profile)', async () => {
    const client = await LspClient.start({ settings: { hardwareProfile: 'microcontroller' }, initializationOptions: { settings: { hardwareProfile: 'microcontroller' } } });
    try {
      await client.open(uri, readFileSync(join(ROOT, 'examples', 'alif.eligo'), 'utf8'));
      const d = (await client.settledDiagnostics(uri)).find((x) => x.code === 'memory.profile');
      assert.ok(d, 'no memory.profile warning');
      assert.match(String(d.message), /more than the 256 KiB of hardware profile 'microcontroller'/);
    } finally {
      await client.stop();
    }
  });
});

describe('language server: eligo.queue.redis that is not a Redis URL', function () {
  this.timeout(60000);
  before(() => buildServer());
  const SECRET = 'hunter2';

  it('settingsProblems says why, for every way a URL can be wrong, and never shows the password', () => {
    const bad: [unknown, RegExp][] = [
      [`redis://:${SECRET}@gpu1:99999`, /not a Redis URL: 'redis:\/\/\*\*\*@gpu1:99999'/],
      [`redis://:pa/${SECRET}@gpu1:6379`, /not a Redis URL: 'redis:\/\/\*\*\*@gpu1:6379'/],
      [`redis://:${SECRET}@x@gpu1:99999`, /not a Redis URL: 'redis:\/\/\*\*\*@gpu1:99999'/],
      [`http://:${SECRET}@gpu1:6379`, /starts with redis:\/\/ or rediss:\/\/, not http:\/\//],
      [`redis://:${SECRET}@gpu1:6379/42`, /redis:\/\/:\*\*\*@gpu1:6379\/42 names database '42'/],
      // On its own it may be a password pasted into the wrong field: hidden entirely.
      [`${SECRET}`, /not a Redis URL: '\*\*\*'/],
      [`redis://gpu1:99999`, /not a Redis URL: 'redis:\/\/gpu1:99999'/],
      [6379, /a Redis URL is a string such as redis:\/\/HOST:PORT, got number/],
    ];
    for (const [value, why] of bad) {
      for (const raw of [{ queue: { redis: value } }, { 'queue.redis': value }]) {
        const p = settingsProblems(raw).filter((q) => q.code === 'settings.queue-redis');
        assert.equal(p.length, 1, JSON.stringify(raw));
        assert.match(p[0]!.message, /^setting eligo\.queue\.redis: /);
        assert.match(p[0]!.message, why);
        assert.match(p[0]!.message, /Find Learning Rule and Search run in this process, not on the job queue$/);
        assert.ok(!p[0]!.message.includes(SECRET), p[0]!.message);
      }
    }
    for (const ok of [undefined, '', '  ', 'redis://127.0.0.1:6379', `redis://:${SECRET}@gpu1:6380/2`, 'rediss://user:pw@host']) {
      assert.deepEqual(settingsProblems({ queue: { redis: ok } }), [], String(ok));
    }
  });

  it('is a setting diagnostic in every open document, without the password, and goes when the URL is fixed', async () => {
    const bad = `redis://:${SECRET}@gpu1:99999`;
    const client = await LspClient.start({ settings: { queue: { redis: bad } }, initializationOptions: { settings: { queue: { redis: bad } } } });
    try {
      await client.open(uri, LIF);
      const d = (await client.settledDiagnostics(uri)).find((x) => x.code === 'settings.queue-redis');
      assert.ok(d, 'no settings diagnostic');
      assert.equal(d.message, "setting eligo.queue.redis: not a Redis URL: 'redis://***@gpu1:99999' (expected redis://HOST:PORT or redis://:PASSWORD@HOST:PORT); Find Learning Rule and Search run in this process, not on the job queue");
      assert.deepEqual(d.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
      // A job's settings do not carry the unusable URL (no queue), and nothing the server sent holds the password.
      const r = await client.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 0 } });
      assert.equal((r.settings as { queue?: unknown }).queue, undefined);
      client.settings = { queue: { redis: '' } };
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
      let diags = await client.settledDiagnostics(uri);
      for (let i = 0; i < 100 && diags.some((x) => x.code === 'settings.queue-redis'); i++) {
        await new Promise((res) => setTimeout(res, 50));
        diags = await client.settledDiagnostics(uri);
      }
      assert.ok(!diags.some((x) => x.code === 'settings.queue-redis'), JSON.stringify(diags));
      assert.ok(!JSON.stringify([client.published, client.notifications, client.logs, r]).includes(SECRET), 'the password reached the client');
    } finally {
      await client.stop();
    }
  });
});
