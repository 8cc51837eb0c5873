// `eligo rules FILE --model NAME --gradients OUT.json`: the update of every
// rule on one seeded sample, with everything needed to reproduce it in
// another framework — the inputs and targets of every step, the loss weights
// of a windowed loss, the initial parameters and states, and per rule the
// update direction per parameter (the exact gradient dL/dθ for an exact
// schedule; the rule's estimate of it otherwise; a descent step is −η times
// it) and the loss. Tensors are nested arrays in row-major order, shaped as
// the model declares them.

import { renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Tensor } from '../graph/types.js';
import type { ModelContext, PreparedRule } from '../rules/model.js';
import { ruleGradient } from '../rules/model.js';
import type { RunInput } from '../rules/execute.js';
import { LOSS_WEIGHT, describeLossWindow } from '../lang/lossWindow.js';
import { formatSurrogate } from '../lang/surrogates.js';
import { CliError } from './common.js';

type Nested = number | Nested[];

/** Row-major values as nested arrays of `shape` (a scalar for []). */
export function nest(data: ArrayLike<number>, shape: readonly number[]): Nested {
  if (shape.length === 0) return data[0]!;
  let k = 0;
  const build = (axis: number): Nested[] => {
    const out: Nested[] = [];
    for (let i = 0; i < shape[axis]!; i++) out.push(axis === shape.length - 1 ? data[k++]! : build(axis + 1));
    return out;
  };
  return build(0);
}

const tensorJson = (t: Tensor): Nested => nest(t.data, t.shape);

export interface GradientsFile {
  readonly eligo: 'gradients';
  readonly file: string;
  readonly model: string;
  readonly seed: number;
  readonly steps: number;
  readonly loss: { readonly expression: string; readonly window: string; readonly total: string };
  readonly surrogates: Record<string, string>;
  readonly initialParams: Record<string, Nested>;
  readonly initialStates: Record<string, Nested>;
  /** data[name][t] for t = 0…T−1: the value the step computing t+1 reads (x[t+1]). */
  readonly data: Record<string, Nested[]>;
  readonly rules: readonly {
    readonly name: string;
    readonly schedule: string;
    readonly approximations: readonly string[];
    readonly totalLoss: number;
    readonly update: Record<string, Nested>;
  }[];
}

export function gradientsJson(
  file: string,
  ctx: ModelContext,
  sample: RunInput & { initial: Map<string, Tensor> },
  seed: number,
  rules: readonly { name: string; rule: PreparedRule }[],
): GradientsFile {
  const scope = ctx.scope;
  const shapeOf = new Map(ctx.structure.params.map((p) => [p.name, p.shape]));
  const lossText = scope.loss ? ctx.compiled.text.slice(scope.loss.range.start, scope.loss.range.end) : '';
  return {
    eligo: 'gradients',
    file,
    model: ctx.name,
    seed,
    steps: sample.steps,
    loss: {
      expression: lossText,
      window: describeLossWindow(scope.lossWindow),
      total:
        scope.lossWindow.kind === 'every' ? 'L = Σ_t loss_t, t = 1…T' : `L = Σ_t w_t · loss_t with w_t = data.${LOSS_WEIGHT}[t − 1] (1 where the loss counts)`,
    },
    surrogates: Object.fromEntries([...scope.surrogates].map(([n, s]) => [n, formatSurrogate(s)])),
    initialParams: Object.fromEntries([...sample.params].map(([n, t]) => [n, tensorJson(t)])),
    initialStates: Object.fromEntries([...sample.initial].map(([n, t]) => [n, tensorJson(t)])),
    data: Object.fromEntries([...sample.data].map(([n, seq]) => [n, seq.map(tensorJson)])),
    rules: rules.map(({ name, rule }) => {
      const r = ruleGradient(ctx, rule, sample);
      return {
        name,
        schedule: rule.spec.schedule.kind,
        approximations: rule.spec.approximations.map(
          (a) => `d(${a.of === 'loss' ? 'loss' : `${a.of}[t+1]`})/d(${a.wrt}${a.wrtOffset === 1 ? '[t+1]' : ''}) = ${a.kind === 'zero' ? '0' : a.kind}`,
        ),
        totalLoss: r.totalLoss,
        update: Object.fromEntries([...r.gradient].map(([p, g]) => [p, nest(g, shapeOf.get(p) ?? [g.length])])),
      };
    }),
  };
}

/** Writes `json` to `path` through a temporary file and a rename, so a failed write leaves no truncated file. */
export function writeJsonAtomic(path: string, json: unknown): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(json)}\n`);
    renameSync(tmp, path);
  } catch (e) {
    throw new CliError(`--gradients ${path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
