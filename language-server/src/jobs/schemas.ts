// The schemas of what crosses a process in the job queue: the payloads and
// results of the tasks that run on `eligo worker` processes through Redis.
// One zod schema each; the TypeScript types are inferred from them
// (`z.infer`), so the validation and the types cannot drift apart.
//
// The params of the language server's long jobs are not defined here: they
// are the LSP protocol's (protocol/params.ts, `SearchOptionsSchema`,
// `FindRuleOptionsSchema`), and the payloads of a search's restarts and of
// find-rule's candidates are composed of those same schemas (`pick` of the
// fields a task depends on, required here because the client applied the
// defaults, `extend`ed with what a worker needs as data: the model's text,
// the rule, sequences, weights). One definition of each parameter, validated
// the same at the LSP boundary, in the worker-thread job and on a worker.
//
// Payloads are data only: a model's text (never a path a worker would
// read), seeds, counts, weights. Object schemas are strict: an unknown key
// is an error, not silently dropped, so a payload from a newer or hostile
// client fails with its name.

import { z } from 'zod';
import { FindRuleOptionsSchema, SearchOptionsSchema } from '../protocol/params.js';
import { FEATURES } from '../search/features.js';
import { APPROXIMATIONS, approximationArgs, ROUNDINGS, type ApproxKind } from '../lang/approximations.js';

/** Model files are read up to 16 MiB (cli/common.ts readSource): a payload's text is held to the same. */
export const MAX_TEXT_CHARS = 16 * 1024 * 1024;

const text = z.string().max(MAX_TEXT_CHARS, 'the model text is over 16 MiB');
const ident = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a name (letters, digits, _)')
  .max(200);
/** The protocol's seed (protocol/params.ts), for the seeds of self-play episodes. */
const seed = SearchOptionsSchema.shape.seed.unwrap();
const positiveInt = (max: number): z.ZodNumber => z.number().int().min(1).max(max);
/** Any number, Infinity and NaN included (JSON cannot hold them; the wire encoding does). */
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'expected a number');
const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected float32 values');
const f64 = z.custom<Float64Array>((v) => v instanceof Float64Array, 'expected float64 values');
const i32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'expected int32 values');
const u8 = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes');

// ---------------------------------------------------------------- tasks: find-rule candidate

const APPROX_KINDS = APPROXIMATIONS.map((a) => a.kind) as [ApproxKind, ...ApproxKind[]];

/**
 * One approximation of a rule (rules/blocks.ts Approximation): its kind's arguments by name (ranges as the checker
 * holds them, lang/check.ts; the rules engine refuses what does not fit its block), and a top(k) pattern as the
 * client chose it on its data (flat indices; checked against the block on the worker).
 */
export const approximationSchema = z
  .strictObject({
    of: ident,
    wrt: ident,
    wrtOffset: z.union([z.literal(0), z.literal(1)]),
    kind: z.enum(APPROX_KINDS),
    args: z.record(ident, z.number().finite()).optional(),
    mask: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(2 ** 40),
      )
      .max(10_000_000)
      .optional(),
  })
  .superRefine((a, c) => {
    const known = approximationArgs(a.kind);
    for (const [k, v] of Object.entries(a.args ?? {})) {
      const arg = known.find((x) => x.name === k);
      if (!arg) c.addIssue({ code: 'custom', path: ['args', k], message: `'${a.kind}' has no argument '${k}'` });
      else if ((arg.integer && !Number.isInteger(v)) || (arg.exclusiveMin ? v <= arg.min : v < arg.min)) {
        c.addIssue({
          code: 'custom',
          path: ['args', k],
          message: `'${k}' of '${a.kind}' must be ${arg.integer ? 'a whole number' : 'a number'} ${arg.exclusiveMin ? '>' : '≥'} ${arg.min}`,
        });
      }
    }
    if (a.mask && a.kind !== 'top') c.addIssue({ code: 'custom', path: ['mask'], message: `a pattern is for top(k), not '${a.kind}'` });
  });

export const ruleSpecSchema = z.strictObject({
  name: ident.nullable(),
  model: ident,
  approximations: z.array(approximationSchema).max(10_000),
  schedule: z.strictObject({ kind: z.enum(['online', 'reverse', 'forward']) }),
  objectives: z.array(z.string().max(200)).max(100),
  memoryLimitBytes: z.number().positive().optional(),
  /** `truncate K` and `quantize traces B bits …` (rules/rule.ts), in the checker's ranges. */
  truncate: positiveInt(1_000_000).optional(),
  quantize: z
    .strictObject({
      bits: z.number().int().min(2).max(24),
      rounding: z.enum(ROUNDINGS),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32),
    })
    .optional(),
});

const name = z.string().min(1).max(200);
/** A tensor's values inline (float64, base64 on the wire); its length must be its shape's size. */
export const tensorSchema = z
  .strictObject({
    shape: z.array(z.number().int().min(0).max(1e9)).max(8),
    data: f64,
  })
  .refine((t) => t.data.length === t.shape.reduce((a, b) => a * b, 1), { message: "the tensor's values do not match its shape" });

/** Sample sequences (no parameters): a task's inputs and targets per step, its loss weights and the initial states. */
export const sequenceSchema = z.strictObject({
  steps: positiveInt(1_000_000),
  data: z.record(name, z.array(tensorSchema).max(1_000_000)),
  initial: z.record(name, tensorSchema).optional(),
  lossWeights: f64.optional(),
});

/** Given alignment sets: the same sequences at each parameter point (discovery's task sequences along a BPTT run). */
export const alignmentSetsSchema = z.strictObject({
  sequences: z.array(sequenceSchema).min(1).max(100),
  at: z
    .array(z.strictObject({ label: z.string().max(100), updates: z.number().int().min(0).max(1e9), params: z.record(name, tensorSchema) }))
    .min(1)
    .max(16),
});

/**
 * One candidate rule of a find-rule run, measured against exact BPTT (rules/candidate.ts): on `samples`
 * random sequences of `steps` steps from `seed`, or on the `sets` given (then `steps` and `samples`
 * describe them). `paramValues`: the model's `data(…)` params as the client loaded them (a worker reads no file).
 */
export const ruleCandidatePayloadSchema = FindRuleOptionsSchema.pick({ steps: true, samples: true, seed: true })
  .required()
  .extend({
    text,
    model: ident,
    maxBytes: z
      .number()
      .positive()
      .max(2 ** 45),
    sets: alignmentSetsSchema.optional(),
    paramValues: z.record(name, f64).optional(),
    spec: ruleSpecSchema,
  });
export type RuleCandidatePayload = z.infer<typeof ruleCandidatePayloadSchema>;

const alignmentFigures = { cosine: anyNumber, relativeError: anyNumber, signAgreement: anyNumber };
export const alignmentSchema = z.strictObject({
  ...alignmentFigures,
  overall: z.strictObject(alignmentFigures),
  perParameter: z.record(z.string(), z.strictObject({ ...alignmentFigures, norm: anyNumber, exactNorm: anyNumber })),
  samples: z.number().int().min(0),
  steps: z.number().int().min(0),
});
export type AlignmentResult = z.infer<typeof alignmentSchema>;
/** A candidate's alignment on every set, in the sets' order. */
export const alignmentAlongSchema = z.array(alignmentSchema).min(1).max(16);
export type AlignmentAlongResult = z.infer<typeof alignmentAlongSchema>;

// ---------------------------------------------------------------- tasks: search restart

export const objectiveSpecSchema = z.strictObject({
  kind: z.enum(['multiplications', 'memory', 'time', 'weighted']),
  weights: z.strictObject({ multiplications: z.number().optional(), memory: z.number().optional() }).optional(),
  /** The search's `limitBytes` (protocol/params.ts). */
  limitBytes: SearchOptionsSchema.shape.limitBytes,
});

export const planStepSchema = z.strictObject({
  kind: z.enum(['heuristics', 'anneal', 'beam', 'exact', 'mcts']),
  until: z.number().min(0).max(1),
});

const archSchema = z.strictObject({
  features: z.literal(FEATURES),
  hidden: positiveInt(512),
  layers: positiveInt(16),
  head: positiveInt(512),
});

/** The network's weights inline (float32, base64 on the wire): 35 KB for the shipped one. */
export const weightsSchema = z.strictObject({
  arch: archSchema,
  tensors: z.record(z.string().max(64), f32),
});

/** Which network MCTS uses: the worker's own shipped file, the untrained prior, or weights sent inline — never a path. */
export const agentChoiceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('shipped') }),
  z.strictObject({ kind: z.literal('prior') }),
  z.strictObject({ kind: z.literal('weights'), weights: weightsSchema }),
]);

/** One restart of an order search: a plan of methods with its own seed, on the item's graph (search/plan.ts Job). */
export const searchRestartPayloadSchema = SearchOptionsSchema.pick({ seed: true, evaluations: true })
  .required({ seed: true })
  .extend({
    text,
    item: ident,
    objective: objectiveSpecSchema,
    plan: z.array(planStepSchema).min(1).max(16),
    budgetMs: z
      .number()
      .positive()
      .max(24 * 3600 * 1000),
    agent: agentChoiceSchema,
    train: z.boolean(),
    exactMax: positiveInt(1000).optional(),
    simulationsPerMove: positiveInt(100_000).optional(),
  });
export type SearchRestartPayload = z.infer<typeof searchRestartPayloadSchema>;

export const candidateSchema = z.strictObject({
  method: z.string().max(200),
  order: z.array(z.number().int().min(0)),
  multiplications: z.number(),
  additions: z.number(),
  peakMemoryBytes: z.number(),
  score: anyNumber,
  feasible: z.boolean(),
});

export const searchRestartResultSchema = z.strictObject({
  best: candidateSchema.nullable(),
  families: z.record(z.string(), candidateSchema),
  evaluations: z.number().int().min(0),
  simulations: z.number().int().min(0),
  elapsedMs: z.number().min(0),
  exact: z.strictObject({ status: z.enum(['optimal', 'stopped', 'too-large', 'unsupported']), vertices: z.number().int(), message: z.string() }).optional(),
  episodes: z.number().int().min(0),
  notes: z.array(z.string()),
  pool: z.array(candidateSchema),
});
export type SearchRestartResult = z.infer<typeof searchRestartResultSchema>;

// ---------------------------------------------------------------- tasks: self-play episodes

/** A batch of self-play episodes for training the search network (scripts/train-agent.ts): each on a corpus graph, with the batch's weights. */
export const selfPlayPayloadSchema = z.strictObject({
  weights: weightsSchema,
  episodes: z
    .array(z.strictObject({ graphSeed: seed, searchSeed: seed }))
    .min(1)
    .max(1000),
  simulationsPerMove: positiveInt(100_000),
});
export type SelfPlayPayload = z.infer<typeof selfPlayPayloadSchema>;

export const tokenInputSchema = z.strictObject({
  n: z.number().int().min(0),
  vertex: i32,
  x: f32,
  predOff: i32,
  predIdx: i32,
  succOff: i32,
  succIdx: i32,
  mask: u8,
  prior: f32,
  stepCost: f64,
  scale: z.number(),
});

export const selfPlayResultSchema = z.strictObject({
  episodes: z.array(
    z.strictObject({
      multiplications: z.number(),
      simulations: z.number().int().min(0),
      samples: z.array(z.strictObject({ input: tokenInputSchema, policy: f32, remaining: z.number() })),
    }),
  ),
});
export type SelfPlayResult = z.infer<typeof selfPlayResultSchema>;

// ---------------------------------------------------------------- tasks: probe

/** The queue's own test workload: burns CPU for `ms` in slices (like a search), then answers. */
export const probePayloadSchema = z.strictObject({
  ms: z.number().min(0).max(600_000),
  value: z.number(),
});
export type ProbePayload = z.infer<typeof probePayloadSchema>;
export const probeResultSchema = z.strictObject({ value: z.number(), slices: z.number().int().min(0), pid: z.number().int() });
export type ProbeResult = z.infer<typeof probeResultSchema>;
