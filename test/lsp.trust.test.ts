// Trust (issue 12, item 4): the server is told the workspace's trust
// (`initializationOptions.trusted`; absent = untrusted) and `eligo/didChangeTrust`.
// Untrusted: no setting or request reads a file, and the refusal says why.
// Trusted: data paths resolve inside the workspace folders unless the user
// picked the file in a dialog; devices, FIFOs and files over the size limit
// are refused before reading; a refusal of a path outside the workspace is
// the same whether the file exists or not, and never shows its contents.
// The same guard (train/tasks/files.ts) is tested directly at the end.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobResult, LearningRuleResult, TrainResult } from '../language-server/src/protocol.js';
import { FileAccess, FileAccessError } from '../language-server/src/train/tasks/files.js';
import { writeParamData } from '../language-server/src/interop/paramData.js';
import { train as trainEngine } from '../language-server/src/train/train.js';
import { buildServer, LspClient, ROOT } from './helpers/lspClient.js';

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');

/** 40 rows of 20 features and a 0/1 label: lif's input is [20], its target [2]. */
function csv(rows = 40): string {
  const out: string[] = [];
  for (let i = 0; i < rows; i++) out.push([...Array.from({ length: 20 }, (_, j) => ((i * 7 + j * 3) % 11) / 10), i % 2].join(','));
  return `${out.join('\n')}\n`;
}

const SECRET = 'ELIGO_TRUST_TEST_SECRET_42';

describe('language server: workspace trust and data files', function () {
  this.timeout(120000);
  let dir: string;
  let ws: string;
  let outside: string;

  before(() => {
    buildServer();
    dir = mkdtempSync(join(tmpdir(), 'eligo-trust-'));
    ws = join(dir, 'ws');
    outside = join(dir, 'outside');
    mkdirSync(ws);
    mkdirSync(outside);
    writeFileSync(join(ws, 'data.csv'), csv());
    writeFileSync(join(outside, 'secret.csv'), `${SECRET},1\n${csv()}`);
    writeFileSync(join(outside, 'picked.csv'), csv());
    symlinkSync(join(outside, 'secret.csv'), join(ws, 'link.csv'));
    execFileSync('mkfifo', [join(ws, 'pipe.csv')]);
    writeFileSync(join(ws, 'big.csv'), Buffer.alloc(3 * 2 ** 20, 0x31));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const uri = (): string => pathToFileURL(join(ws, 'lif.eligo')).toString();
  const train = (c: LspClient, extra: Record<string, unknown>): Promise<JobResult<TrainResult>> =>
    c.request<JobResult<TrainResult>>('eligo/train', { uri: uri(), item: 'lif', steps: 1, batchSize: 4, seed: 1, ...extra });

  async function start(options: Parameters<typeof LspClient.start>[0]): Promise<LspClient> {
    const c = await LspClient.start({ workspaceFolders: [pathToFileURL(ws).toString()], ...options });
    await c.open(uri(), LIF);
    await c.diagnostics(uri());
    return c;
  }

  it('untrusted (nothing said): no setting or request reads a file, and the refusal says the workspace is not trusted', async () => {
    const c = await start({ settings: { train: { task: `csv:path=${join(outside, 'secret.csv')}` } } });
    try {
      const tasks = [
        undefined, // the setting eligo.train.task
        `csv:path=${join(ws, 'data.csv')}`, 'csv:path=/etc/passwd', 'csv:path=../../../../etc/passwd', 'idx:images=/proc/self/environ', 'csv:path=/dev/zero',
      ];
      for (const task of tasks) {
        const r = await train(c, task ? { task } : {});
        assert.equal(r.status, 'refused', `${task}: ${JSON.stringify(r).slice(0, 300)}`);
        assert.match(r.message!, /this workspace is not trusted, so Eligo reads no data files in it/, task);
        assert.doesNotMatch(r.message!, /no such file|regular file|line \d|root:/, task);
      }
      // A picked file is refused too: the workspace is not trusted.
      const picked = await train(c, { task: 'csv', dataUri: pathToFileURL(join(outside, 'picked.csv')).toString() });
      assert.equal(picked.status, 'refused');
      assert.match(picked.message!, /not trusted/);
      // Granting trust (VS Code's onDidGrantWorkspaceTrust) lets the same request read the file.
      await c.connection.sendNotification('eligo/didChangeTrust', { trusted: true });
      const ok = await train(c, { task: `csv:path=${join(ws, 'data.csv')}` });
      assert.equal(ok.status, 'done', JSON.stringify(ok).slice(0, 300));
    } finally {
      await c.stop();
    }
  });

  it('trusted: reads the workspace\'s files and picked files; refuses paths outside it alike whether they exist or not, and never shows their contents', async () => {
    const c = await start({ initializationOptions: { trusted: true }, env: { ELIGO_MAX_DATA_MIB: '1' } });
    try {
      assert.equal((await train(c, { task: `csv:path=${join(ws, 'data.csv')}` })).status, 'done');
      // Relative paths are relative to the workspace folder.
      assert.equal((await train(c, { task: 'csv:path=data.csv' })).status, 'done');
      // A file the user picked in the dialog, outside the workspace.
      const picked = await train(c, { task: 'csv', dataUri: pathToFileURL(join(outside, 'picked.csv')).toString() });
      assert.equal(picked.status, 'done', JSON.stringify(picked).slice(0, 300));
      const refusal = async (task: string): Promise<string> => {
        const r = await train(c, { task });
        assert.equal(r.status, 'refused', `${task}: ${JSON.stringify(r).slice(0, 300)}`);
        assert.doesNotMatch(r.message!, new RegExp(SECRET));
        return r.message!;
      };
      const exists = await refusal(`csv:path=${join(outside, 'secret.csv')}`);
      const missing = await refusal(`csv:path=${join(outside, 'nothing-here.csv')}`);
      assert.match(exists, /is outside the workspace folders/);
      // The same words for a file that exists and one that does not: nothing learnt about the machine.
      assert.equal(exists.replace('secret.csv', 'X'), missing.replace('nothing-here.csv', 'X'));
      assert.match(await refusal('csv:path=../outside/secret.csv'), /is outside the workspace folders/);
      assert.match(await refusal('csv:path=/etc/passwd'), /'\/etc\/passwd' is outside the workspace folders/);
      // A link inside the workspace that leads out of it.
      assert.match(await refusal('csv:path=link.csv'), /'link.csv' is outside the workspace folders/);
      // A FIFO would block the read for ever; a device would never end: refused before opening.
      const t0 = performance.now();
      assert.match(await refusal('csv:path=pipe.csv'), /'pipe.csv' is not a regular file \(a device, FIFO or socket\)/);
      assert.ok(performance.now() - t0 < 20000);
      const zero = await train(c, { task: 'csv', dataUri: 'file:///dev/zero' });
      assert.equal(zero.status, 'refused');
      assert.match(zero.message!, /'\/dev\/zero' is not a regular file/);
      // Over the size limit (1 MiB here): refused from its size, unread.
      assert.match(await refusal('csv:path=big.csv'), /'big.csv' is 3 MiB, more than the 1 MiB a data file may be/);
    } finally {
      await c.stop();
    }
  });

  it('the guard itself: bounded reads, and a gzip bomb stops at the limit', () => {
    const a = new FileAccess({ trusted: true, roots: [ws], maxBytes: 2 ** 20 });
    assert.equal(a.read('data.csv', 'csv').toString(), csv());
    assert.throws(() => new FileAccess({ trusted: false }).read(join(ws, 'data.csv'), 'csv'), (e: unknown) => e instanceof FileAccessError && /not trusted/.test(e.message));
    const bomb = join(ws, 'bomb.csv.gz');
    writeFileSync(bomb, execFileSync('gzip', ['-c'], { input: Buffer.alloc(4 * 2 ** 20, 0x30) }));
    assert.throws(() => a.read('bomb.csv.gz', 'csv'), /decompresses to more than 1 MiB/);
    // The CLI (no roots) reads wherever the user points it.
    assert.equal(new FileAccess({ trusted: true }).read(join(outside, 'picked.csv'), 'csv').toString(), csv());
  });
});

describe("language server: Train on a model whose params read data(…) files", function () {
  this.timeout(120000);
  let dir: string;
  let ws: string;
  const model = (file: string): string =>
    `model m {\n  input x: [2]\n  target y: [2]\n  param W: [2, 2] = data("${file}", "W")\n  state u: [2] = 0\n  u[t+1] = exp(-1 / 10) * u + W @ x[t+1]\n  loss = mse(u[t+1], y[t+1])\n}\n`;
  const TASK = 'correlated:T=8';
  const W1 = [0.5, 0, 0, 0.5];
  const W2 = [2, -1, 0.25, 3];

  before(async () => {
    buildServer();
    dir = mkdtempSync(join(tmpdir(), 'eligo-trust-data-'));
    ws = join(dir, 'ws');
    mkdirSync(ws);
    mkdirSync(join(dir, 'outside'));
    await writeParamData(join(ws, 'one.params.h5'), new Map([['W', { shape: [2, 2], data: W1 }]]));
    await writeParamData(join(ws, 'two.params.h5'), new Map([['W', { shape: [2, 2], data: W2 }]]));
    await writeParamData(join(dir, 'outside', 'secret.params.h5'), new Map([['W', { shape: [2, 2], data: W2 }]]));
    symlinkSync(join(dir, 'outside', 'secret.params.h5'), join(ws, 'link.params.h5'));
    execFileSync('mkfifo', [join(ws, 'pipe.params.h5')]);
    for (const f of ['one', 'two', 'link', 'pipe', 'missing']) writeFileSync(join(ws, `${f}.eligo`), model(`${f}.params.h5`));
    // Two models: only the trained one's data files are read (the other's file is missing).
    writeFileSync(join(ws, 'both.eligo'), `${model('one.params.h5')}\n${model('nothing-here.params.h5').replace('model m {', 'model other {')}`);
    // A model outside the workspace folders: its data file is next to it, and outside them too.
    writeFileSync(join(dir, 'outside', 'away.eligo'), model('secret.params.h5'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const uriOf = (path: string): string => pathToFileURL(path).toString();
  async function train(c: LspClient, path: string): Promise<JobResult<TrainResult>> {
    const uri = uriOf(path);
    await c.open(uri, readFileSync(path, 'utf8'));
    try {
      return await c.request<JobResult<TrainResult>>('eligo/train', { uri, item: 'm', task: TASK, steps: 1, batchSize: 4, seed: 1 });
    } finally {
      await c.close(uri);
    }
  }

  /** The same run in this process, the values given as the CLI gives them (cli/interop.ts paramValuesOf). */
  async function reference(values: number[]): Promise<number> {
    const r = await trainEngine({ text: model('x.h5'), model: 'm', task: TASK, steps: 1, batch: 4, seed: 1, learningRate: 1e-3, paramValues: new Map([['W', Float64Array.from(values)]]) });
    return r.final.testLoss;
  }

  it('untrusted: refused, saying the workspace is not trusted; once trust is granted it trains on the values', async () => {
    const c = await LspClient.start({ workspaceFolders: [uriOf(ws)] });
    try {
      const r = await train(c, join(ws, 'one.eligo'));
      assert.equal(r.status, 'refused', JSON.stringify(r).slice(0, 300));
      assert.match(r.message!, /data\("one\.params\.h5", "W"\)/);
      assert.match(r.message!, /this workspace is not trusted, so Eligo reads no data files in it/);
      await c.connection.sendNotification('eligo/didChangeTrust', { trusted: true });
      const ok = await train(c, join(ws, 'one.eligo'));
      assert.equal(ok.status, 'done', JSON.stringify(ok).slice(0, 300));
      assert.equal(ok.result!.loss, await reference(W1));
    } finally {
      await c.stop();
    }
  });

  it("trusted: trains with the file's values (the same loss as the engine given them), and refuses what it may not read", async () => {
    const c = await LspClient.start({ workspaceFolders: [uriOf(ws)], initializationOptions: { trusted: true } });
    try {
      const one = await train(c, join(ws, 'one.eligo'));
      const two = await train(c, join(ws, 'two.eligo'));
      assert.equal(one.status, 'done', JSON.stringify(one).slice(0, 300));
      assert.equal(two.status, 'done', JSON.stringify(two).slice(0, 300));
      const [ref1, ref2] = [await reference(W1), await reference(W2)];
      assert.notEqual(ref1, ref2, 'the values matter to the loss');
      assert.equal(one.result!.loss, ref1);
      assert.equal(two.result!.loss, ref2);
      const both = await train(c, join(ws, 'both.eligo'));
      assert.equal(both.status, 'done', JSON.stringify(both).slice(0, 300));
      assert.equal(both.result!.loss, ref1);
      const refused = async (path: string, why: RegExp): Promise<void> => {
        const r = await train(c, path);
        assert.equal(r.status, 'refused', `${path}: ${JSON.stringify(r).slice(0, 300)}`);
        assert.match(r.message!, why, path);
        assert.doesNotMatch(r.message!, /not loaded/);
      };
      // A FIFO would block the read for ever: refused before it is opened.
      await refused(join(ws, 'pipe.eligo'), /line 4:\d+: 'pipe\.params\.h5' is not a regular file \(a device, FIFO or socket\)/);
      await refused(join(ws, 'missing.eligo'), /line 4:\d+: no data file 'missing\.params\.h5' next to the model/);
      await refused(join(ws, 'link.eligo'), /line 4:\d+: data\("link\.params\.h5"\) is outside the workspace folders \(or links out of them\)/);
      await refused(join(dir, 'outside', 'away.eligo'), /line 4:\d+: data\("secret\.params\.h5"\) is outside the workspace folders/);
    } finally {
      await c.stop();
    }
  });

  it('Find Learning Rule reads them the same way: refused untrusted, run on the values trusted', async () => {
    const findRule = async (c: LspClient, task = ''): Promise<JobResult<LearningRuleResult>> => {
      const uri = uriOf(join(ws, 'one.eligo'));
      await c.open(uri, model('one.params.h5'));
      try {
        return await c.request<JobResult<LearningRuleResult>>('eligo/findLearningRule', { uri, item: 'm', task, samples: 1, steps: 4, evaluations: 3, batchSize: 4, budgetSeconds: 20 });
      } finally {
        await c.close(uri);
      }
    };
    const untrusted = await LspClient.start({ workspaceFolders: [uriOf(ws)] });
    const trusted = await LspClient.start({ workspaceFolders: [uriOf(ws)], initializationOptions: { trusted: true } });
    try {
      const no = await findRule(untrusted);
      assert.equal(no.status, 'refused', JSON.stringify(no).slice(0, 300));
      assert.match(no.message!, /data\("one\.params\.h5", "W"\), and this workspace is not trusted, so Eligo reads no data files in it/);
      // With the candidates trained on a task: the alignment runs on the job's compiled model, the BPTT reference run and each
      // trained candidate compile the text again, and the values go with them.
      const yes = await findRule(trusted, TASK);
      assert.ok(yes.status === 'done' || yes.status === 'budget', JSON.stringify(yes).slice(0, 300));
      assert.ok(yes.result!.front.length > 0, JSON.stringify(yes.result).slice(0, 300));
      assert.ok(yes.result!.front.some((f) => f.accuracy !== undefined), JSON.stringify(yes.result!.front).slice(0, 400));
    } finally {
      await untrusted.stop();
      await trusted.stop();
    }
  });
});
