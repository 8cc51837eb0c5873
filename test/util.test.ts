// util/: the one duration and size parser, the one byte formatter, safe
// reads and atomic writes, the worker-thread helper, and the one error base
// class every engine error extends.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EligoError } from '../language-server/src/util/errors.js';
import { FileError, readTextFile, writeTextFileAtomic } from '../language-server/src/util/files.js';
import { formatBytes, formatNumber, parseDuration, parseSize, UnitError } from '../language-server/src/util/units.js';
import { CancelFlag, WorkerThread } from '../language-server/src/util/worker.js';
import { parseBudget, parseBytes } from '../language-server/src/search/objective.js';
import { memoryUnit } from '../language-server/src/lang/check.js';
import { fmtBytes as rulesBytes } from '../language-server/src/rules/hardware.js';
import { fmtBytes as trainBytes } from '../language-server/src/train/memory.js';
import { formatBytes as extensionBytes } from '../extension/src/messages.js';
import { compile } from '../language-server/src/compile.js';
import { parse } from '../language-server/src/lang/parser.js';
import { APPROXIMATIONS, APPROXIMATION_WORDS } from '../language-server/src/lang/approximations.js';
import { DEFAULT_TASK, TASK_NAMES, TASKS, makeTask, resolveTaskSpec } from '../language-server/src/train/tasks/index.js';

describe('util/units: one parser for durations and sizes, one formatter for bytes', () => {
  it('durations: units, compounds and plain seconds; nonsense and negatives refused with what to write', () => {
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2 min'), 120_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1e3ms'), 1000);
    assert.throws(
      () => parseDuration('soon', '--budget'),
      (e: unknown) => e instanceof UnitError && e.code === 'input.duration' && /cannot read --budget 'soon'/.test(e.message),
    );
    assert.throws(() => parseDuration('-5s'), /negative/);
    assert.throws(() => parseDuration('5 parsecs'), /cannot read/);
  });

  it('the search and find-rule read budgets with the same parser (1.5h works for both)', () => {
    assert.equal(parseBudget('1.5h'), 5_400_000);
    assert.equal(parseBudget('1h30m'), parseDuration('1h30m'));
  });

  it('sizes: SI and binary units in any case, single letters binary; the language and the CLI share the table', () => {
    assert.equal(parseSize('128KiB'), 131072);
    assert.equal(parseSize('1.5 MB'), 1.5e6);
    assert.equal(parseSize('2g'), 2 * 1024 ** 3);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseBytes('128 kib'), 131072);
    assert.equal(memoryUnit('KiB'), 1024);
    assert.equal(memoryUnit('TB'), 1e12);
    assert.equal(memoryUnit('parsecs'), undefined);
    assert.equal(memoryUnit('toString'), undefined, 'no prototype keys');
    assert.throws(
      () => parseSize('12 parsecs'),
      (e: unknown) => e instanceof UnitError && e.code === 'input.size',
    );
  });

  it('one byte formatter: three significant digits, the same in the engine, the checker, rules, training and the extension', () => {
    const cases: [number, string][] = [
      [0, '0 B'],
      [812, '812 B'],
      [1403, '1.37 KiB'],
      [86_016, '84.0 KiB'],
      [325_632, '318 KiB'],
      [1023.9 * 1024, '1.00 MiB'],
      [1.5 * 1024 ** 3, '1.50 GiB'],
    ];
    for (const [n, s] of cases) {
      assert.equal(formatBytes(n), s, String(n));
      assert.equal(rulesBytes(n), s);
      assert.equal(trainBytes(n), s);
      assert.equal(extensionBytes(n), s);
    }
    // The checker's messages use it too (compare the README's 1.37 KiB with a table's 1.4 KiB before).
    const c = compile('function f(W: [100000, 100000]) {\n  return sum(W)\n}\n');
    assert.match(c.diagnostics.map((d) => d.message).join('\n'), /\(74\.5 GiB\)/);
    assert.equal(formatNumber(1234567), '1,234,567');
    assert.equal(formatNumber(0.000123), '1.230e-4');
  });
});

describe('util/files: safe reads and atomic writes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eligo-files-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads text, strips and remembers a BOM; refuses devices, folders, binary and non-UTF-8 with a code', () => {
    const p = join(dir, 'a.eligo');
    writeFileSync(p, '\ufefflet x = 1\n');
    const t = readTextFile(p);
    assert.equal(t.text, 'let x = 1\n');
    assert.equal(t.bom, true);
    const code = (path: string): string => {
      try {
        readTextFile(path);
      } catch (e) {
        assert.ok(e instanceof FileError && e instanceof EligoError);
        return e.code;
      }
      return 'read';
    };
    assert.equal(code('/dev/zero'), 'file.not-regular');
    assert.equal(code(dir), 'file.not-regular');
    assert.equal(code(join(dir, 'none')), 'file.missing');
    writeFileSync(join(dir, 'b'), Buffer.from([0x61, 0, 0x62]));
    assert.equal(code(join(dir, 'b')), 'file.binary');
    writeFileSync(join(dir, 'c'), Buffer.from([0x61, 0xc3, 0x28]));
    assert.equal(code(join(dir, 'c')), 'file.encoding');
    assert.throws(
      () => readTextFile(p, { maxBytes: 4 }),
      (e: unknown) => e instanceof FileError && e.code === 'file.too-large',
    );
  });

  it('reads files whose size the kernel reports as 0 to their end (/proc)', () => {
    assert.match(readTextFile('/proc/self/status').text, /^Name:/);
  });

  it('a write that fails midway leaves the old file whole and no temporary file', () => {
    const p = join(dir, 'keep.eligo');
    const old = `${'x'.repeat(1219)}\n`;
    writeFileSync(p, old);
    const half = (fd: number, data: Buffer): void => {
      // 1,024 bytes reach the temporary file (never p), then the disk is full.
      writeSync(fd, data, 0, 1024);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    };
    assert.throws(
      () => writeTextFileAtomic(p, `${old}rule r for m {\n}\n`, {}, half),
      (e: unknown) => e instanceof FileError && e.code === 'file.write' && /ENOSPC; the file was not changed/.test(e.message),
    );
    assert.equal(readFileSync(p, 'utf8'), old);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  it('refuses to overwrite a file changed since it was read, and keeps mode, BOM and symbolic links', () => {
    const p = join(dir, 'edit.eligo');
    writeFileSync(p, '\ufefffunction f(a) {\n  return a\n}\n');
    chmodSync(p, 0o600);
    const read = readTextFile(p);
    writeFileSync(p, `${readFileSync(p, 'utf8')}# the user's edit\n`);
    assert.throws(
      () => writeTextFileAtomic(p, `${read.text}# ours\n`, { unchangedSince: read.fingerprint }),
      (e: unknown) => e instanceof FileError && e.code === 'file.changed',
    );
    assert.match(readFileSync(p, 'utf8'), /# the user's edit\n$/);
    const again = readTextFile(p);
    const link = join(dir, 'link.eligo');
    symlinkSync(p, link);
    writeTextFileAtomic(link, `${again.text}# ours\n`, { unchangedSince: again.fingerprint, bom: again.bom });
    assert.equal(readlinkSync(link), p, 'the link is still a link');
    assert.equal(readFileSync(p, 'utf8'), `\ufeff${again.text}# ours\n`);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const wide = join(dir, 'wide.eligo');
    writeFileSync(wide, 'x');
    chmodSync(wide, 0o666);
    writeTextFileAtomic(wide, 'y');
    assert.equal(statSync(wide).mode & 0o777, 0o666, 'the mode, not the umask');
  });
});

describe('util/worker: start, shared cancel flag, grace, terminate', () => {
  const POLLING = `
    const { workerData, parentPort } = require('node:worker_threads');
    const flag = new Int32Array(workerData.cancel);
    parentPort.postMessage('started');
    const t0 = Date.now();
    while (Atomics.load(flag, 0) === 0 && Date.now() - t0 < 20000) {}
    parentPort.postMessage('saw the flag');
  `;
  const STUCK = `require('node:worker_threads').parentPort.postMessage('started'); for (;;) {}`;
  const started = (t: WorkerThread): Promise<void> => new Promise((r) => t.worker.once('message', () => r()));

  it('a thread that polls the flag stops on its own within the grace', async function () {
    this.timeout(20000);
    const flag = new CancelFlag();
    const t = WorkerThread.start({ code: POLLING, workerData: { cancel: flag.buffer }, cancel: flag });
    await started(t);
    const said: string[] = [];
    t.worker.on('message', (m: string) => said.push(m));
    const t0 = performance.now();
    await t.stop(5000);
    assert.ok(flag.isSet);
    assert.deepEqual(said, ['saw the flag'], 'it ran to its end, not terminated');
    assert.ok(performance.now() - t0 < 4000);
    assert.equal(t.running, false);
  });

  it('a thread stuck in a loop that never polls is terminated when the grace is up', async function () {
    this.timeout(20000);
    const t = WorkerThread.start({ code: STUCK });
    await started(t);
    const t0 = performance.now();
    await t.stop(200);
    const ms = performance.now() - t0;
    assert.equal(t.running, false);
    assert.ok(ms >= 190 && ms < 5000, `${ms} ms`);
  });

  it('threads may share one flag: setting it once stops them all', async function () {
    this.timeout(20000);
    const flag = new CancelFlag();
    const ts = [0, 1].map(() => WorkerThread.start({ code: POLLING, workerData: { cancel: flag.buffer }, cancel: flag }));
    await Promise.all(ts.map(started));
    flag.set();
    const codes = await Promise.all(ts.map((t) => t.exited));
    assert.deepEqual(codes, [0, 0]);
  });
});

describe('one vocabulary: errors, approximation kinds, tasks', () => {
  it('every error class of the engine folders, jobs/, server/ and cli/ extends EligoError (none extends Error directly)', () => {
    const root = 'language-server/src';
    const offenders: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) {
          walk(p);
        } else if (p.endsWith('.ts') && !p.endsWith('util/errors.ts')) {
          for (const m of readFileSync(p, 'utf8').matchAll(/class (\w+) extends Error\b/g)) offenders.push(`${p}: ${m[1]}`);
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });

  it('an engine error carries a stable code', () => {
    assert.throws(
      () => makeTask('nope', { model: 'm', nIn: 2, nOut: 2, inputName: 'x', targetName: 'y', seed: 1 }),
      (e: unknown) => e instanceof EligoError && e.code === 'train.task' && e.name === 'TaskError',
    );
  });

  it('the approximation kinds are one list: the parser accepts exactly those words, and its message lists them', () => {
    assert.deepEqual(APPROXIMATION_WORDS, ['0', 'diagonal', 'dense', 'stop', 'filter', 'random', 'local', 'top']);
    const model = 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1])\n}\n';
    for (const a of APPROXIMATIONS) {
      const { program } = parse(`${model}rule r for m {\n  approximate d(u[t+1])/d(u) = ${a.written}\n}\n`);
      const rule = program.items.find((i) => i.kind === 'rule');
      assert.ok(rule && rule.kind === 'rule');
      const stmt = rule.body.find((s) => s.kind === 'approximate');
      assert.equal(stmt && stmt.kind === 'approximate' ? stmt.approx : undefined, a.kind);
    }
    const bad = compile(`${model}rule r for m {\n  approximate d(u[t+1])/d(u) = sparse\n}\n`);
    assert.ok(bad.diagnostics.some((d) => d.message.includes('0, diagonal, dense, stop, filter, random, local or top')));
  });

  it('task names are one registry: the list, the entries and their settings agree, and settings are checked once', () => {
    assert.deepEqual(
      TASKS.map((t) => t.name),
      [...TASK_NAMES],
    );
    assert.throws(() => resolveTaskSpec('evidence:cue=3'), /unknown setting 'cue' — did you mean 'cues'\?/);
    assert.throws(() => resolveTaskSpec('store-recal'), /did you mean 'store-recall'\?/);
    assert.equal(resolveTaskSpec('copy:length=5').info.name, 'copy');
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    assert.equal(
      manifest.contributes.configuration.properties['eligo.train.task']!.default,
      DEFAULT_TASK,
      "the eligo.train.task setting's default is the registry's",
    );
  });
});
