// Hardware profiles: what a neuromorphic chip lets a learning rule do, and the
// check of a rule against one (expressibility and memory per core).
//
// Figures from shared/reference/neuromorphic-hardware.md, which marks each
// as checked against a source [V] or from the papers but not re-checked [R];
// the `sources` of each built-in profile say which.

import type { OnlineProgram } from './program.js';
import { sizeOf } from '../graph/types.js';
import { formatBytes } from '../util/units.js';
import { EligoError } from '../util/errors.js';

export interface HardwareProfile {
  readonly id: string;
  readonly name: string;
  /** Bytes of memory a core (or processing element) has for weights and learning state; null when not limited per core. */
  readonly memoryPerCoreBytes: number | null;
  readonly weightBits: number;
  readonly traceBits: number;
  /** Presynaptic traces a weight update may use (Loihi: x1, x2); null: any. */
  readonly maxPreTraces: number | null;
  /** Postsynaptic traces a weight update may use (Loihi: y1, y2, y3); null: any. */
  readonly maxPostTraces: number | null;
  /** State words per synapse besides the weight (Loihi: tag and delay); null: limited by memory only. */
  readonly extraPerSynapseStateWords: number | null;
  /** Learning runs on the chip while the network runs: rules must be online. */
  readonly requiresOnline: boolean;
  /** Neurons one core holds (Loihi 2: about 8k). */
  readonly maxNeuronsPerCore: number | null;
  /** Weight updates are sums of products of traces (Loihi's learning engine): every update term must be trace × signal. */
  readonly sumOfProducts: boolean;
  readonly learningRateForm: 'mant4*2^e' | 'float';
  readonly updateGranularity: 'perStep' | 'perEpoch';
  readonly sources: readonly string[];
  readonly notes: readonly string[];
}

export const LOIHI2: HardwareProfile = {
  id: 'loihi2',
  name: 'Intel Loihi 2 (one neuro-core)',
  memoryPerCoreBytes: 192 * 1024,
  weightBits: 8,
  traceBits: 7,
  maxPreTraces: 2,
  maxPostTraces: 3,
  extraPerSynapseStateWords: 2,
  requiresOnline: true,
  maxNeuronsPerCore: 8192,
  sumOfProducts: true,
  learningRateForm: 'mant4*2^e',
  updateGranularity: 'perEpoch',
  sources: [
    '[R] about 192 KB per core shared by synapses, state and microcode: Intel Loihi 2 technology brief',
    '[V] learning rules as sums of products over x0, y0, u, pre traces x1, x2, post traces y1, y2, y3, tag t and delay d: lava-nc/lava magma/core/learning',
    '[V] 8-bit unsigned / 9-bit signed weights, 7-bit traces, 4-bit learning-rate mantissa: lava constants.py',
    '[V] up to 1M neurons and 120M synapses per chip (open-neuromorphic.org); about 8k neurons per core',
  ],
  notes: ['per-synapse learning state beyond the weight: the tag t and delay d, about 1–2 words of 8 bits'],
};

export const SPINNAKER2: HardwareProfile = {
  id: 'spinnaker2',
  name: 'SpiNNaker 2 (one processing element)',
  memoryPerCoreBytes: 128 * 1024,
  weightBits: 16,
  traceBits: 16,
  maxPreTraces: null,
  maxPostTraces: null,
  extraPerSynapseStateWords: null,
  requiresOnline: true,
  maxNeuronsPerCore: null,
  sumOfProducts: false,
  learningRateForm: 'float',
  updateGranularity: 'perStep',
  sources: [
    '[R] about 152 ARM Cortex-M4F processing elements per chip with about 128 KB local SRAM each: Höppner et al. 2021, arXiv 2103.08392',
    '[R] learning programmable in C, typically fixed point (s16.15); e-prop demonstrated: Perrett et al. 2022; Rostami et al., Front. Neurosci. 2022',
    '[V] e-prop on SpiNNaker 2: 680 KB of training memory for 25K weights, 91.12% on Google Speech Commands (Front. Neurosci. 2022, 10.3389/fnins.2022.1018006)',
  ],
  notes: ["any rule fits whose state fits in the processing element's SRAM; 2–4 bytes per synapse for weight plus eligibility trace"],
};

export const BRAINSCALES2: HardwareProfile = {
  id: 'brainscales2',
  name: 'BrainScaleS-2 (one ASIC)',
  memoryPerCoreBytes: null,
  weightBits: 6,
  traceBits: 8,
  maxPreTraces: 1,
  maxPostTraces: 2,
  extraPerSynapseStateWords: 0,
  requiresOnline: true,
  maxNeuronsPerCore: 512,
  sumOfProducts: true,
  learningRateForm: 'float',
  updateGranularity: 'perEpoch',
  sources: [
    '[V] 512 AdEx neuron circuits, about 131k plastic synapses per ASIC, 1000× faster than biological time: Pehle et al. 2022, Front. Neurosci. 16:795876',
    '[V] per-synapse analog correlation sensors (causal and anti-causal STDP traces); plasticity processing units run C/C++ rules on them',
    '[R] 6-bit synaptic weights',
  ],
  notes: [
    'eligibility only from the correlation sensors (pair-based exponential traces with fixed τ) and neuron observables; no per-synapse state beyond them',
  ],
};

export const BUILTIN_PROFILES: ReadonlyMap<string, HardwareProfile> = new Map([LOIHI2, SPINNAKER2, BRAINSCALES2].map((p) => [p.id, p]));

export class ProfileError extends EligoError {
  constructor(message: string) {
    super('rules.profile', message);
  }
}

/**
 * A user-defined profile from JSON (a settings value or a file). Missing
 * fields take permissive defaults (no limit); wrong types are errors naming
 * the field.
 */
export function profileFromJson(value: unknown, origin = 'profile'): HardwareProfile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProfileError(`${origin}: a hardware profile is a JSON object`);
  const o = value as Record<string, unknown>;
  const num = (k: string, def: number | null): number | null => {
    const v = o[k];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ProfileError(`${origin}: '${k}' must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (k: string, def: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new ProfileError(`${origin}: '${k}' must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const known = new Set([
    'id',
    'name',
    'memoryPerCoreBytes',
    'weightBits',
    'traceBits',
    'maxPreTraces',
    'maxPostTraces',
    'extraPerSynapseStateWords',
    'requiresOnline',
    'maxNeuronsPerCore',
    'sumOfProducts',
    'learningRateForm',
    'updateGranularity',
    'sources',
    'notes',
    'perCoreMemoryBytes',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ProfileError(`${origin}: unknown field '${k}' (known: ${[...known].join(', ')})`);
  const id = typeof o.id === 'string' ? o.id : 'custom';
  return {
    id,
    name: typeof o.name === 'string' ? o.name : id,
    memoryPerCoreBytes: num('memoryPerCoreBytes', num('perCoreMemoryBytes', null)),
    weightBits: num('weightBits', 32) ?? 32,
    traceBits: num('traceBits', 32) ?? 32,
    maxPreTraces: num('maxPreTraces', null),
    maxPostTraces: num('maxPostTraces', null),
    extraPerSynapseStateWords: num('extraPerSynapseStateWords', null),
    requiresOnline: bool('requiresOnline', false),
    maxNeuronsPerCore: num('maxNeuronsPerCore', null),
    sumOfProducts: bool('sumOfProducts', false),
    learningRateForm: o.learningRateForm === 'mant4*2^e' ? 'mant4*2^e' : 'float',
    updateGranularity: o.updateGranularity === 'perEpoch' ? 'perEpoch' : 'perStep',
    sources: Array.isArray(o.sources) ? o.sources.filter((s): s is string => typeof s === 'string') : [`user-defined (${origin})`],
    notes: Array.isArray(o.notes) ? o.notes.filter((s): s is string => typeof s === 'string') : [],
  };
}

export interface HardwareFit {
  readonly fits: boolean;
  /** Why it does not fit (empty when it fits), one reason per entry. */
  readonly reasons: readonly string[];
  /** Bytes one core needs for the weights and the learning state of its neurons. */
  readonly perCoreBytes: number;
  readonly preTraces: number;
  readonly postTraces: number;
  readonly perSynapseWords: number;
}

/** A rule's schedule and program, checked against a profile. `program` is null for rules that are not online. */
export function checkHardware(profile: HardwareProfile, online: boolean, program: OnlineProgram | null): HardwareFit {
  const reasons: string[] = [];
  if (profile.requiresOnline && !online)
    reasons.push(`${profile.name} learns on chip while the network runs: the rule must be online (schedule online), not store the sequence`);
  if (!program) return { fits: reasons.length === 0, reasons, perCoreBytes: 0, preTraces: 0, postTraces: 0, perSynapseWords: 0 };
  const paramSize = new Map(program.params.map((p) => [p.name, sizeOf(p.shape)]));
  const stateSize = new Map(program.states.map((s) => [s.name, sizeOf(s.shape)]));
  // Per parameter: words per synapse (row and dense traces), presynaptic traces (shared), postsynaptic signals.
  let perSynapse = 0;
  let pre = 0;
  let post = 0;
  let worstParam = '';
  for (const u of program.updates) {
    const traces = program.traces.filter((t) => t.param === u.param && t.carried);
    let words = 0;
    let preHere = 0;
    for (const t of traces) {
      if (t.storage === 'shared') preHere++;
      // A SnAp-2 trace holds its pattern's entries only.
      else {
        const shape = program.params.find((x) => x.name === t.param)!.shape;
        words += (t.pattern ? t.pattern.length * sizeOf(shape.slice(1)) : sizeOf(t.valueShape)) / paramSize.get(u.param)!;
      }
    }
    const signals = new Set(u.terms.map((t) => t.signal));
    if (words > perSynapse) {
      perSynapse = words;
      worstParam = u.param;
    }
    pre = Math.max(pre, preHere);
    post = Math.max(post, signals.size + u.lossPrevious.length);
    if (profile.sumOfProducts) {
      const nonProduct = u.terms.filter((t) => t.factor.kind === 'product');
      if (nonProduct.length)
        reasons.push(
          `the update of ${u.param} uses a Jacobian block times last step's trace (${nonProduct.map((t) => (t.factor.kind === 'product' ? t.factor.block : '')).join(', ')}), not a sum of products of pre- and postsynaptic traces`,
        );
      const dense = traces.filter((t) => t.storage === 'dense');
      if (dense.length)
        reasons.push(
          `the update of ${u.param} needs full sensitivities (${dense.map((t) => t.name).join(', ')}), which a sum of products of local traces cannot express`,
        );
    }
  }
  if (profile.extraPerSynapseStateWords !== null && perSynapse > profile.extraPerSynapseStateWords) {
    reasons.push(
      `${fmt(perSynapse)} learning-state word${perSynapse === 1 ? '' : 's'} per synapse of ${worstParam}, more than the ${profile.extraPerSynapseStateWords} the chip has`,
    );
  }
  if (profile.maxPreTraces !== null && pre > profile.maxPreTraces) reasons.push(`${pre} presynaptic traces per weight, more than ${profile.maxPreTraces}`);
  if (profile.maxPostTraces !== null && post > profile.maxPostTraces)
    reasons.push(`${post} postsynaptic factors per weight, more than ${profile.maxPostTraces}`);
  // Memory of one core: its neurons' weights (fan-in) and learning state at the profile's widths.
  let neurons = 0;
  for (const [, n] of stateSize) neurons = Math.max(neurons, n);
  const perCoreNeurons = profile.maxNeuronsPerCore !== null ? Math.min(neurons, profile.maxNeuronsPerCore) : neurons;
  const fraction = neurons > 0 ? perCoreNeurons / neurons : 1;
  let bits = 0;
  for (const [, n] of paramSize) bits += n * profile.weightBits;
  for (const t of program.traces) {
    if (!t.carried) continue;
    const shape = program.params.find((x) => x.name === t.param)!.shape;
    bits += (t.pattern ? t.pattern.length * sizeOf(shape.slice(1)) : sizeOf(t.valueShape)) * profile.traceBits;
  }
  const perCoreBytes = Math.ceil((bits * fraction) / 8);
  if (profile.memoryPerCoreBytes !== null && perCoreBytes > profile.memoryPerCoreBytes) {
    reasons.push(
      `needs ${fmtBytes(perCoreBytes)} per core for weights and traces (${perCoreNeurons} neurons), more than the ${fmtBytes(profile.memoryPerCoreBytes)} a core has`,
    );
  }
  return { fits: reasons.length === 0, reasons, perCoreBytes, preTraces: pre, postTraces: post, perSynapseWords: perSynapse };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** Bytes as everything in Eligo prints them (util/units.ts). */
export const fmtBytes = formatBytes;
