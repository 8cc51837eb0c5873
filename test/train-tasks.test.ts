// Training tasks: generated ones are deterministic and well formed; the
// Fashion-MNIST loader reads Debian's dataset-fashion-mnist (CI installs it);
// user IDX and CSV files become sequences of the model's input size.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FASHION_DIR, FASHION_FILES, fashionDir, loadFashionMnist, readIdx } from '../language-server/src/train/tasks/data.js';
import { makeTask, parseTaskSpec, TASKS, TaskError, type Batch, type Task, type TaskContext } from '../language-server/src/train/tasks/index.js';

const ctx = (nIn: number, nOut: number): TaskContext => ({ model: 'm', nIn, nOut, inputName: 'x', targetName: 'y', seed: 4 });

/** Every sample's loss weights sum to 1; labels sit where the weight is, one-hot in the target. */
function checkBatch(task: Task, b: Batch): void {
  const B = b.size;
  assert.equal(b.x.length, b.steps * B * task.nIn);
  assert.equal(b.y.length, b.steps * B * task.nOut);
  for (let s = 0; s < B; s++) {
    let w = 0;
    for (let t = 0; t < b.steps; t++) {
      w += b.weight[t * B + s]!;
      const l = b.labels?.[t * B + s] ?? -1;
      if (l >= 0) {
        assert.ok(b.weight[t * B + s]! > 0);
        assert.equal(b.y[(t * B + s) * task.nOut + l], 1);
      }
    }
    assert.ok(Math.abs(w - 1) < 1e-5, `sample ${s}: weights sum to ${w}`);
  }
}

describe('train: tasks', () => {
  const shapes: Record<string, [number, number]> = {
    correlated: [20, 2],
    'store-recall': [20, 2],
    evidence: [40, 2],
    pattern: [20, 3],
    adding: [2, 1],
    copy: [6, 4],
  };
  for (const [name, [nIn, nOut]] of Object.entries(shapes)) {
    it(`${name}: deterministic per (seed, split, index), well-formed batches, an encoding sentence`, () => {
      const task = makeTask(name, ctx(nIn, nOut));
      const a = task.batch('train', [0, 5, 9]);
      const again = task.batch('train', [9, 0]);
      checkBatch(task, a);
      // Sample 9 is the same whatever batch it is drawn in.
      const T = a.steps;
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < nIn; i++) assert.equal(again.x[(t * 2 + 0) * nIn + i], a.x[(t * 3 + 2) * nIn + i]);
      }
      assert.ok(task.encoding.length > 40);
      if (task.kind === 'classification') {
        const test = task.batch('test', [0, 5, 9]);
        assert.notDeepEqual(Array.from(test.x), Array.from(a.x), 'train and test differ');
      }
    });
  }

  it('correlated: the label picks the group whose channels fire together; the rate is the same in both', () => {
    const task = makeTask('correlated:T=200,correlation=1,rate=0.2,window=10', ctx(4, 2));
    const b = task.batch(
      'train',
      Array.from({ length: 40 }, (_, i) => i),
    );
    const B = b.size;
    let sync = 0;
    let rateA = 0;
    let rateB = 0;
    for (let s = 0; s < B; s++) {
      const label = b.labels![(b.steps - 1) * B + s]!;
      const [lo] = label === 0 ? [0] : [2];
      for (let t = 0; t < b.steps; t++) {
        const v = (i: number): number => b.x[(t * B + s) * 4 + i]!;
        if (v(lo) !== v(lo + 1)) sync++;
        rateA += v(0) + v(1);
        rateB += v(2) + v(3);
      }
    }
    assert.equal(sync, 0, 'correlation 1: the labelled group fires in lock step');
    assert.ok(Math.abs(rateA - rateB) / (rateA + rateB) < 0.1, `rates ${rateA} vs ${rateB}`);
  });

  it('parses NAME:key=value settings and rejects malformed ones', () => {
    assert.deepEqual(parseTaskSpec('evidence:T=200,cues=5'), { name: 'evidence', params: { T: '200', cues: '5' } });
    assert.deepEqual(parseTaskSpec('csv:path=/a/b:c.csv'), { name: 'csv', params: { path: '/a/b:c.csv' } });
    assert.throws(() => parseTaskSpec('evidence:T'), /settings are key=value, got 'T'/);
    assert.throws(() => makeTask('evidence:T=-3', ctx(40, 2)), /T must be an integer between 20 and 100000, got '-3'/);
    assert.throws(() => makeTask('store-recall', ctx(3, 2)), /store-recall needs at least 4 input channels .* model 'm' has input x: \[3\]/);
    assert.throws(() => makeTask('evidence', ctx(40, 1)), /evidence has 2 classes, scored one-hot on the target; model 'm' has target y: \[1\]/);
    assert.ok(TASKS.every((t) => t.description.length > 10));
  });

  it(`reads Fashion-MNIST from ${FASHION_DIR} (Debian's dataset-fashion-mnist): 60,000 + 10,000 images of 28 × 28, labels 9, 0, 0, 3, …`, function () {
    this.timeout(30000);
    const { train, test } = loadFashionMnist();
    assert.equal(fashionDir(), process.env.ELIGO_FASHION_MNIST || FASHION_DIR);
    assert.deepEqual([train.count, train.rows, train.cols, test.count], [60000, 28, 28, 10000]);
    assert.deepEqual(Array.from(train.labels.subarray(0, 4)), [9, 0, 0, 3]);
    assert.equal(train.data.length, 60000 * 784);
    assert.equal(train.scale, 1 / 255);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(1000), 'the test set is balanced');
    const idx = readIdx(join(fashionDir(), FASHION_FILES.testLabels));
    assert.deepEqual(idx.dims, [10000]);
  });

  it('fashion-rows: one image row per step, intensities in [0, 1], the label over the last steps; fashion-permuted: n_in pixels per step', function () {
    this.timeout(30000);
    const rows = makeTask('fashion-rows:train=100,test=50', ctx(28, 10));
    assert.deepEqual([rows.steps, rows.trainSize, rows.testSize, rows.classes], [28, 100, 50, 10]);
    const b = rows.batch('train', [0]);
    checkBatch(rows, b);
    const { train } = loadFashionMnist();
    for (let t = 0; t < 28; t++) for (let i = 0; i < 28; i++) assert.equal(b.x[t * 28 + i], Math.fround(train.data[t * 28 + i]! / 255));
    assert.equal(b.labels![27], 9);
    assert.match(rows.encoding, /one image row of 28 pixels per step/);
    const perm = makeTask('fashion-permuted:T=112,train=10,test=10', ctx(16, 10));
    assert.equal(perm.steps, 112);
    const p = perm.batch('train', [0]);
    checkBatch(perm, p);
    // 784 / 16 = 49 chunks stretched over 112 steps; the same pixels, reordered.
    let sum = 0;
    for (let t = 0; t < 112; t++) if (Math.floor((t * 49) / 112) !== Math.floor(((t - 1) * 49) / 112)) for (let i = 0; i < 16; i++) sum += p.x[t * 16 + i]!;
    let ref = 0;
    for (let k = 0; k < 784; k++) ref += train.data[k]! / 255;
    assert.ok(Math.abs(sum - ref) < 1e-3, `${sum} vs ${ref}`);
    assert.throws(
      () => makeTask('fashion-rows', ctx(20, 10)),
      (e: unknown) => e instanceof TaskError && /declare x: \[28\]/.test(e.message),
    );
  });

  describe('user data', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'eligo-data-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    function idx(type: number, dims: number[], values: number[]): Buffer {
      const head = Buffer.alloc(4 + 4 * dims.length);
      head[2] = type;
      head[3] = dims.length;
      dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
      return Buffer.concat([head, Buffer.from(values)]);
    }

    it('an IDX pair (gzipped or not) by path, row by row, with the last sixth held out', () => {
      const n = 12;
      const pixels = Array.from({ length: n * 3 * 4 }, (_, i) => i % 256);
      writeFileSync(join(dir, 'my-images-idx3-ubyte.gz'), gzipSync(idx(0x08, [n, 3, 4], pixels)));
      writeFileSync(
        join(dir, 'my-labels-idx1-ubyte.gz'),
        gzipSync(
          idx(
            0x08,
            [n],
            Array.from({ length: n }, (_, i) => i % 3),
          ),
        ),
      );
      const task = makeTask(`idx:images=${join(dir, 'my-images-idx3-ubyte.gz')}`, ctx(4, 3));
      assert.deepEqual([task.steps, task.trainSize, task.testSize, task.classes], [3, 10, 2, 3]);
      const b = task.batch('test', [0]);
      assert.equal(b.x[0], Math.fround(pixels[10 * 12]! / 255));
      assert.throws(() => makeTask(`idx:images=${join(dir, 'nope.gz')}`, ctx(4, 3)), /no such file: '.*nope\.gz'/);
      writeFileSync(join(dir, 'short-images'), idx(0x08, [5, 3, 4], [1, 2, 3]));
      writeFileSync(join(dir, 'short-labels'), idx(0x08, [5], [0, 1, 0, 1, 0]));
      assert.throws(() => makeTask(`idx:images=${join(dir, 'short-images')}`, ctx(4, 3)), /IDX says \[5, 3, 4\] ubytes \(60 bytes\) but holds 3/);
    });

    it('a CSV by path: features then the label, fed n_in per step; a clear message when n_in does not divide the row', () => {
      const rows = Array.from({ length: 10 }, (_, i) => [i, 2 * i, 3 * i, 4 * i, 5 * i, 6 * i, i % 2].join(','));
      writeFileSync(join(dir, 'data.csv'), `a,b,c,d,e,f,label\n${rows.join('\n')}\n`);
      const task = makeTask(`csv:path=${join(dir, 'data.csv')}`, ctx(3, 2));
      assert.deepEqual([task.steps, task.trainSize, task.testSize, task.classes], [2, 8, 2, 2]);
      const b = task.batch('train', [1]);
      assert.deepEqual(
        Array.from(b.x.subarray(0, 3)).map((v) => v * 54),
        [1, 2, 3].map((v) => Math.fround(v / 54) * 54),
      );
      assert.throws(
        () => makeTask(`csv:path=${join(dir, 'data.csv')}`, ctx(4, 2)),
        /rows have 6 features, fed 4 per step, but 4 does not divide 6; give model 'm' an input size that does \(2, 3, 6\)/,
      );
      writeFileSync(join(dir, 'bad.csv'), '1,2,0\n3,x,1\n');
      assert.throws(() => makeTask(`csv:path=${join(dir, 'bad.csv')}`, ctx(2, 2)), /line 2: not all values are numbers/);
    });
  });
});
