// An independent reverse-mode check of the elimination engine: the full
// Jacobian of every example (functions, the grad item, and every model step)
// by TensorFlow.js autodiff on the graph compiled to tf ops
// (train/compileGraph.ts) — one vjp per output element with a one-hot
// cotangent, i.e. the rows of the Jacobian, batched over samples — against the
// Jacobian program (ad/program.ts, Float64), which test/ad-program.test.ts ties
// to jacobian() at 1e-9.
//
// Tolerance. TF.js has no float64: its wasm and cpu backends (tfjs-node cannot
// be installed here) compute in float32, unit roundoff 6e-8, so the 1e-9 of the
// Float64 comparisons is out of reach. Both sides differentiate at the same
// point (every leaf rounded to float32), so the difference is TF's float32
// arithmetic alone. Measured, as max |tf − J| / max |J| over each Jacobian row
// (one output element of one sample), it is 4e-8 (HumanHeartDipole) to 2e-5
// (RobotArm_6DOF: lengths of 1,000 against angles of 0.02, and atan2) on these
// examples. The test asserts 1e-4 — a bit over 1,000 float32 roundoffs of the
// row's scale — and checks that this still sees the Jacobian of a point moved
// by 1e-3.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile, graphOf } from '../language-server/src/compile.js';
import { compileJacobianProgram } from '../language-server/src/ad/program.js';
import { evaluateBatch } from '../language-server/src/graph/evaluate.js';
import { evaluationPoint } from '../language-server/src/graph/point.js';
import { sizeOf } from '../language-server/src/graph/types.js';
import { selectBackend, type Tf } from '../language-server/src/train/backend.js';
import { compileGraph } from '../language-server/src/train/compileGraph.js';
import { batchPoints, rowRelativeError, tfJacobian } from '../bench/elimination.js';

const EXAMPLES = join(__dirname, '..', 'examples');
/** Row-relative tolerance for float32 reverse mode against Float64 elimination (see above). */
const TOLERANCE = 1e-4;

describe('TF.js reverse mode (float32) agrees with vertex elimination on every example', () => {
  let tf: Tf;
  let backend = '';
  const errors: string[] = [];
  before(async function () {
    this.timeout(60000);
    const s = await selectBackend();
    tf = s.tf;
    backend = s.info.summary;
  });
  after(() => {
    console.log(`      (${backend}) worst row-relative difference, batch 1 / batch 3: ${errors.join(', ')}`);
  });

  for (const file of readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.eligo'))
    .sort()) {
    const c = compile(readFileSync(join(EXAMPLES, file), 'utf8'));
    for (const item of c.items) {
      if (item.kind === 'rule' || item.hasErrors) continue;
      it(`${file} ${item.name} (${item.kind}): the full Jacobian by tf vjp rows, at one point and a batch of 3`, function () {
        this.timeout(120000);
        const graph = graphOf(c, item);
        const point = evaluationPoint(c, item, graph).leaves;
        const program = compileJacobianProgram(graph, 'markowitz');
        const cg = compileGraph(tf, graph);
        try {
          const worst: number[] = [];
          for (const B of [1, 3]) {
            const leaves = batchPoints(graph, point, B, 0.01, true);
            const ref = program.run(evaluateBatch(graph, leaves, B), B);
            const rows = tfJacobian(tf, cg, graph, leaves, B, 'rows');
            const err = rowRelativeError(rows, ref);
            assert.ok(err <= TOLERANCE, `${item.name} batch ${B}: TF.js differs from elimination by ${err.toExponential(2)} of a row's scale`);
            worst.push(err);
            // All rows in one vjp (the batch replicated per output element) gives the same rows.
            const stacked = tfJacobian(tf, cg, graph, leaves, B, 'stacked');
            assert.ok(rowRelativeError(stacked, rows) <= 1e-6, `${item.name} batch ${B}: stacked vjp`);
          }
          errors.push(`${item.name} ${worst.map((e) => e.toExponential(1)).join('/')}`);
          // Negative control: the same check sees the Jacobian of a point moved by 1e-3.
          const moved = batchPoints(graph, point, 1, 0.01, true);
          for (const id of graph.inputs) {
            const t = moved.get(id)!;
            moved.set(id, { shape: t.shape, data: t.data.map((x, q) => x + 1e-3 * Math.max(Math.abs(x), 0.1) * (q % 2 === 0 ? 1 : -1)) });
          }
          const shifted = program.run(evaluateBatch(graph, moved, 1), 1);
          const settled = tf.memory().numTensors;
          const rows = tfJacobian(tf, cg, graph, batchPoints(graph, point, 1, 0.01, true), 1, 'rows');
          assert.equal(tf.memory().numTensors, settled, 'tensors leaked by a Jacobian');
          const inputs = graph.inputs.reduce((a, i) => a + sizeOf(graph.vertices[i]!.shape), 0);
          if (inputs > 0) assert.ok(rowRelativeError(rows, shifted) > TOLERANCE, `${item.name}: the tolerance does not see a moved point`);
        } finally {
          cg.dispose();
        }
      });
    }
  }
});
