// The one catalogue of Eligo's codes, as Langium's validators export their
// issue codes: every diagnostic a stage raises (the lexer and parser, the
// checker, the rules engine, the analysis, the server's settings, the data
// and export bridges) and every error an EligoError carries, each with its
// severity, a one-line description and, for diagnostics, the code action
// that fixes it. It lives in util/, beneath every stage, so each may import
// it without an upward import.
//
// `DiagnosticCode` and `ErrorCode` are unions of the catalogue's keys: the
// `code` of a Diagnostic, of an EligoError and of every problem type that
// becomes one is typed with them, so a misspelt or uncatalogued code fails
// to compile. Code actions look the fix up here (`fixOf`), never in the
// message text. test/codes.test.ts scans the sources: every code literal is
// catalogued, every entry is raised somewhere (or says why it is reserved),
// and docs/diagnostics.md is what scripts/codes-doc.ts renders from this file.

/** Severities a diagnostic code is raised with (LSP's; `hint` is not used by any code). */
export type CodeSeverity = 'error' | 'warning' | 'info';

/** The quick fixes of server/codeActions.ts, keyed by code through the catalogue. */
export const FIXES = {
  'did-you-mean': "Change 'x' to the suggested name (the diagnostic's data.suggestion)",
  'add-surrogate': "Add the surrogate line (data.insert) after the model's declarations",
  'add-dt': "Add 'const dt = 1' to the model",
  'add-let': "Add 'let' before the name",
} as const;

export type FixKind = keyof typeof FIXES;

/** Who raises a diagnostic (docs/diagnostics.md groups by it). */
export type DiagnosticStage = 'lexer' | 'parser' | 'limits' | 'compile' | 'checker' | 'rules' | 'analysis' | 'settings' | 'data' | 'interop';

export interface DiagnosticEntry {
  readonly kind: 'diagnostic';
  readonly severity: CodeSeverity;
  readonly stage: DiagnosticStage;
  readonly description: string;
  readonly fix?: FixKind;
  /** Shown faded, as code that has no effect (LSP's DiagnosticTag.Unnecessary). */
  readonly unnecessary?: true;
  /** Why the code is catalogued although nothing raises it yet. */
  readonly reserved?: string;
}

export interface ErrorEntry {
  readonly kind: 'error';
  /** The folder of language-server/src whose error class throws it. */
  readonly stage: string;
  readonly description: string;
  readonly reserved?: string;
}

export type CodeEntry = DiagnosticEntry | ErrorEntry;

// Generic in the severity and the extras, so each entry's type keeps its literal severity (DiagnosticCodeOf needs it).
const D = <S extends CodeSeverity, M extends { readonly fix?: FixKind; readonly unnecessary?: true; readonly reserved?: string } = {}>(
  severity: S, stage: DiagnosticStage, description: string, more?: M,
) => ({ kind: 'diagnostic' as const, severity, stage, description, ...(more ?? ({} as M)) });
const E = (stage: string, description: string) => ({ kind: 'error', stage, description }) as const;

export const CODES = {
  // ------------------------------------------------------------ lexer and parser (lang/lexer.ts, lang/parser.ts)
  'syntax.bad-character': D('error', 'lexer', "characters that are no part of the language (unicode, a prime, a lone '.')"),
  'syntax.bad-number': D('error', 'lexer', 'a number whose exponent has no digits (1e, 1e+)'),
  'syntax.unclosed-string': D('error', 'lexer', 'a string literal without its closing quote before the end of the line'),
  'syntax.expected': D('error', 'parser', 'something specific was expected here: a name, =, an expression, …'),
  'syntax.unexpected-token': D('error', 'parser', 'a token that cannot start or continue anything here'),
  'syntax.unclosed': D('error', 'parser', "a '(', '[' or '{' without its closing partner"),
  'syntax.too-deep': D('error', 'parser', 'an expression nested more than 500 levels deep (cut off instead of overflowing the stack)'),
  'syntax.missing-let': D('error', 'parser', "'x = …' in a function body where 'let x = …' was meant", { fix: 'add-let' }),
  'syntax.misplaced-init': D('error', 'parser', "'~ init' on a declaration that is not a param, or '= value' on one that is not a state"),
  'syntax.duplicate-return': D('error', 'parser', 'a second return in a function'),
  // ------------------------------------------------------------ size limits (lang/limits.ts) and the front end (compile.ts)
  'limit.arguments': D('error', 'limits', 'a call with more than 1,024 arguments'),
  'limit.item-size': D('error', 'limits', 'an item of more than 500,000 syntax-tree terms'),
  'file.too-complex': D('error', 'compile', 'a file nested too deeply for the checker to analyse at all'),
  // ------------------------------------------------------------ the checker (lang/check.ts)
  'name.duplicate': D('error', 'checker', 'a name declared twice in one scope (related: the first declaration)'),
  'name.unknown': D('error', 'checker', 'a name that is not declared', { fix: 'did-you-mean' }),
  'name.builtin-as-value': D('error', 'checker', 'a builtin function used as a value instead of called'),
  'name.before-definition': D('error', 'checker', "a 'let' read before the line that defines it"),
  'name.outside-model': D('error', 'checker', 'an input, target, param or state named outside a model'),
  'dim.invalid': D('error', 'checker', 'a dim that is not a positive whole number'),
  'dim.too-large': D('error', 'checker', 'a dim larger than 2³¹ − 1'),
  'const.not-finite': D('error', 'checker', 'a const that evaluates to NaN or ±∞'),
  'const.not-constant': D('error', 'checker', 'a dim, const or shape that cannot be folded to a number before the model runs'),
  'const.time-constant': D('warning', 'checker', 'a time constant that is not positive, so exp(-dt/τ) grows'),
  'function.no-return': D('error', 'checker', "a function without 'return'"),
  'equation.not-state': D('error', 'checker', 'an update of something that is not a state'),
  'equation.duplicate': D('error', 'checker', 'a state with two equations (related: the first)'),
  'equation.cycle': D('error', 'checker', "a same-step cycle between updates (s[t+1] reads itself through others' [t+1])"),
  'loss.duplicate': D('error', 'checker', 'a model with two loss equations'),
  'loss.not-scalar': D('error', 'checker', 'a loss that is not a scalar'),
  'loss.window': D('error', 'checker', "a loss window ('for last K', 'after K') that is not a whole number of steps"),
  'ode.no-dt': D('error', 'checker', "a du/dt equation in a model without 'const dt'", { fix: 'add-dt' }),
  'ode.bad-dt': D('error', 'checker', 'a du/dt equation whose dt is zero, negative or not finite'),
  'state.no-update': D('warning', 'checker', 'a state without an equation: it keeps its initial value', { unnecessary: true }),
  'state.unstable': D('warning', 'checker', 'a state whose own coefficient exceeds 1 (or whose rate is positive): it grows without bound'),
  'target.in-dynamics': D('warning', 'checker', 'the dynamics read a target: the label leaks into the network'),
  'init.unknown': D('error', 'checker', 'an unknown initialiser after ~', { fix: 'did-you-mean' }),
  'init.arity': D('error', 'checker', 'an initialiser with the wrong number of arguments'),
  'init.negative-std': D('error', 'checker', 'normal(mean, std) with std < 0'),
  'init.empty-range': D('error', 'checker', 'uniform(lo, hi) with lo ≥ hi'),
  'init.data-and-init': D('error', 'checker', "a param with both '~ init' and '= data(…)'"),
  'var.init-not-param': D('error', 'checker', "'~ init' on a declaration that is not a param"),
  'var.initial-not-state': D('error', 'checker', "'= value' on a declaration that is not a state"),
  'surrogate.duplicate': D('error', 'checker', 'a surrogate declared twice in a model'),
  'surrogate.name': D('error', 'checker', 'a surrogate named like a builtin function'),
  'surrogate.unknown': D('error', 'checker', 'an unknown surrogate function', { fix: 'did-you-mean' }),
  'surrogate.unknown-name': D('error', 'checker', "a call of an unknown function close to one of the model's surrogates", { fix: 'did-you-mean' }),
  'surrogate.arity': D('error', 'checker', 'a surrogate given more than its parameter and a named scale'),
  'surrogate.param': D('error', 'checker', 'a surrogate parameter it does not have, or given twice'),
  'surrogate.param-range': D('error', 'checker', "a surrogate's slope, width or scale that is not a positive number"),
  'spike.no-surrogate': D('error', 'checker', "'spike' called in a model that declares no surrogate (or outside a model)", { fix: 'add-surrogate' }),
  'readout.outside-model': D('error', 'checker', 'a readout over time steps (max_over_time, …) outside a model'),
  'time.outside-model': D('error', 'checker', 'a time index outside a model'),
  'time.index': D('error', 'checker', 'a subscript that is not t, t+1 or a constant delay t-k / t+1-k'),
  'time.no-update': D('error', 'checker', 's[t+1] read for a state without an equation'),
  'time.not-temporal': D('error', 'checker', 'a time index on a param, const or let (only states, inputs and targets have one)'),
  'time.delay': D('error', 'checker', 'a delay that is not a positive whole number of steps, or longer or larger than Eligo keeps'),
  'rule.unknown-model': D('error', 'checker', "'rule … for MODEL' naming no item of the file", { fix: 'did-you-mean' }),
  'rule.not-model': D('error', 'checker', "'rule … for X' where X is a function, not a model"),
  'rule.no-loss': D('error', 'checker', "a rule for a model without 'loss'"),
  'rule.two-schedules': D('error', 'checker', 'a rule with two schedule lines'),
  'rule.unknown-objective': D('error', 'checker', 'an objective other than multiplications, memory or time', { fix: 'did-you-mean' }),
  'rule.two-truncations': D('error', 'checker', 'a rule with two truncate lines'),
  'rule.truncate-range': D('error', 'checker', 'truncate with a step count that is not a whole number ≥ 1'),
  'rule.two-quantizations': D('error', 'checker', 'a rule with two quantize lines'),
  'rule.quantize-range': D('error', 'checker', 'quantize traces with bits outside 2–24 or a seed that is not a whole number ≥ 0'),
  'rule.unknown-limit': D('error', 'checker', "a limit other than 'limit memory'"),
  'rule.unknown-unit': D('error', 'checker', 'a memory limit in an unknown unit'),
  'rule.limit-range': D('error', 'checker', 'a memory limit that is not positive'),
  'rule.unknown-equation': D('error', 'checker', 'approximate d(A)/d(…) where A is no equation of the model'),
  'rule.no-block': D('error', 'checker', 'approximate d(A)/d(B) where A does not read B: the block does not exist'),
  'rule.approx-args': D('error', 'checker', "an approximation's arguments: unknown, repeated, out of range or missing"),
  'grad.unknown-function': D('error', 'checker', 'grad(f) of a name that is no function of the file', { fix: 'did-you-mean' }),
  'grad.not-scalar': D('error', 'checker', 'grad(f) of a function without exactly one scalar output'),
  'grad.position': D('error', 'checker', "grad(f) inside an expression instead of 'let g = grad(f)' at file level"),
  'shape.mismatch': D('error', 'checker', 'operands, a state and its update, or a call\'s arguments with incompatible shapes'),
  'shape.matmul-rank': D('error', 'checker', "'@' with an operand that is not a vector or a matrix"),
  'shape.rank': D('error', 'checker', 'an argument of the wrong rank (cross_entropy of a tensor of rank 3)'),
  'shape.bad-dim': D('error', 'checker', 'a shape dimension that is not a positive integer'),
  'shape.too-large': D('error', 'checker', 'a shape holding more values than Eligo analyses'),
  'index.rank': D('error', 'checker', 'more subscripts than the tensor has axes'),
  'index.range': D('error', 'checker', 'an index or slice out of range for its axis'),
  'axis.range': D('error', 'checker', "'axis = k' out of range for the tensor's rank"),
  'expr.too-deep': D('error', 'checker', 'an expression nested deeper than the checker follows (split it with let)'),
  'expr.list': D('error', 'checker', 'a list [ … ] anywhere but the shape or permutation argument of reshape/transpose'),
  'call.unknown': D('error', 'checker', 'a call of an unknown function', { fix: 'did-you-mean' }),
  'call.arity': D('error', 'checker', 'a call with the wrong number of arguments'),
  'call.named': D('error', 'checker', 'a named argument the function does not take'),
  'call.list': D('error', 'checker', 'reshape/transpose without a list of integers as its second argument'),
  'call.user-function': D('error', 'checker', 'a call of an item of the file (not supported yet)'),
  'transpose.perm': D('error', 'checker', "transpose(x, [...]) whose list is not a permutation of x's axes"),
  'reshape.size': D('error', 'checker', 'reshape to a shape with a different number of values'),
  // ------------------------------------------------------------ the rules engine (rules/diagnostics.ts, rules/blocks.ts)
  'rule.model-unusable': D('error', 'rules', "a rule whose model's graph cannot be built"),
  'rule.data-block': D('error', 'rules', 'an approximation of a block with respect to an input or target (data has no Jacobian)'),
  'rule.zero-block': D('warning', 'rules', 'an approximation of a block that is zero already'),
  'rule.duplicate-approximation': D('warning', 'rules', 'the same block approximated twice (the last line wins)'),
  'rule.not-square': D('error', 'rules', "'diagonal' of a block that is not square"),
  'rule.not-filter': D('error', 'rules', "'filter' of a block that is not a state's scalar decay"),
  'rule.no-feedback': D('error', 'rules', "'random' feedback where no learning signal reaches a state through a matrix"),
  'rule.not-local': D('error', 'rules', "'local' of a block that does not carry credit between two layers' states"),
  'rule.top-range': D('error', 'rules', 'top(k) of a block it cannot sparsify, or k or its pattern out of range'),
  'rule.kind-schedule': D('error', 'rules', "an approximation or option that needs another schedule ('local' and 'top' need online)"),
  'rule.order-incomplete': D('info', 'rules', 'an explicit order that leaves out equations (they are eliminated after, in equation order)'),
  'rule.order-unknown': D('error', 'rules', 'an explicit order naming something that is not an equation of the model'),
  'rule.not-online': D('error', 'rules', 'a schedule that is not online for a hardware profile whose chip learns on chip'),
  'rule.too-much-memory': D('error', 'rules', "a rule needing more memory than the hardware profile's (RTRL at n = 1,024: 16 GiB)"),
  'rule.over-limit': D('warning', 'rules', "a rule needing more memory than its own 'limit memory'"),
  'rule.internal': D('warning', 'rules', 'the rules engine failed on the rule (an internal error, said instead of hidden)'),
  // ------------------------------------------------------------ analysis warnings (analysis/itemAnalysis.ts)
  'rule.hardware': D('warning', 'analysis', "a rule that does not fit the hardware profile's chip (rules/hardware.ts)"),
  'eval.nan': D('warning', 'analysis', 'the first operation whose value is NaN or infinite at the evaluation point while its operands are finite'),
  'spike.vanishing': D('warning', 'analysis', "a surrogate whose ψ(x)/ψ(0) stays under 10⁻³ for every neuron at every step to the evaluation point"),
  'memory.profile': D('warning', 'analysis', "an item whose cheapest Jacobian needs more memory than the hardware profile's"),
  // ------------------------------------------------------------ settings the server cannot use (server/settings.ts), at the start of every document
  'settings.hardware-profile': D('warning', 'settings', 'eligo.hardwareProfile names no profile of the registry and is no size (with did-you-mean)'),
  'settings.queue-redis': D('warning', 'settings', 'eligo.queue.redis is not a Redis URL: jobs run here, not on the queue (the password is never shown)'),
  // ------------------------------------------------------------ data(…) params (interop/paramData.ts)
  'data.untrusted': D('error', 'data', 'data(…) is not read: the workspace is not trusted'),
  'data.path': D('error', 'data', "a data path that is absolute, leaves the model's folder ('..') or links out of it"),
  'data.missing': D('error', 'data', 'no data file at the path, next to the model'),
  'data.read': D('error', 'data', 'the data file cannot be read as HDF5 (not a regular file, over the size limit, damaged)'),
  'data.dataset': D('error', 'data', "the file has no such dataset, or it holds strings or values that are not finite numbers"),
  'data.shape': D('error', 'data', "the dataset's shape differs from the param's"),
  // ------------------------------------------------------------ the bridges, as `eligo import` / `eligo export` print them (cli/exporters.ts)
  'export.nir': D('error', 'interop', 'a part of the model that has no NIR node'),
  'export.lava': D('error', 'interop', 'a part of the rule or model that Lava (Loihi 2) cannot run'),
  'export.torch': D('error', 'interop', 'a part of the model or rule the PyTorch export cannot write'),
  'export.inexact': D('warning', 'interop', 'the exported network differs from the model in the way the message says (a reset, a readout, units)'),
  'import.nir': D('error', 'interop', 'a NIR node or edge that has no Eligo equation'),

  // ------------------------------------------------------------ errors: EligoError codes (util/errors.ts), shown as one line
  'input.duration': E('util', 'a duration that does not parse (1.5h, 90s, 250ms)'),
  'input.size': E('util', 'a size that does not parse (192 KiB, 16 GB)'),
  'file.missing': E('util', 'a file that does not exist'),
  'file.not-regular': E('util', 'a device, FIFO, socket or directory where a file was expected'),
  'file.too-large': E('util', 'a file over the size limit of what reads it'),
  'file.binary': E('util', 'a binary file where a text (.eligo) file was expected'),
  'file.encoding': E('util', 'a text file that is not UTF-8'),
  'file.read': E('util', 'a file that could not be read'),
  'file.write': E('util', 'a file that could not be written (the original is kept: writes are atomic)'),
  'file.changed': E('util', 'a file that changed on disk since it was read: the write is refused'),
  'lang.loss-window': E('lang', 'a loss window that does not fit in the steps of the run'),
  'compile.item': E('compile', 'no item of that name or kind in the file, or the item has errors'),
  'graph.build': E('graph', 'the graph of an item cannot be built (over the vertex limit, an unsupported construct)'),
  'graph.grad': E('graph', 'grad(f) of a function without one scalar output, or whose adjoint cannot be built'),
  'graph.input': E('graph', "a function's inputs (--inputs, '# @eval {…}') that are not JSON numbers or arrays of numbers"),
  'graph.evaluation': E('graph', 'the evaluator met a vertex it cannot compute (an inconsistency, said rather than hidden)'),
  'graph.order-name': E('graph', 'an elimination order naming something that is no vertex'),
  'graph.unknown-vertex': E('graph', 'a vertex name that the graph does not have'),
  'graph.param-data': E('graph', 'a data(…) param whose values were not loaded or do not fit its shape'),
  'ad.order': E('ad', 'an elimination order that is not a permutation of the interior vertices'),
  'ad.too-large': E('ad', 'a Jacobian too large to hold'),
  'ad.non-finite': E('ad', 'a value or partial derivative that is not finite at the point the graph is linearised at'),
  'search.option': E('search', 'an invalid search option (objective, strategy, limit)'),
  'search.measure': E('search', 'time cannot be measured: the numeric elimination fails at the point (give one where the derivatives are finite)'),
  'rules.profile': E('rules', 'an unknown hardware profile (the CLI\'s --hardware)'),
  'rules.schedule': E('rules', "an elimination order naming something that is not an equation of the rule's model"),
  'rules.stopped': E('rules', 'the execution of a rule was stopped (cancelled)'),
  'discovery.input': E('discovery', 'find-rule on a model it cannot train on the task (no input or target, a task that does not fit)'),
  'discovery.payload': E('discovery', "a rule candidate's payload (a queue task's) that does not validate"),
  'discovery.agent': E('discovery', 'a rule agent file (--agent) that is not a network of the expected shape'),
  'train.task': E('train', 'an unknown task, task settings that are not key=value in range, or data that does not fit the model'),
  'train.model': E('train', 'a model the trainer cannot feed (it needs one input and one target)'),
  'train.rule': E('train', 'a rule the trainer cannot run: not in the file, not for the model, or with errors'),
  'train.online': E('train', 'an online program that does not match its rule (an inconsistency, said rather than hidden)'),
  'train.compile': E('train', 'a model step or rule program the compiler cannot translate'),
  'train.refused': E('train', 'a run refused before it starts (memory estimate over the limit)'),
  'train.checkpoint': E('train', 'a checkpoint that does not fit the run or cannot be read'),
  'train.cancelled': E('train', 'a run cancelled while it trained'),
  'interop.nir': E('interop', 'a NIR file that is not a graph Eligo reads'),
  'interop.nir-export': E('interop', 'a model that cannot be exported to NIR (its problems, located)'),
  'interop.hdf5': E('interop', 'an HDF5 file that cannot be read or written'),
  'interop.lava': E('interop', 'a rule that cannot be exported to Lava'),
  'interop.torch': E('interop', 'a model or rule that cannot be exported to PyTorch'),
  'interop.bridge': E('interop', "a bridge's problems, located in the .eligo file"),
  'interop.equation': E('interop', 'an equation that does not match a neuron equation of the target (NIR, Lava, PyTorch)'),
  'interop.output-exists': E('interop', 'an output file exists and --force was not given'),
  'layout.too-big': E('layout', 'a graph too large to lay out (collapse it)'),
  'job.refused': E('jobs', 'a job not started: bad parameters, an item with errors, an untrusted workspace, memory over the limit'),
  'job.unavailable': E('jobs', 'no job kind of that name'),
  'queue.url': E('jobs', 'a Redis URL that does not parse (the password is hidden in the message)'),
  'queue.payload': E('jobs', "a queue task's payload that does not validate"),
  'queue.task': E('jobs', 'a task of a queued run failed on a worker'),
  'queue.cancelled': E('jobs', 'a queued run was cancelled'),
  'server.stale-request': E('server', 'a request whose document changed while it waited (answered ContentModified)'),
  'cli.usage': E('cli', 'a command line the CLI does not accept (exit 2)'),
  'cli.input': E('cli', 'the input has errors (exit 1)'),
} as const satisfies Readonly<Record<string, CodeEntry>>;

type Catalogue = typeof CODES;

/** Every catalogued code. */
export type Code = keyof Catalogue;

/** The code of a diagnostic (a Diagnostic's, or a problem's that becomes one). */
export type DiagnosticCode = { [K in Code]: Catalogue[K]['kind'] extends 'diagnostic' ? K : never }[Code];

/** The diagnostic codes raised with severity S. */
export type DiagnosticCodeOf<S extends CodeSeverity> = { [K in DiagnosticCode]: Catalogue[K] extends { readonly severity: S } ? K : never }[DiagnosticCode];

/** The code of an EligoError. */
export type ErrorCode = { [K in Code]: Catalogue[K]['kind'] extends 'error' ? K : never }[Code];

// A Map, not the object: a code from the wire ('__proto__', 'constructor') must not find Object's properties.
const BY_CODE: ReadonlyMap<string, CodeEntry> = new Map(Object.entries(CODES));

/** The catalogue's entry of `code`; undefined for a string that is not a code (a client's, an old server's). */
export function codeInfo(code: string): CodeEntry | undefined {
  return BY_CODE.get(code);
}

export function isDiagnosticCode(code: string): code is DiagnosticCode {
  return BY_CODE.get(code)?.kind === 'diagnostic';
}

/** The quick fix of a diagnostic code, if it has one. */
export function fixOf(code: string): FixKind | undefined {
  const e = BY_CODE.get(code);
  return e?.kind === 'diagnostic' ? e.fix : undefined;
}
