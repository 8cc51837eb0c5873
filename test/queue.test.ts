// The job queue: BullMQ on a real redis-server (loopback, free port, private
// directory), real `eligo worker` processes on the bundled CLI. Runs through
// the queue equal the local runs; a worker SIGKILLed mid-task, a Redis
// restart, a Redis gone for good, a bad payload, a cancel and a password are
// each handled as docs/scale-out.md says. Everything started is stopped.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { parseRedisUrl, QUEUE_PREFIX, TASK_QUEUE } from '../language-server/src/jobs/queue/connection.js';
import { QueueExecutor } from '../language-server/src/jobs/queue/executor.js';
import { InProcessExecutor, TaskFailed, type TaskExecutor } from '../language-server/src/jobs/queue/kind.js';
import { candidateBase, queuedMeasurer, queuedSearchRunner } from '../language-server/src/jobs/queue/runs.js';
import { probeTask, ruleCandidateTask, ruleSpecOf, searchRestartTask } from '../language-server/src/jobs/queue/tasks.js';
import { decodeWire, encodeWire } from '../language-server/src/jobs/queue/wire.js';
import { MAX_TEXT_CHARS, ruleCandidatePayloadSchema, searchRestartPayloadSchema, type RuleCandidatePayload } from '../language-server/src/jobs/schemas.js';
import { FindLearningRuleParamsSchema, SearchParamsSchema } from '../language-server/src/protocol.js';
import { discoverRules } from '../language-server/src/discovery/find.js';
import { alignCandidate, candidateSetup, type AlignmentSource } from '../language-server/src/rules/candidate.js';
import { findLearningRule } from '../language-server/src/rules/find.js';
import { modelContext } from '../language-server/src/rules/model.js';
import { LOIHI2 } from '../language-server/src/rules/hardware.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { search } from '../language-server/src/search/search.js';
import { statusView } from '../extension/src/jobs.js';
import { LspClient } from './helpers/lspClient.js';
import { eligo, startRedis, startWorker, stopAll, type RedisServer, type Spawned } from './helpers/redis.js';

const LIF = readFileSync('examples/lif.eligo', 'utf8');
const ROEFLUX = readFileSync('examples/roeflux_1d.eligo', 'utf8');

describe('job queue: payloads, URLs and the in-process executor', () => {
  it('sends Infinity, NaN and typed arrays through JSON bit for bit', () => {
    const v = {
      a: Infinity,
      b: -Infinity,
      c: NaN,
      d: 0.1 + 0.2,
      f: Float32Array.of(1.5, -0, 3e-39),
      g: Float64Array.of(Math.PI, 1e-310),
      i: Int32Array.of(-7, 2 ** 31 - 1),
      u: Uint8Array.of(0, 255),
      n: [1, null, 'x'],
    };
    const back = decodeWire(JSON.parse(JSON.stringify(encodeWire(v)))) as typeof v;
    assert.equal(back.a, Infinity);
    assert.equal(back.b, -Infinity);
    assert.ok(Number.isNaN(back.c));
    assert.equal(back.d, 0.1 + 0.2);
    assert.ok(back.f instanceof Float32Array && back.g instanceof Float64Array && back.i instanceof Int32Array && back.u instanceof Uint8Array);
    assert.deepEqual([...back.f], [...v.f]);
    assert.ok(Object.is(back.f[1], -0));
    assert.deepEqual([...back.g], [...v.g]);
    assert.deepEqual([...back.i], [...v.i]);
    assert.deepEqual([...back.u], [...v.u]);
    assert.deepEqual(back.n, [1, null, 'x']);
    assert.throws(() => encodeWire({ m: new Map() }), /Map/);
  });

  it('reads a Redis URL with its password and shows it hidden', () => {
    const c = parseRedisUrl('redis://:s3cr%40t@10.0.0.5:6380/2');
    assert.equal(c.shown, 'redis://:***@10.0.0.5:6380/2');
    assert.equal(c.options.password, 's3cr@t');
    assert.equal(c.options.port, 6380);
    assert.equal(c.options.db, 2);
    assert.equal(parseRedisUrl('rediss://user:pw@host').shown, 'rediss://user:***@host');
    assert.ok(parseRedisUrl('rediss://host').options.tls);
    assert.throws(() => parseRedisUrl('http://:pw@host'), /redis:\/\/ or rediss:\/\//);
    assert.throws(
      () => parseRedisUrl('redis://:topsecret@host/99'),
      (e: Error) => /database '99'/.test(e.message) && !e.message.includes('topsecret'),
    );
    assert.throws(
      () => parseRedisUrl(':topsecret@nonsense'),
      (e: Error) => !e.message.includes('topsecret'),
    );
  });

  it('refuses a payload with a key its schema does not know, or a model text over 16 MiB', () => {
    const ok = {
      text: LIF,
      model: 'lif',
      steps: 10,
      samples: 1,
      seed: 1,
      maxBytes: 1e8,
      spec: { name: null, model: 'lif', approximations: [], schedule: { kind: 'reverse' }, objectives: [] },
    };
    assert.ok(ruleCandidatePayloadSchema.safeParse(ok).success);
    const extra = ruleCandidatePayloadSchema.safeParse({ ...ok, dataPath: '/etc/passwd' });
    assert.ok(!extra.success && /dataPath/.test(extra.error.message));
    const big = ruleCandidatePayloadSchema.safeParse({ ...ok, text: 'x'.repeat(MAX_TEXT_CHARS + 1) });
    assert.ok(!big.success && /16 MiB/.test(big.error.message));
  });

  it("validates a payload's run parameters with the LSP protocol's schema: what the editor may ask, a worker accepts, and no more", () => {
    const candidate = {
      text: LIF,
      model: 'lif',
      steps: 10,
      samples: 1,
      seed: 1,
      maxBytes: 1e8,
      spec: { name: null, model: 'lif', approximations: [], schedule: { kind: 'reverse' }, objectives: [] },
    };
    const restart = {
      text: ROEFLUX,
      item: 'roeflux_1d',
      objective: { kind: 'multiplications' },
      plan: [{ kind: 'anneal', until: 1 }],
      seed: 1,
      budgetMs: 1000,
      agent: { kind: 'shipped' },
      train: false,
    };
    assert.ok(searchRestartPayloadSchema.safeParse(restart).success);
    // Each value on either side of a bound: the LSP request and the queue payload agree on every one.
    const cases: [
      string,
      number,
      typeof FindLearningRuleParamsSchema | typeof SearchParamsSchema,
      typeof ruleCandidatePayloadSchema | typeof searchRestartPayloadSchema,
      object,
    ][] = [];
    for (const v of [0, 1, 100, 101, 1.5]) cases.push(['samples', v, FindLearningRuleParamsSchema, ruleCandidatePayloadSchema, candidate]);
    for (const v of [0, 1, 1_000_000, 1_000_001]) cases.push(['steps', v, FindLearningRuleParamsSchema, ruleCandidatePayloadSchema, candidate]);
    for (const v of [-1, 0, 2 ** 32, 2 ** 32 + 1, 0.5]) {
      cases.push(['seed', v, FindLearningRuleParamsSchema, ruleCandidatePayloadSchema, candidate]);
      cases.push(['seed', v, SearchParamsSchema, searchRestartPayloadSchema, restart]);
    }
    for (const v of [0, 1, 1e12, 1e12 + 1]) cases.push(['evaluations', v, SearchParamsSchema, searchRestartPayloadSchema, restart]);
    let refused = 0;
    for (const [field, v, lsp, payload, base] of cases) {
      const asked = lsp.safeParse({ uri: 'file:///m.eligo', [field]: v }).success;
      assert.equal(payload.safeParse({ ...base, [field]: v }).success, asked, `${field} = ${v}`);
      if (!asked) refused++;
    }
    assert.ok(refused >= 10, `${refused} of ${cases.length} values refused`);
    // A payload must carry the run's parameters the client defaulted; the request may leave them out.
    const { seed: _seed, ...unseeded } = restart;
    assert.ok(!searchRestartPayloadSchema.safeParse(unseeded).success);
    assert.ok(SearchParamsSchema.safeParse({ uri: 'file:///m.eligo' }).success);
  });

  it('find-rule measured through the executor interface equals find-rule measured inline', async function () {
    this.timeout(60_000);
    const ctx = modelContext(compile(LIF), 'lif');
    const base = { steps: 20, samples: 1, seed: 3, budgetMs: 60_000, maxEvaluations: 6 };
    const inline = await findLearningRule(ctx, base);
    const x = new InProcessExecutor();
    const queued = await findLearningRule(ctx, {
      ...base,
      measure: queuedMeasurer(x, { text: LIF, model: 'lif', steps: 20, samples: 1, seed: 3, maxBytes: 512 * 1024 ** 2 }, { label: 'test' }),
    });
    assert.equal(queued.evaluated.length, 6);
    assert.deepEqual(
      queued.evaluated.map((c) => [c.ruleName, c.alignment.cosine, c.cost.multiplicationsPerStep]),
      inline.evaluated.map((c) => [c.ruleName, c.alignment.cosine, c.cost.multiplicationsPerStep]),
    );
    assert.deepEqual(
      queued.front.map((c) => c.text),
      inline.front.map((c) => c.text),
    );
  });

  it("find-rule with a task: the task's sequences along the reference run go to the measurer as data, and the result equals the local one", async function () {
    this.timeout(60_000);
    const ctx = modelContext(compile(LIF), 'lif');
    const base = { task: 'correlated:T=20', referenceUpdates: 4, rungs: 0, steps: 20, samples: 2, seed: 4, budgetMs: 120_000, maxEvaluations: 5 };
    const local = await discoverRules(ctx, base);
    const sources: AlignmentSource[] = [];
    const payloads: unknown[] = [];
    const x = new InProcessExecutor();
    const queued = await discoverRules(ctx, {
      ...base,
      measurer: (source) => {
        sources.push(source);
        const b = candidateBase({ text: LIF, model: 'lif', maxBytes: 512 * 1024 ** 2, seed: 4 }, source);
        payloads.push(b);
        return queuedMeasurer(x, b, { label: 'test' });
      },
    });
    assert.equal(sources.length, 1);
    assert.equal(sources[0]!.kind, 'given');
    // Three parameter points (0, half and all of the reference run), the task's two sequences with their loss weights.
    const b = payloads[0] as { sets: { at: { label: string }[]; sequences: { lossWeights?: Float64Array }[] } };
    assert.deepEqual(
      b.sets.at.map((a) => a.label),
      ['initial', '50 %', 'trained'],
    );
    assert.equal(b.sets.sequences.length, 2);
    assert.ok(b.sets.sequences.every((q) => q.lossWeights instanceof Float64Array));
    // What a worker receives: through the wire encoding and the schema, bit for bit.
    const wired = ruleCandidatePayloadSchema.safeParse(
      decodeWire(
        JSON.parse(JSON.stringify(encodeWire({ ...b, spec: { name: null, model: 'lif', approximations: [], schedule: { kind: 'reverse' }, objectives: [] } }))),
      ),
    );
    assert.ok(wired.success, wired.success ? '' : wired.error.message);
    assert.equal(queued.evaluated.length, 5);
    const along = (r: typeof local): unknown =>
      r.evaluated.map((c) => [c.ruleName, c.alignmentAlong.map((a) => [a.label, a.alignment.cosine, a.alignment.relativeError]), c.alignmentMean]);
    assert.deepEqual(along(queued), along(local));
    assert.deepEqual(
      queued.front.map((c) => c.text),
      local.front.map((c) => c.text),
    );
  });

  it('a search whose restarts run through the executor interface equals the search in threads', async function () {
    this.timeout(60_000);
    const c = compile(ROEFLUX);
    const graph = graphOf(c, findItem(c, 'roeflux_1d', ['function']));
    const opts = { method: 'anneal' as const, budgetMs: 30_000, maxEvaluations: 800, seed: 5, threads: 2, restarts: 3, measure: false };
    const threads = await search(graph, opts);
    const queued = await search(graph, {
      ...opts,
      runJobs: queuedSearchRunner(new InProcessExecutor(), { text: ROEFLUX, item: 'roeflux_1d' }, { label: 'test' }),
    });
    assert.equal(threads.threads, 3);
    assert.deepEqual(queued.best.order, threads.best.order);
    assert.equal(queued.best.multiplications, threads.best.multiplications);
    assert.equal(queued.evaluations, threads.evaluations);
    assert.equal(queued.stoppedBy, 'evaluations');
  });

  it('the status bar says how many workers the queue has, or why it cannot be reached', () => {
    const ok = statusView('wasm', 'running', [], 0, { url: 'redis://:***@gpu1:6379', workers: 3, slots: 12, names: ['gpu1:1', 'gpu2:7', 'gpu3:9'] });
    assert.equal(ok.text, '$(circuit-board) Eligo: wasm · $(server-environment) 3 workers');
    assert.match(ok.tooltip, /Job queue redis:\/\/:\*\*\*@gpu1:6379: 3 workers connected, 12 tasks at a time: gpu1:1, gpu2:7, gpu3:9/);
    const down = statusView('wasm', 'running', [], 0, { url: 'redis://gpu1:6379', workers: 0, slots: 0, error: 'connect ECONNREFUSED' });
    assert.match(down.text, /queue$/);
    assert.match(down.tooltip, /ECONNREFUSED/);
    assert.equal(statusView('wasm', 'running', []).text, '$(circuit-board) Eligo: wasm');
  });

  it('fails a task whose payload is invalid with the reason, in-process as on a worker', async () => {
    const x = new InProcessExecutor();
    await assert.rejects(
      x.map(searchRestartTask, [{ text: ROEFLUX, item: 'not a name' } as never]),
      (e: Error) => e instanceof TaskFailed && /item: expected a name/.test(e.message),
    );
  });

  it('measures the rule a payload names or refuses it: a top(k) pattern that does not fit, an argument a kind does not take, a kind where it cannot apply', async () => {
    const x = new InProcessExecutor();
    const base = { text: LIF, model: 'lif', steps: 10, samples: 1, seed: 1, maxBytes: 1e8 };
    const spec = (a: object, schedule = 'online'): object => ({
      name: 'r',
      model: 'lif',
      approximations: [{ of: 'u', wrt: 'z', wrtOffset: 0, ...a }],
      schedule: { kind: schedule },
      objectives: [],
    });
    const refused = async (s: object, why: RegExp): Promise<void> => {
      await assert.rejects(x.map(ruleCandidateTask, [{ ...base, spec: s } as never]), (e: Error) => e instanceof TaskFailed && why.test(e.message), why.source);
    };
    // 64 rows of u[t+1]/z: two entries each, not two in all; nor a column twice.
    await refused(spec({ kind: 'top', args: { k: 2 }, mask: [0, 1] }), /top\(2\) of .*the given pattern is not 2 ascending columns in each of its 64 rows/);
    await refused(
      spec({ kind: 'top', args: { k: 1 }, mask: Array.from({ length: 64 }, (_, r) => (r === 5 ? 64 * 4 : 64 * r)) }),
      /the given pattern is not 1 ascending columns/,
    );
    await refused(spec({ kind: 'top', args: { k: 2, scale: 1 } }), /args\.scale: 'top' has no argument 'scale'/);
    await refused(spec({ kind: 'random', args: { scale: 0 } }), /'scale' of 'random' must be a number > 0/);
    await refused(spec({ kind: 'diagonal', mask: [0] }), /a pattern is for top\(k\), not 'diagonal'/);
    await refused(spec({ kind: 'local' }), /rule r for lif: .*output state/);
    await refused(spec({ kind: 'top', args: { k: 2 } }, 'reverse'), /'top' needs 'schedule online'/);
    await refused({ ...spec({ kind: 'zero' }), quantize: { bits: 40, rounding: 'nearest', seed: 0 } }, /quantize\.bits/);
    // A valid pattern is measured as given.
    const ok = await x.map(ruleCandidateTask, [
      { ...base, spec: spec({ kind: 'top', args: { k: 1 }, mask: Array.from({ length: 64 }, (_, r) => 64 * r + r) }) } as never,
    ]);
    assert.ok(ok.results[0]![0]!.cosine > 0);
  });
});

describe('job queue: BullMQ on a real redis-server with eligo worker processes', function () {
  this.timeout(180_000);
  let redis: RedisServer;
  const workers: Spawned[] = [];

  before(async function () {
    this.timeout(120_000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    redis = await startRedis({ appendonly: true });
  });

  afterEach(() => {
    for (const w of workers.splice(0)) w.process.kill('SIGKILL');
  });

  after(async () => {
    await stopAll();
  });

  const FIND = ['find-rule', 'examples/lif.eligo', '--model', 'lif', '--steps', '40', '--samples', '1', '--evaluations', '8', '--budget', '300s', '--json'];
  let localFront: unknown;

  it('find-rule on two workers equals the local run, with one worker SIGKILLed in the middle of a task', async () => {
    const local = eligo(FIND);
    const a = await startWorker(redis.url, 'wa');
    const b = await startWorker(redis.url, 'wb');
    workers.push(a, b);
    const run = eligo([...FIND, '--redis', redis.url]);
    // wa's first task includes the run's setup (samples, tapes, exact gradients): killed there, it dies mid-task.
    const line = await a.out.waitFor(/▶ rule-candidate \d+\/8/);
    a.process.kill('SIGKILL');
    await a.exit;
    const k = /▶ rule-candidate (\d+)\/8/.exec(line)![1]!;
    assert.ok(!a.out.lines.some((l) => l.includes(`✓ rule-candidate ${k}/8`)), 'wa finished its task before it was killed');
    assert.equal(await run.exit, 0, run.err.text);
    assert.equal(await local.exit, 0, local.err.text);
    localFront = JSON.parse(local.out.text);
    assert.deepEqual(JSON.parse(run.out.text), localFront);
    // The killed task was detected as stalled and run again on wb; every task counted once.
    assert.ok(
      b.out.lines.some((l) => new RegExp(`▶ rule-candidate ${k}/8 .*\\(again: .*stalled 1×\\)`).test(l)),
      b.out.text,
    );
    const done = b.out.lines.filter((l) => /✓ rule-candidate/.test(l)).length + a.out.lines.filter((l) => /✓ rule-candidate/.test(l)).length;
    assert.equal(done, 8);
  });

  it('find-rule --task on two workers equals the local run: alignment along the reference run measured on the workers, training here', async () => {
    const TASKED = [
      'find-rule',
      'examples/lif.eligo',
      '--model',
      'lif',
      '--task',
      'correlated:T=20',
      '--samples',
      '1',
      '--evaluations',
      '6',
      '--reference-updates',
      '4',
      '--max-trained',
      '2',
      '--rungs',
      '1',
      '--min-updates',
      '2',
      '--budget',
      '300s',
      '--json',
    ];
    const local = eligo(TASKED);
    const a = await startWorker(redis.url, 'wa');
    const b = await startWorker(redis.url, 'wb');
    workers.push(a, b);
    const run = eligo([...TASKED, '--redis', redis.url]);
    assert.equal(await run.exit, 0, run.err.text);
    assert.equal(await local.exit, 0, local.err.text);
    const q = JSON.parse(run.out.text) as { trained: number; frontBasis: string };
    assert.equal(q.trained, 2);
    assert.equal(q.frontBasis, 'accuracy');
    assert.deepEqual(q, JSON.parse(local.out.text));
    const ran = [...a.out.lines, ...b.out.lines].filter((l) => /✓ rule-candidate \d+\/6/.test(l));
    assert.equal(ran.length, 6);
    assert.ok([...a.out.lines, ...b.out.lines].some((l) => /▶ rule-candidate .* at 3 parameter points/.test(l)));
  });

  it('find-rule with the new kinds on a worker equals the local run: filters, random feedback, truncation, top(k) with its pattern chosen here, quantised traces', async () => {
    const text = resizeModel(LIF, 'lif', { n: 10, n_in: 4 });
    const ctx = modelContext(compile(text), 'lif');
    // The known rules and every known rule with a variant (16 on this LIF under Loihi 2's 7-bit traces).
    const opts = { budgetMs: 300_000, steps: 12, samples: 2, seed: 3, hardware: LOIHI2, maxEvaluations: 16 };
    const local = await findLearningRule(ctx, opts);
    const w = await startWorker(redis.url, 'wk');
    workers.push(w);
    const q = await QueueExecutor.connect({ url: redis.url });
    const sent: RuleCandidatePayload[] = [];
    const spy: TaskExecutor = {
      description: q.description,
      parallelism: q.parallelism,
      close: () => q.close(),
      map: (kind, payloads, o) => {
        sent.push(...(payloads as unknown as RuleCandidatePayload[]));
        return q.map(kind, payloads, o);
      },
    };
    let queued;
    try {
      const base = candidateBase({ text, model: 'lif', maxBytes: 512 * 1024 ** 2, seed: 3 }, { kind: 'random', steps: 12, samples: 2, seed: 3 });
      queued = await findLearningRule(ctx, { ...opts, measure: queuedMeasurer(spy, base, { label: 'kinds' }) });
    } finally {
      await q.close();
    }
    const names = queued.evaluated.map((c) => c.known);
    for (const n of ['e-prop (factored filters)', 'random e-prop', 'truncated BPTT (3 steps)', 'SnAp-2 (top-k)', 'e-prop (7-bit traces)'])
      assert.ok(names.includes(n), `${n} among ${names.join(', ')}`);
    const along = (r: typeof local): unknown => r.evaluated.map((c) => [c.ruleName, c.text, c.alignmentAlong.map((a) => a.alignment), c.cost]);
    assert.deepEqual(along(queued), along(local));
    assert.deepEqual(
      queued.front.map((c) => c.text),
      local.front.map((c) => c.text),
    );
    // Every rule went to the worker; SnAp-2's pattern (one entry per row of u[t+1]/z) was chosen here and sent with it.
    assert.equal(sent.length, 16);
    assert.equal(w.out.lines.filter((l) => /✓ rule-candidate \d+\/16/.test(l)).length, 16);
    const snap = local.evaluated.find((c) => c.known === 'SnAp-2 (top-k)')!;
    const mask = snap.spec.approximations.find((a) => a.kind === 'top')!.mask!;
    assert.equal(mask.length, 10);
    assert.ok(mask.every((i, r) => Math.floor(i / 10) === r));
    const payload = sent.find((p) => p.spec.name === snap.ruleName)!;
    assert.deepEqual(payload.spec.approximations.find((a) => a.kind === 'top')!.mask, [...mask]);
    assert.ok(sent.some((p) => p.spec.quantize?.bits === 7 && p.spec.quantize.rounding === 'stochastic'));
    assert.ok(sent.some((p) => p.spec.truncate === 3));
  });

  it('rules with every new kind and their arguments measured on a worker equal the same rules measured here, bit for bit (layer-local e-prop included)', async () => {
    const lif = resizeModel(LIF, 'lif', { n: 8, n_in: 3 });
    const two = resizeModel(readFileSync('examples/two_layer.eligo', 'utf8'), 'two_layer', { n1: 6, n2: 5, n_in: 4 });
    const A = (of: string, wrt: string, kind: string, args?: Record<string, number>, wrtOffset: 0 | 1 = 0) => ({
      of,
      wrt,
      wrtOffset,
      kind,
      ...(args ? { args } : {}),
    });
    const spec = (model: string, approximations: object[], schedule: 'online' | 'reverse', extra: object = {}) => ({
      name: 'r',
      model,
      approximations,
      schedule: { kind: schedule },
      objectives: [],
      ...extra,
    });
    const cases: [string, string, ReturnType<typeof spec>][] = [
      [lif, 'lif', spec('lif', [A('u', 'z', 'zero'), A('u', 'u', 'filter')], 'online', { quantize: { bits: 6, rounding: 'nearest', seed: 0 } })],
      [lif, 'lif', spec('lif', [A('u', 'z', 'zero'), A('loss', 'z', 'random', { scale: 0.3, seed: 7 }, 1)], 'online')],
      [lif, 'lif', spec('lif', [A('u', 'z', 'top', { k: 2 })], 'online', { quantize: { bits: 8, rounding: 'stochastic', seed: 5 } })],
      [lif, 'lif', spec('lif', [], 'reverse', { truncate: 4 })],
      [two, 'two_layer', spec('two_layer', [A('I2', 'S1_delay2', 'local', { scale: 0.5, seed: 2 })], 'online')],
    ];
    const w = await startWorker(redis.url, 'wk');
    workers.push(w);
    const q = await QueueExecutor.connect({ url: redis.url });
    try {
      for (const [text, model, s] of cases) {
        const here = candidateSetup(modelContext(compile(text), model), { steps: 10, samples: 2, seed: 4, maxBytes: 512 * 1024 ** 2 });
        const want = alignCandidate(here, ruleSpecOf(s as RuleCandidatePayload['spec']));
        const base = candidateBase({ text, model, maxBytes: 512 * 1024 ** 2, seed: 4 }, { kind: 'random', steps: 10, samples: 2, seed: 4 });
        const got = await q.map(ruleCandidateTask, [{ ...base, spec: s } as RuleCandidatePayload]);
        assert.deepEqual(got.results[0], want, JSON.stringify(s));
        assert.ok(
          want.every((a) => a.cosine < 1 - 1e-9),
          `${JSON.stringify(s)}: an approximation`,
        );
      }
    } finally {
      await q.close();
    }
  });

  it('search restarts on two workers equal the local run, with one worker SIGKILLed in the middle of a restart', async () => {
    const SEARCH = [
      'search',
      'examples/roeflux_1d.eligo',
      '--method',
      'anneal',
      '--evaluations',
      '3000',
      '--restarts',
      '4',
      '--seed',
      '3',
      '--budget',
      '300s',
      '--json',
    ];
    const local = eligo(SEARCH);
    const a = await startWorker(redis.url, 'wa');
    const b = await startWorker(redis.url, 'wb');
    workers.push(a, b);
    const run = eligo([...SEARCH, '--redis', redis.url]);
    const line = await a.out.waitFor(/▶ search-restart \d+\/4/);
    a.process.kill('SIGKILL');
    await a.exit;
    const k = /▶ search-restart (\d+)\/4/.exec(line)![1]!;
    assert.equal(await run.exit, 0, run.err.text);
    assert.equal(await local.exit, 0, local.err.text);
    type Best = { best: { order: number[]; multiplications: number; method: string } };
    const q = JSON.parse(run.out.text) as Best;
    const l = JSON.parse(local.out.text) as Best;
    assert.deepEqual(q.best.order, l.best.order);
    assert.equal(q.best.multiplications, l.best.multiplications);
    assert.equal(q.best.method, l.best.method);
    // Every restart finished once (the killed one on wb only).
    assert.equal([...a.out.lines, ...b.out.lines].filter((x) => /✓ search-restart/.test(x)).length, 4);
    assert.ok(
      b.out.lines.some((x) => new RegExp(`▶ search-restart ${k}/4 .*again`).test(x)),
      b.out.text,
    );
  });

  it('npm run train-agent with self-play rounds on two workers learns exactly what the local run learns', async () => {
    const a = await startWorker(redis.url, 'wa');
    const b = await startWorker(redis.url, 'wb');
    workers.push(a, b);
    const dir = mkdtempSync(join(tmpdir(), 'eligo-agent-'));
    const train = (out: string, extra: string[]): Promise<number | null> => {
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/train-agent.ts', '--episodes', '4', '--parallel', '2', '--sims', '4', '--seed', '2', '--out', join(dir, out), ...extra],
        { stdio: 'ignore' },
      );
      return new Promise((r) => p.once('exit', r));
    };
    const [lc, qc] = await Promise.all([train('local.json', []), train('queue.json', ['--redis', redis.url])]);
    assert.equal(lc, 0);
    assert.equal(qc, 0);
    type Saved = { training: { samples: number; steps: number; history: { ratio: number; policyLoss: number; valueLoss: number }[] }; tensors: unknown };
    const read = (f: string): Saved => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Saved;
    const l = read('local.json');
    const q = read('queue.json');
    assert.ok(l.training.samples > 0);
    assert.equal(q.training.samples, l.training.samples);
    assert.equal(q.training.steps, l.training.steps);
    // The losses after the last step and the held-out ratio depend on every sample and every weight update.
    assert.deepEqual(
      q.training.history.map((h) => [h.ratio, h.policyLoss, h.valueLoss]),
      l.training.history.map((h) => [h.ratio, h.policyLoss, h.valueLoss]),
    );
    assert.deepEqual(q.tensors, l.tensors);
    assert.equal([...a.out.lines, ...b.out.lines].filter((x) => /✓ selfplay-episodes/.test(x)).length, 4);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a run goes on through a Redis restart: the workers and the client reconnect and the result is the same', async () => {
    assert.ok(localFront, 'the first test gives the local front');
    const a = await startWorker(redis.url, 'wa');
    const b = await startWorker(redis.url, 'wb');
    workers.push(a, b);
    const run = eligo([...FIND, '--redis', redis.url]);
    await Promise.race([a.out.waitFor(/✓ rule-candidate/), b.out.waitFor(/✓ rule-candidate/)]);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    assert.equal(await run.exit, 0, run.err.text);
    assert.deepEqual(JSON.parse(run.out.text), localFront);
    await Promise.race([a.out.waitFor(/reconnected to Redis/, 20_000), b.out.waitFor(/reconnected to Redis/, 20_000)]);
  });

  it('a payload its schema rejects is failed at once with the reason, not retried; so is an unknown kind', async () => {
    const w = await startWorker(redis.url, 'wa');
    workers.push(w);
    const q = new Queue(TASK_QUEUE, { connection: parseRedisUrl(redis.url).options, prefix: QUEUE_PREFIX });
    try {
      const payload = {
        text: LIF,
        model: 'lif',
        steps: 10,
        samples: 1,
        seed: 1,
        maxBytes: 1e8,
        spec: { name: null, model: 'lif', approximations: [], schedule: { kind: 'reverse' }, objectives: [] },
        dataPath: '/etc/passwd',
      };
      const bad = await q.add(
        'rule-candidate',
        { run: 'test1', index: 0, total: 1, label: 'bad payload', payload },
        { attempts: 3, backoff: { type: 'fixed', delay: 100 } },
      );
      const unknown = await q.add('rm-everything', { run: 'test1', index: 1, total: 2, label: 'unknown kind', payload: {} }, { attempts: 3 });
      const settled = async (j: Job): Promise<Job> => {
        for (let t = 0; t < 100; t++) {
          if ((await j.getState()) === 'failed') return (await Job.fromId(q, j.id!))!;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`job ${j.id} did not fail`);
      };
      const b1 = await settled(bad);
      assert.match(b1.failedReason, /invalid rule-candidate payload: .*dataPath/);
      assert.equal(b1.attemptsMade, 1);
      const u1 = await settled(unknown);
      assert.match(u1.failedReason, /does not know the task kind 'rm-everything'/);
      assert.equal(u1.attemptsMade, 1);
    } finally {
      await q.close();
    }
  });

  it('cancelling a run stops its running task on the worker and drops the waiting ones', async () => {
    const w = await startWorker(redis.url, 'wa');
    workers.push(w);
    const x = await QueueExecutor.connect({ url: redis.url });
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      const r = await x.map(
        probeTask,
        [1, 2, 3].map((value) => ({ ms: 60_000, value })),
        { signal: ac.signal, onEvent: () => ac.abort() },
      );
      assert.ok(r.cancelled);
      await w.out.waitFor(/cancelled task/, 10_000);
      // The worker is free again (the waiting tasks of the cancelled run fail at once): a new task runs now.
      const again = await x.map(probeTask, [{ ms: 10, value: 21 }]);
      assert.equal(again.results[0]!.value, 42);
      assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
    } finally {
      await x.close();
    }
  });

  it('a run fails with a clear message, never hangs, when Redis goes away for good or comes back empty', async () => {
    const lone = await startRedis();
    const x = await QueueExecutor.connect({ url: lone.url, unreachableMs: 3000, pollMs: 300 });
    try {
      // No worker: the tasks wait; Redis restarts without persistence, so they are gone.
      const p1 = x.map(probeTask, [{ ms: 10, value: 1 }]);
      await new Promise((r) => setTimeout(r, 500));
      await lone.stop();
      await lone.start();
      await assert.rejects(p1, /no longer in the queue .*restarted without persistence/);
      const t0 = Date.now();
      const p2 = x.map(probeTask, [{ ms: 10, value: 1 }]);
      await new Promise((r) => setTimeout(r, 500));
      await lone.stop();
      await assert.rejects(p2, new RegExp(`lost Redis at redis://127\\.0\\.0\\.1:${lone.port}: no answer for \\d+ s`));
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    } finally {
      await x.close();
    }
  });

  it('with eligo.queue.redis set, the language server sends Find Learning Rule to the workers and reports how many there are', async () => {
    const secret = 'lsp-Secret-42';
    const guarded = await startRedis({ password: secret });
    const a = await startWorker(guarded.url, 'wa');
    const b = await startWorker(guarded.url, 'wb');
    workers.push(a, b);
    const client = await LspClient.start({ settings: { queue: { redis: guarded.url } } });
    try {
      const uri = 'file:///queue/lif.eligo';
      await client.open(uri, LIF);
      await client.diagnostics(uri);
      const seen = async (): Promise<{ workers: number; url: string }> => {
        for (let t = 0; t < 100; t++) {
          const st = client.notifications
            .filter((n) => n.method === 'eligo/status')
            .map((n) => (n.params as { queue?: { workers: number; url: string } }).queue)
            .filter((q) => q && q.workers === 2);
          if (st.length) return st[st.length - 1]!;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`no eligo/status with 2 workers: ${JSON.stringify(client.notifications.filter((n) => n.method === 'eligo/status'))}`);
      };
      const q = await seen();
      assert.equal(q.url, `redis://:***@127.0.0.1:${guarded.port}`);
      // task '': alignment only (the eligo.train.task default would train for the rest of the budget); a task through the queue is tested above.
      const r = await client.connection.sendRequest<{ status: string; result: { front: unknown[]; evaluated: number } }>('eligo/runJob', {
        kind: 'findLearningRule',
        uri,
        item: 'lif',
        params: { steps: 10, samples: 1, evaluations: 4, task: '' },
        budgetSeconds: 120,
      });
      assert.equal(r.status, 'done', JSON.stringify(r));
      assert.equal(r.result.evaluated, 4);
      const ran = [...a.out.lines, ...b.out.lines].filter((l) => /✓ rule-candidate \d+\/4 of run \w+ \(find-rule lif \(editor\)\)/.test(l));
      assert.equal(ran.length, 4);
      assert.ok(!JSON.stringify({ r, n: client.notifications, logs: client.logs }).includes(secret));
    } finally {
      await client.connection.sendRequest('shutdown');
      client.child.kill();
    }
  });

  it('works with a password in the URL and never shows it; a wrong one is refused in one line', async () => {
    const secret = 'Zq7-pa55word-not-shown';
    const guarded = await startRedis({ password: secret });
    const w = await startWorker(guarded.url, 'wp');
    workers.push(w);
    const run = eligo(['find-rule', 'examples/lif.eligo', '--steps', '10', '--samples', '1', '--evaluations', '3', '--redis', guarded.url]);
    assert.equal(await run.exit, 0, run.err.text);
    assert.match(run.out.text, /on the queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    assert.match(w.out.text, /Redis redis:\/\/:\*\*\*@127\.0\.0\.1/);
    for (const text of [run.out.text, run.err.text, w.out.text, w.err.text]) assert.ok(!text.includes(secret), text);
    const wrong = eligo(['find-rule', 'examples/lif.eligo', '--evaluations', '1', '--redis', `redis://:wrong-${secret}@127.0.0.1:${guarded.port}`]);
    assert.equal(await wrong.exit, 2);
    assert.match(wrong.err.text, /cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: it refused the password/);
    assert.ok(!wrong.err.text.includes(secret));
    const wrongWorker = eligo(['worker', '--redis', `redis://:nope@127.0.0.1:${guarded.port}`]);
    assert.equal(await wrongWorker.exit, 2);
    assert.match(wrongWorker.err.text, /refused the password/);
    assert.ok(!wrongWorker.err.text.includes('nope'));
  });
});

// Referenced so a rename of the kinds breaks the test's compile, not only its run.
void ruleCandidateTask;
