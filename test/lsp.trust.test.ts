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
import type { JobResult, TrainResult } from '../language-server/src/protocol.js';
import { FileAccess, FileAccessError } from '../language-server/src/train/tasks/files.js';
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
