// The hardware profiles, by name: the one registry every front door reads.
// The language server checks `eligo.hardwareProfile` against it, the
// extension's quick pick lists it, the manifest's settings enum is generated
// from it at build time (scripts/manifest-enums.mjs), and the CLI's
// `--hardware` resolves through it.
//
// A profile names a memory limit (for `memory.profile`: a function's or a
// model's cheapest Jacobian must fit) and, for a neuromorphic chip, the
// chip's learning-engine limits a rule must fit (`rule.hardware`,
// rules/hardware.ts). Figures from shared/reference/neuromorphic-hardware.md.

import { BRAINSCALES2, LOIHI2, SPINNAKER2, type HardwareProfile } from './hardware.js';

export interface NamedProfile {
  readonly id: string;
  /** One line: the settings enum's description and the quick pick's detail. */
  readonly label: string;
  /** Bytes the Jacobian of a function or one model step may take; absent: no byte limit is modelled. */
  readonly memoryBytes?: number;
  /** The chip whose learning engine a rule must fit; absent for general-purpose hardware. */
  readonly chip?: HardwareProfile;
}

const KiB = 1024;
const GiB = 1024 ** 3;

/** A chip's profile: its per-core memory is the byte limit (none for BrainScaleS-2, whose limits are 6-bit weights and correlation sensors). */
function chipProfile(id: string, label: string, chip: HardwareProfile): NamedProfile {
  return { id, label, chip, ...(chip.memoryPerCoreBytes !== null ? { memoryBytes: chip.memoryPerCoreBytes } : {}) };
}

export const HARDWARE_PROFILES: readonly NamedProfile[] = [
  { id: 'laptop', label: 'A laptop CPU with 8 GiB for the job.', memoryBytes: 8 * GiB },
  { id: 'gpu-16g', label: 'One accelerator with 16 GiB.', memoryBytes: 16 * GiB },
  { id: 'microcontroller', label: 'A microcontroller with 256 KiB of SRAM.', memoryBytes: 256 * KiB },
  { id: 'neuromorphic-core', label: 'One neuromorphic core with 128 KiB of synaptic and state memory.', memoryBytes: 128 * KiB },
  chipProfile('loihi2', 'Intel Loihi 2: ~192 KB per core; rules as sums of products of pre/post traces.', LOIHI2),
  chipProfile('spinnaker2', 'SpiNNaker 2: ~128 KB SRAM per processing element; programmable rules.', SPINNAKER2),
  chipProfile('brainscales2', 'BrainScaleS-2: 6-bit weights; eligibility from correlation sensors.', BRAINSCALES2),
];

export const DEFAULT_PROFILE = 'laptop';

export const PROFILE_IDS: readonly string[] = HARDWARE_PROFILES.map((p) => p.id);

const BY_ID: ReadonlyMap<string, NamedProfile> = new Map(HARDWARE_PROFILES.map((p) => [p.id, p]));

/** Spellings people write for the chips: `Loihi2`, `loihi-2`, `loihi2-core`, `SpiNNaker 2`. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/[-_ ]/g, '').replace(/core$/, '');
}

const BY_CANONICAL: ReadonlyMap<string, NamedProfile> = new Map(HARDWARE_PROFILES.filter((p) => p.chip).map((p) => [canonical(p.id), p]));

/** A named profile by id (or a chip's usual spelling); undefined when there is none of that name. */
export function namedProfile(name: string): NamedProfile | undefined {
  return BY_ID.get(name) ?? BY_CANONICAL.get(canonical(name));
}

const UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };

/** A profile written as a size (`192 KiB`, `2GB`): a memory limit and nothing else. */
export function sizedProfile(name: string): NamedProfile | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)\s*$/.exec(name);
  const unit = m ? UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) return undefined;
  return { id: name.trim(), label: `a memory limit of ${name.trim()}`, memoryBytes: Number(m[1]) * unit };
}

/** A profile name or a size; undefined when it is neither. */
export function lookupProfile(name: string): NamedProfile | undefined {
  return namedProfile(name) ?? sizedProfile(name);
}

export function isProfile(name: string): boolean {
  return lookupProfile(name) !== undefined;
}

/** Memory limit of a profile name or a size; undefined when the profile has none or is unknown. */
export function profileMemory(name: string): number | undefined {
  return lookupProfile(name)?.memoryBytes;
}

/** The chip of a profile name, for the rules engine; undefined for general-purpose hardware and unknown names. */
export function profileChip(name: string): HardwareProfile | undefined {
  return namedProfile(name)?.chip;
}

/** Edit distance, for did-you-mean. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The profile names closest to a misspelt one (at most two edits away, or sharing its start). */
export function suggestProfiles(name: string): string[] {
  const n = name.toLowerCase();
  return PROFILE_IDS.filter((id) => distance(n, id) <= 2 || (n.length >= 3 && id.startsWith(n.slice(0, 3))));
}

/** One sentence for an unknown profile: what was given, what exists, what it may have meant. */
export function unknownProfileMessage(name: string): string {
  const near = suggestProfiles(name);
  return `unknown hardware profile '${name}'${near.length ? ` (did you mean ${near.map((s) => `'${s}'`).join(' or ')}?)` : ''}; known: ${PROFILE_IDS.join(', ')}, or a size such as '192 KiB'`;
}
