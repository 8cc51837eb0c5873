// A model and a learning rule → one self-contained Python module (torch only).
//
// The module has the model's step, generated vertex by vertex from the step
// graph (graph/build.ts) — delay registers and readouts over time are states
// there like any other, a windowed loss reads its weight as data — with each
// spike vertex a torch.autograd.Function whose backward is that vertex's
// surrogate with its scale (the registry's ψ of lang/surrogates.ts, written
// in torch, the formula ad/rules.ts runs), the
// rule's online update program (rules/program.ts: blocks → learning signals →
// traces → weight update, the kernels of rules/execute.ts) under
// torch.no_grad(), and exact BPTT through autograd with the same surrogates.
// Blocks are partial Jacobians of one equation w.r.t. one operand it reads
// directly; the step cuts every other equation's t+1 value into a fresh leaf
// so that autograd gives exactly those (a vector-Jacobian product with ones
// when the engine's sparsity says the block is diagonal, shared or row-wise;
// the full Jacobian otherwise). Everything runs in float64 so the updates can
// be compared with the Float64 executor (test/interop-torch.test.ts: 1e-5).

import type { Compiled } from '../compile.js';
import type { ModelStepGraph } from '../graph/build.js';
import type { Surrogate, Vertex } from '../graph/types.js';
import { walk } from '../lang/check.js';
import { describeLossWindow } from '../lang/lossWindow.js';
import type { LossWindow, ModelScope } from '../lang/symbols.js';
import { formatSurrogate, SURROGATE_KINDS, surrogatePsi, type SurrogateOps } from '../lang/surrogates.js';
import type { OnlineProgram } from '../rules/program.js';
import { EligoError } from '../util/errors.js';

export class TorchExportError extends EligoError {
  constructor(message: string) {
    super('interop.torch', message);
  }
}

export interface TorchExportInput {
  readonly compiled: Compiled;
  readonly scope: ModelScope;
  readonly graph: ModelStepGraph;
  readonly model: string;
  /** The rule's name and online program; null program: the module does exact BPTT only. */
  readonly rule: string | null;
  readonly program: OnlineProgram | null;
  /** The source file's name, for the header. */
  readonly source?: string;
}

const UNARY: Record<string, (x: string) => string> = {
  neg: (x) => `-${x}`,
  exp: (x) => `torch.exp(${x})`,
  log: (x) => `torch.log(${x})`,
  sqrt: (x) => `torch.sqrt(${x})`,
  abs: (x) => `torch.abs(${x})`,
  sin: (x) => `torch.sin(${x})`,
  cos: (x) => `torch.cos(${x})`,
  tan: (x) => `torch.tan(${x})`,
  asin: (x) => `torch.asin(${x})`,
  acos: (x) => `torch.acos(${x})`,
  atan: (x) => `torch.atan(${x})`,
  sinh: (x) => `torch.sinh(${x})`,
  cosh: (x) => `torch.cosh(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  asinh: (x) => `torch.asinh(${x})`,
  acosh: (x) => `torch.acosh(${x})`,
  atanh: (x) => `torch.atanh(${x})`,
  log1p: (x) => `torch.log1p(${x})`,
  erf: (x) => `torch.erf(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  relu: (x) => `torch.relu(${x})`,
  softplus: (x) => `_softplus(${x})`,
  stop: (x) => `${x}.detach()`,
};

const BINARY: Record<string, (x: string, y: string) => string> = {
  add: (x, y) => `${x} + ${y}`,
  sub: (x, y) => `${x} - ${y}`,
  mul: (x, y) => `${x} * ${y}`,
  div: (x, y) => `${x} / ${y}`,
  pow: (x, y) => `torch.pow(${x}, ${y})`,
  atan2: (x, y) => `torch.atan2(${x}, ${y})`,
  max: (x, y) => `torch.maximum(${x}, ${y})`,
  min: (x, y) => `torch.minimum(${x}, ${y})`,
};

const py = (xs: readonly number[]): string => `(${xs.join(', ')}${xs.length === 1 ? ',' : ''})`;
const pyNum = (x: number): string => (Number.isFinite(x) ? String(x) : x > 0 ? 'float("inf")' : x < 0 ? 'float("-inf")' : 'float("nan")');

/** Python text for the registry's surrogate formulas (lang/surrogates.ts): the one definition of ψ, written in torch. */
const PY_OPS: SurrogateOps<string> = {
  abs: (x) => `torch.abs(${x})`,
  mulc: (x, k) => `(${pyNum(k)} * ${x})`,
  divc: (x, k) => `(${x} / ${pyNum(k)})`,
  addc: (x, k) => `(${x} + ${pyNum(k)})`,
  rsubc: (k, x) => `(${pyNum(k)} - ${x})`,
  mul: (a, b) => `(${a} * ${b})`,
  reciprocal: (x) => `(1.0 / ${x})`,
  square: (x) => `(${x} * ${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  exp: (x) => `torch.exp(${x})`,
  relu: (x) => `torch.clamp(${x}, min=0.0)`,
};

/** The surrogates the step's spike vertices use, each once (a model may declare several, each with its scale). */
function surrogatesOf(graph: ModelStepGraph): Map<string, { readonly cls: string; readonly surrogate: Surrogate }> {
  const out = new Map<string, { cls: string; surrogate: Surrogate }>();
  const used = new Set<string>();
  for (const v of graph.vertices) {
    if (v.op !== 'spike') continue;
    const s = v.attrs.surrogate;
    if (!s) throw new TorchExportError(`vertex ${v.id} (spike) has no surrogate`);
    if (!SURROGATE_KINDS.has(s.kind)) throw new TorchExportError(`surrogate '${s.kind}' has no PyTorch export yet`);
    const key = surrogateKey(s);
    if (out.has(key)) continue;
    const base = (s.name ?? 'spike').replace(/[^A-Za-z0-9_]/g, '_');
    let cls = `Spike_${base}`;
    for (let k = 2; used.has(cls); k++) cls = `Spike_${base}${k}`;
    used.add(cls);
    out.set(key, { cls, surrogate: s });
  }
  return out;
}

const surrogateKey = (s: Surrogate): string => `${s.name ?? ''}|${formatSurrogate(s)}`;

function surrogateClasses(surrogates: ReadonlyMap<string, { readonly cls: string; readonly surrogate: Surrogate }>): string[] {
  const lines: string[] = [];
  for (const { cls, surrogate } of surrogates.values()) {
    lines.push(
      '',
      '',
      `class ${cls}(torch.autograd.Function):`,
      `    """${surrogate.name ?? 'spike'}(x): Heaviside step forward; backward the pseudo-derivative of surrogate ${surrogate.name ?? 'spike'} = ${formatSurrogate(surrogate)}."""`,
      '',
      '    @staticmethod',
      '    def forward(ctx, x):',
      '        ctx.save_for_backward(x)',
      '        return (x > 0).to(x.dtype)',
      '',
      '    @staticmethod',
      '    def backward(ctx, g):',
      '        (x,) = ctx.saved_tensors',
      `        return g * ${surrogatePsi(PY_OPS, surrogate, 'x')}`,
    );
  }
  return lines;
}

/** The step function's body: one line per vertex. */
function stepCode(graph: ModelStepGraph, consts: string[], surrogates: ReadonlyMap<string, { readonly cls: string }>): string[] {
  const lines: string[] = [];
  // A state without an update has its leaf as "next": reads of the leaf stay reads of s[t].
  const next = new Map(graph.model.states.filter((s) => s.next !== s.leaf).map((s) => [s.next, s.name]));
  const ref = (id: number): string => (next.has(id) ? `c_${next.get(id)!}` : `v${id}`);
  for (const v of graph.vertices) {
    const a = v.inputs.map(ref);
    let e: string;
    switch (v.op) {
      case 'state':
        e = `states[${JSON.stringify(v.name)}]`;
        break;
      case 'param':
        e = `params[${JSON.stringify(v.name)}]`;
        break;
      case 'input':
      case 'target':
        e = `data[${JSON.stringify(v.name)}]`;
        break;
      case 'const': {
        consts.push(`torch.tensor([${Array.from(v.attrs.value ?? [], pyNum).join(', ')}], dtype=DTYPE).reshape(${py(v.shape)})`);
        e = `CONSTS[${consts.length - 1}]`;
        break;
      }
      case 'powc':
        e = `${a[0]} ** ${pyNum(v.attrs.exponent ?? 1)}`;
        break;
      case 'matmul':
        e = `torch.matmul(${a[0]}, ${a[1]})`;
        break;
      case 'sum':
        e = `_reduce(torch.sum, ${a[0]}, ${v.attrs.axes ? py(v.attrs.axes) : 'None'})`;
        break;
      case 'reduce_max':
        e = `_reduce(torch.amax, ${a[0]}, ${v.attrs.axes ? py(v.attrs.axes) : 'None'})`;
        break;
      case 'reduce_min':
        e = `_reduce(torch.amin, ${a[0]}, ${v.attrs.axes ? py(v.attrs.axes) : 'None'})`;
        break;
      case 'broadcast':
        e = `_broadcast(${a[0]}, ${py(v.shape)}, ${v.attrs.axes ? py(v.attrs.axes) : 'None'})`;
        break;
      case 'transpose':
        e = v.attrs.perm ? `${a[0]}.permute(${py(v.attrs.perm)})` : `${a[0]}.permute(*reversed(range(${a[0]}.dim())))`;
        break;
      case 'reshape':
        e = `${a[0]}.reshape(${py(v.shape)})`;
        break;
      case 'slice':
        e = `_slice(${a[0]}, ${py(v.attrs.starts ?? [])}, ${py(v.attrs.ends ?? [])}, ${py(v.attrs.squeeze ?? [])})`;
        break;
      case 'concat':
        e = `torch.cat([${a.join(', ')}], dim=${v.attrs.axis ?? 0})`;
        break;
      case 'spike':
        e = `${surrogates.get(surrogateKey(v.attrs.surrogate!))!.cls}.apply(${a[0]})`;
        break;
      default:
        if (UNARY[v.op]) e = UNARY[v.op]!(a[0]!);
        else if (BINARY[v.op]) e = BINARY[v.op]!(`_b(${a[0]}, ${py(v.shape)})`, `_b(${a[1]}, ${py(v.shape)})`);
        else throw new TorchExportError(`vertex ${v.id} (${v.op}) has no PyTorch translation`);
    }
    lines.push(`v${v.id} = ${e}${comment(v)}`);
    if (next.has(v.id))
      lines.push(`c_${next.get(v.id)!} = v${v.id}.detach().requires_grad_(True) if cut else v${v.id}   # ${next.get(v.id)}[t+1] as read by other equations`);
  }
  return lines;
}

/** The targets the loss reads as the labels of a cross-entropy (its second argument): their random data is one-hot. */
function classTargets(scope: ModelScope): Set<string> {
  const out = new Set<string>();
  if (!scope.loss) return out;
  walk(scope.loss, (e) => {
    if (e.kind !== 'call' || e.callee.name !== 'cross_entropy' || !e.args[1]) return;
    walk(e.args[1], (a) => {
      const name = a.kind === 'name' ? a.name : a.kind === 'time' ? a.name.name : undefined;
      if (name !== undefined && scope.symbols.get(name)?.kind === 'target') out.add(name);
    });
  });
  return out;
}

function lossWindowPy(w: LossWindow): string {
  switch (w.kind) {
    case 'every':
      return '("every", 0)';
    case 'last':
      return '("last", 1)';
    case 'window':
      return w.from === 'end' ? `("for_last", ${w.count})` : `("after", ${w.count})`;
  }
}

function comment(v: Vertex): string {
  if (v.role === 'state-next') return `   # ${v.name}[t+1]`;
  if (v.role === 'loss') return '   # loss';
  if (v.name && v.role === 'op') return `   # ${v.name}`;
  return '';
}

/** The program as JSON data for the Python executor (rendered equations left out; they are in the header). */
function programJson(p: OnlineProgram): string {
  return JSON.stringify({
    states: p.states,
    params: p.params,
    untrained: p.untrained,
    blocks: p.blocks.map((b) => ({
      id: b.id,
      of: b.of,
      wrt: b.wrt,
      outShape: b.outShape,
      inShape: b.inShape,
      form: b.form,
      valueShape: b.valueShape,
      approximation: b.approximation,
    })),
    traces: p.traces.map((t) => ({
      name: t.name,
      state: t.state,
      param: t.param,
      storage: t.storage,
      valueShape: t.valueShape,
      terms: t.terms,
      direct: t.direct ?? null,
    })),
    signals: p.signals.map((s) => ({ name: s.name, state: s.state, shape: s.shape, direct: s.direct ?? null, terms: s.terms })),
    updates: p.updates.map((u) => ({ param: u.param, shape: u.shape, terms: u.terms, direct: u.direct ?? null, lossPrevious: u.lossPrevious })),
  });
}

export function torchModule(inp: TorchExportInput): string {
  const { graph, scope, model, rule, program } = inp;
  const consts: string[] = [];
  const surrogates = surrogatesOf(graph);
  const step = stepCode(graph, consts, surrogates);
  // Hidden states (delay registers, readouts over time) start where graph/simulate.ts initialStates starts them.
  const hidden = new Map(scope.hidden.map((h) => [h.name, h.initial]));
  const states = graph.model.states.map((s) => ({
    name: s.name,
    shape: graph.vertices[s.leaf]!.shape,
    initial: hidden.get(s.name) ?? scope.initialStates.get(s.name) ?? 0,
  }));
  const params = graph.model.params.map((p) => ({
    name: p.name,
    shape: graph.vertices[p.leaf]!.shape,
    init: scope.initialisers.get(p.name) ?? { kind: 'normal', mean: 0, std: 0.1 },
  }));
  const classes = classTargets(scope);
  const data = graph.model.data.map((d) => ({
    name: d.name,
    role: d.role === 'target' && classes.has(d.name) ? 'class' : d.role,
    shape: graph.vertices[d.leaf]!.shape,
  }));
  const inits = params.map((p) => {
    const i = p.init;
    const spec =
      i.kind === 'normal'
        ? `('normal', ${pyNum(i.mean)}, ${pyNum(i.std)})`
        : i.kind === 'uniform'
          ? `('uniform', ${pyNum(i.lo)}, ${pyNum(i.hi)})`
          : i.kind === 'data'
            ? `('data', ${JSON.stringify(i.file)}, ${JSON.stringify(i.dataset)})`
            : `('${i.kind}',)`;
    return `    ${JSON.stringify(p.name)}: (${py(p.shape)}, ${spec}),`;
  });
  const header = [
    `"""${model}${rule ? ` · rule ${rule}` : ''}: exported from Eligo${inp.source ? ` (${inp.source})` : ''}.`,
    '',
    'Self-contained (torch only), float64. Functions:',
    "  step(states, params, data)            one time step of the model: next states and the step's loss",
    ...(program ? ["  online_update(params, data, steps)    the rule's accumulated update, computed online (no stored history)"] : []),
    '  bptt_gradient(params, data, steps)    the exact gradient of the summed loss by backpropagation through time',
    '  init_params(seed), random_data(steps, seed), train(...)',
    'data maps each input and target name to a tensor [steps, *shape]; step t reads data[name][t] (x[t+1] in Eligo).',
    ...(program ? ['', `The online program of rule ${rule} (Eligo's derivation, rules/derive.ts):`, ...program.equations.text.map((l) => `    ${l}`)] : []),
    '"""',
  ];
  const lines: string[] = [
    ...header,
    '',
    'import json',
    'import math',
    'import torch',
    '',
    'DTYPE = torch.float64',
    `MODEL = ${JSON.stringify(model)}`,
    `RULE = ${rule ? JSON.stringify(rule) : 'None'}`,
    `STATES = [${states.map((s) => `(${JSON.stringify(s.name)}, ${py(s.shape)}, ${pyNum(s.initial)})`).join(', ')}]`,
    `DATA = [${data.map((d) => `(${JSON.stringify(d.name)}, ${JSON.stringify(d.role)}, ${py(d.shape)})`).join(', ')}]`,
    'PARAMS = {',
    ...inits,
    '}',
    '',
    '',
    `LOSS_WINDOW = ${lossWindowPy(scope.lossWindow)}   # which steps the loss counts: ${describeLossWindow(scope.lossWindow)}`,
    ...surrogateClasses(surrogates),
    '',
    '',
    'def _b(x, shape):',
    '    return x if x.dim() == 0 or tuple(x.shape) == tuple(shape) else x.reshape(shape)',
    '',
    '',
    'def _softplus(x):',
    '    return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-torch.abs(x)))',
    '',
    '',
    'def _reduce(f, x, axes):',
    '    if axes is None or len(axes) == x.dim():',
    '        return f(x.reshape(-1), dim=0) if x.dim() > 0 else x',
    '    return f(x, dim=axes)',
    '',
    '',
    'def _broadcast(x, shape, axes):',
    '    if axes is None:',
    '        axes = tuple(range(len(shape) - x.dim(), len(shape)))',
    '    view = [1] * len(shape)',
    '    for k, a in enumerate(axes):',
    '        view[a] = x.shape[k]',
    '    return x.reshape(view).expand(*shape)',
    '',
    '',
    'def _slice(x, starts, ends, squeeze):',
    '    index = tuple(s if k in squeeze else slice(s, e) for k, (s, e) in enumerate(zip(starts, ends)))',
    '    return x[index]',
    '',
    '',
    '# Constants of the step graph (folded sub-expressions of the model).',
    'CONSTS = [',
    ...consts.map((k) => `    ${k},`),
    ']',
    '',
    '',
    'def step(states, params, data, cut=False):',
    '    """One step t → t+1: the next states, the step\'s loss, and each next state as the other equations read it.',
    '',
    '    With cut=True those reads are fresh leaves, so gradients through them are the blocks ∂a[t+1]/∂b[t+1]."""',
    ...step.map((l) => `    ${l}`),
    `    nxt = {${graph.model.states.map((s) => `${JSON.stringify(s.name)}: v${s.next}`).join(', ')}}`,
    `    cuts = {${graph.model.states.map((s) => `${JSON.stringify(s.name)}: c_${s.name}`).join(', ')}}`,
    `    loss = ${graph.model.loss !== undefined ? `v${graph.model.loss}` : 'torch.zeros((), dtype=DTYPE)'}`,
    '    return nxt, loss, cuts',
    '',
    '',
    'def initial_states():',
    '    return {name: torch.full(shape, float(value), dtype=DTYPE) for name, shape, value in STATES}',
    '',
    '',
    'def init_params(seed=0, values=None):',
    '    """Parameters from the model\'s initialisers (torch\'s generator: not the same draws as Eligo\'s);',
    '    `values` gives params whose initialiser is data(…) or any others, by name."""',
    '    g = torch.Generator().manual_seed(seed)',
    '    out = {}',
    '    for name, (shape, init) in PARAMS.items():',
    '        if values is not None and name in values:',
    '            out[name] = torch.as_tensor(values[name], dtype=DTYPE).reshape(shape).clone()',
    '        elif init[0] == "normal":',
    '            out[name] = init[1] + init[2] * torch.randn(shape, generator=g, dtype=DTYPE)',
    '        elif init[0] == "uniform":',
    '            out[name] = init[1] + (init[2] - init[1]) * torch.rand(shape, generator=g, dtype=DTYPE)',
    '        elif init[0] == "glorot":',
    '            fan_out = shape[0] if shape else 1',
    '            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1',
    '            a = math.sqrt(6.0 / (fan_in + fan_out))',
    '            out[name] = -a + 2 * a * torch.rand(shape, generator=g, dtype=DTYPE)',
    '        elif init[0] == "zeros":',
    '            out[name] = torch.zeros(shape, dtype=DTYPE)',
    '        else:',
    '            raise ValueError(f"param {name} takes its values from data({init[1]!r}, {init[2]!r}): pass them as values={{{name!r}: …}}")',
    '    return out',
    '',
    '',
    'def loss_weights(steps):',
    '    """w_t of the loss window for t = 1…steps (lang/lossWindow.ts): the weight data a windowed loss reads."""',
    '    kind, count = LOSS_WINDOW',
    '    w = torch.zeros(steps, dtype=DTYPE)',
    '    if kind == "every":',
    '        w[:] = 1.0',
    '    elif kind == "last":',
    '        w[steps - 1] = 1.0',
    '    elif kind == "for_last":',
    '        if count > steps:',
    '            raise ValueError(f"the loss counts the last {count} steps but the sequence has {steps}")',
    '        w[steps - count:] = 1.0',
    '    else:',
    '        if count >= steps:',
    '            raise ValueError(f"the loss counts the steps after the first {count} but the sequence has {steps}")',
    '        w[count:] = 1.0',
    '    return w',
    '',
    '',
    'def random_data(steps, seed=0):',
    '    """Inputs: Bernoulli(0.2) spikes; targets: standard normal (as Eligo\'s randomData), or for the labels',
    '    of a cross-entropy one random class per sequence, one-hot; the loss window\'s weights."""',
    '    g = torch.Generator().manual_seed(seed)',
    '    out = {}',
    '    for name, role, shape in DATA:',
    '        if role == "input":',
    '            out[name] = (torch.rand((steps, *shape), generator=g, dtype=DTYPE) < 0.2).to(DTYPE)',
    '        elif role == "target":',
    '            out[name] = torch.randn((steps, *shape), generator=g, dtype=DTYPE)',
    '        elif role == "class":',
    '            label = int(torch.randint(shape[-1], (), generator=g))',
    '            out[name] = torch.nn.functional.one_hot(torch.full((steps, *shape[:-1]), label), shape[-1]).to(DTYPE)',
    '        else:',
    '            out[name] = loss_weights(steps).reshape(steps, *shape)',
    '    return out',
    '',
    '',
    'def _at(data, t):',
    '    return {k: v[t] for k, v in data.items()}',
    '',
    '',
    'def bptt_gradient(params, data, steps, states=None):',
    '    """Exact gradient of the summed loss through autograd (stores the whole sequence). Returns (grads, total loss)."""',
    '    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}',
    '    s = initial_states() if states is None else dict(states)',
    '    total = torch.zeros((), dtype=DTYPE)',
    '    for t in range(steps):',
    '        s, loss, _ = step(s, leaves, _at(data, t))',
    '        total = total + loss',
    '    grads = torch.autograd.grad(total, list(leaves.values()), allow_unused=True)',
    '    return {k: (g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(leaves, grads)}, float(total)',
  ];
  if (program) lines.push(...onlineCode(programJson(program)));
  lines.push(...trainCode(program !== null));
  return `${lines.join('\n')}\n`;
}

function onlineCode(json: string): string[] {
  return [
    '',
    '',
    `PROGRAM = json.loads(r'''${json}''')`,
    '',
    '',
    'def _size(shape):',
    '    return math.prod(shape) if len(shape) else 1',
    '',
    '',
    'def _vjp_ones(out, wrt):',
    '    g = torch.autograd.grad(out, wrt, grad_outputs=torch.ones_like(out), retain_graph=True, allow_unused=True)[0]',
    '    return torch.zeros_like(wrt) if g is None else g',
    '',
    '',
    'def _jacobian(out, wrt):',
    '    """The full Jacobian [out size, *wrt shape], one backward pass per output element."""',
    '    flat = out.reshape(-1)',
    '    rows = []',
    '    for k in range(flat.numel()):',
    '        g = torch.autograd.grad(flat[k], wrt, retain_graph=True, allow_unused=True)[0]',
    '        rows.append(torch.zeros_like(wrt) if g is None else g)',
    '    return torch.stack(rows) if rows else torch.zeros((0, *wrt.shape), dtype=DTYPE)',
    '',
    '',
    'def block_values(states, params, data_t):',
    '    """Every block the program lists, in its storage form (rules/program.ts), and the step\'s next states and loss."""',
    '    with torch.enable_grad():',
    '        st = {k: v.detach().requires_grad_(True) for k, v in states.items()}',
    '        pr = {k: v.detach().requires_grad_(True) for k, v in params.items()}',
    '        nxt, loss, cuts = step(st, pr, data_t, cut=True)',
    '        values = {}',
    '        for b in PROGRAM["blocks"]:',
    '            out = loss if b["of"] == "loss" else nxt[b["of"]]',
    '            w = b["wrt"]',
    '            wrt = pr[w["name"]] if w["kind"] == "param" else (cuts[w["name"]] if w["offset"] == 1 else st[w["name"]])',
    '            form, exact = b["form"], b["approximation"] != "diagonal"',
    '            if form == "dense" or not exact:',
    '                J = _jacobian(out, wrt)',
    '                if form == "dense":',
    '                    v = J.reshape(b["valueShape"])',
    '                else:   # the diagonal of a block the rule makes diagonal',
    '                    v = torch.diagonal(J.reshape(_size(b["outShape"]), _size(b["inShape"])))',
    '            else:',
    "                s = _vjp_ones(out, wrt)   # Σ_j J[j, ·]: the block's values when it is diagonal, shared or row-wise",
    '                v = s.reshape(-1)[:1] if form == "scalar" else (s[0] if form == "shared" else s)',
    '            values[b["id"]] = v.detach().reshape(-1).clone()',
    '    return values, {k: v.detach() for k, v in nxt.items()}, float(loss)',
    '',
    '',
    'def _dims(state_shape, param_shape):',
    '    J = _size(state_shape)',
    '    P = param_shape[0] if len(param_shape) else 1',
    '    R = _size(param_shape[1:]) if len(param_shape) > 1 else 1',
    '    return J, P, R',
    '',
    '',
    'def _as_trace(form, v):',
    '    return ("shared" if form in ("scalar", "shared") else "row" if form in ("diagonal", "row") else "dense"), v',
    '',
    '',
    'def _block_times_trace(form, e, A, g, d):',
    '    storage, v = g',
    '    J, P, R = d',
    '    if form == "scalar":',
    '        return storage, e[0] * v',
    '    if form == "diagonal":',
    '        if storage == "dense":',
    '            return "dense", (e.reshape(J, 1) * v.reshape(J, P * R)).reshape(-1)',
    '        V = v.reshape(J, R) if storage == "row" else v.reshape(1, R).expand(J, R)',
    '        return "row", (e.reshape(J, 1) * V).reshape(-1)',
    '    E = e.reshape(A, J)',
    '    if storage == "dense":',
    '        return "dense", (E @ v.reshape(J, P * R)).reshape(-1)',
    '    V = v.reshape(P, R) if storage == "row" else v.reshape(1, R).expand(P, R)',
    '    return "dense", (E[:, :P].reshape(A, P, 1) * V.reshape(1, P, R)).reshape(-1)',
    '',
    '',
    'def _accumulate(target, src, d):',
    '    ts, t = target',
    '    ss, s = src',
    '    J, P, R = d',
    '    if ss == ts:',
    '        return ts, t + s',
    '    if ts == "row":',
    '        return ts, (t.reshape(J, R) + s.reshape(1, R)).reshape(-1)',
    '    T = t.reshape(J, P, R).clone()',
    '    S = s.reshape(J, R) if ss == "row" else s.reshape(1, R).expand(J, R)',
    '    idx = torch.arange(J)',
    '    T[idx, idx, :] += S',
    '    return ts, T.reshape(-1)',
    '',
    '',
    'def _contract(lam, g, d):',
    '    """ΔW[p, r] = Σ_j λ[j] G[j, p, r]."""',
    '    storage, v = g',
    '    J, P, R = d',
    '    if storage == "dense":',
    '        return (lam.reshape(1, J) @ v.reshape(J, P * R)).reshape(-1)',
    '    V = v.reshape(P, R) if storage == "row" else v.reshape(1, R).expand(P, R)',
    '    return (lam[:P].reshape(P, 1) * V).reshape(-1)',
    '',
    '',
    'def _vjp(lam, form, e, A, B):',
    '    """λᵀ E for a state-to-state (or loss) block."""',
    '    if form == "scalar":',
    '        return e[0] * lam',
    '    if form == "diagonal":',
    '        return e * lam',
    '    return lam.reshape(1, A) @ e.reshape(A, B)',
    '',
    '',
    'def online_update(params, data, steps, states=None):',
    '    """The rule\'s accumulated update over `steps` steps (rules/execute.ts runOnline). Returns (update, total loss)."""',
    '    P = PROGRAM',
    '    state_shape = {s["name"]: s["shape"] for s in P["states"]}',
    '    param_shape = {p["name"]: p["shape"] for p in P["params"]}',
    '    spec = {b["id"]: b for b in P["blocks"]}',
    '    dims = {t["name"]: _dims(state_shape[t["state"]], param_shape[t["param"]]) for t in P["traces"]}',
    '    grad = {p["name"]: torch.zeros(_size(p["shape"]), dtype=DTYPE) for p in P["params"]}',
    '    G = {t["name"]: (t["storage"], torch.zeros(_size(t["valueShape"]), dtype=DTYPE)) for t in P["traces"]}',
    '    s = initial_states() if states is None else dict(states)',
    '    total = 0.0',
    '    with torch.no_grad():',
    '        for t in range(steps):',
    '            values, nxt, loss = block_values(s, params, _at(data, t))',
    '            total += loss',
    '            lam = {}',
    '            for sig in P["signals"]:',
    '                n = _size(sig["shape"])',
    '                l = torch.zeros(n, dtype=DTYPE)',
    '                if sig["direct"]:',
    '                    l = l + values[sig["direct"]][:n]',
    '                for term in sig["terms"]:',
    '                    b = spec[term["block"]]',
    '                    l = l + _vjp(lam[term["signal"]], b["form"], values[b["id"]], _size(b["outShape"]), n).reshape(-1)',
    '                lam[sig["name"]] = l',
    '            fresh = {}',
    '            for tr in P["traces"]:',
    '                d = dims[tr["name"]]',
    '                acc = (tr["storage"], torch.zeros(_size(tr["valueShape"]), dtype=DTYPE))',
    '                for term in tr["terms"]:',
    '                    b = spec[term["block"]]',
    '                    src = G[term["trace"]] if term["time"] == "previous" else fresh[term["trace"]]',
    '                    acc = _accumulate(acc, _block_times_trace(b["form"], values[b["id"]], _size(b["outShape"]), src, dims[term["trace"]]), d)',
    '                if tr["direct"]:',
    '                    acc = _accumulate(acc, _as_trace(spec[tr["direct"]]["form"], values[tr["direct"]]), d)',
    '                fresh[tr["name"]] = acc',
    '            for u in P["updates"]:',
    '                ps = param_shape[u["param"]]',
    '                for term in u["terms"]:',
    '                    sig = next(x for x in P["signals"] if x["name"] == term["signal"])',
    '                    l = lam[term["signal"]]',
    '                    d = _dims(state_shape[sig["state"]], ps)',
    '                    f = term["factor"]',
    '                    if f["kind"] == "trace":',
    '                        grad[u["param"]] += _contract(l, fresh[f["trace"]], d)',
    '                    elif f["kind"] == "direct":',
    '                        grad[u["param"]] += _contract(l, _as_trace(spec[f["block"]]["form"], values[f["block"]]), d)',
    '                    else:',
    '                        b = spec[f["block"]]',
    '                        mu = _vjp(l, b["form"], values[b["id"]], _size(b["outShape"]), _size(b["inShape"])).reshape(-1)',
    '                        grad[u["param"]] += _contract(mu, G[f["trace"]], dims[f["trace"]])',
    '                for lp in u["lossPrevious"]:',
    '                    grad[u["param"]] += _contract(values[lp["block"]], G[lp["trace"]], dims[lp["trace"]])',
    '                if u["direct"]:',
    '                    grad[u["param"]] += values[u["direct"]]',
    '            G = fresh',
    '            s = nxt',
    '    return {k: v.reshape(param_shape[k]) for k, v in grad.items()}, total',
  ];
}

function trainCode(online: boolean): string[] {
  return [
    '',
    '',
    `def train(iterations=100, steps=50, lr=0.005, seed=0, rule=${online ? '"online"' : '"bptt"'}, values=None, log=print, sequences=1):`,
    '    """Adam on `sequences` fixed random sequences (cycled; the default 1 shows the rule fitting it), with the rule\'s online update or exact BPTT."""',
    '    params = init_params(seed, values)',
    '    opt = torch.optim.Adam([torch.nn.Parameter(v) for v in params.values()], lr=lr)',
    '    leaves = dict(zip(params, opt.param_groups[0]["params"]))',
    '    fixed = [random_data(steps, seed + 1 + k) for k in range(sequences)]',
    '    for it in range(iterations):',
    '        data = fixed[it % len(fixed)]',
    '        current = {k: v.detach() for k, v in leaves.items()}',
    `        grads, loss = ${online ? 'online_update(current, data, steps) if rule == "online" else bptt_gradient(current, data, steps)' : 'bptt_gradient(current, data, steps)'}`,
    '        for k, p in leaves.items():',
    '            p.grad = grads[k].reshape(p.shape).clone() if k in grads else torch.zeros_like(p)',
    '        opt.step()',
    '        if log and (it % max(1, iterations // 10) == 0 or it == iterations - 1):',
    '            log(f"iteration {it + 1}/{iterations}: loss {loss:.6f}")',
    '    return {k: v.detach() for k, v in leaves.items()}',
    '',
    '',
    'if __name__ == "__main__":',
    '    import argparse',
    '',
    '    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])',
    '    ap.add_argument("--iterations", type=int, default=20, help="updates of the parameters")',
    '    ap.add_argument("--steps", type=int, default=50, help="time steps per random sequence")',
    '    ap.add_argument("--lr", type=float, default=0.005, help="Adam learning rate")',
    '    ap.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the data")',
    `    ap.add_argument("--bptt", action="store_true", help="train with exact BPTT${online ? ' instead of the online rule' : ''}")`,
    '    args = ap.parse_args()',
    `    train(args.iterations, args.steps, args.lr, args.seed, ${online ? '"bptt" if args.bptt else "online"' : '"bptt"'})`,
  ];
}
