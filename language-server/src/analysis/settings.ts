// What an analysis depends on besides the text: the same two settings for the
// CLI (`--steps`, `--hardware`) and the language server (`eligo.analysis.steps`,
// `eligo.hardwareProfile`), so both compute the same figures and diagnostics.

import type { HardwareProfile } from '../rules/hardware.js';
import { DEFAULT_PROFILE, profileMemory } from '../rules/profiles.js';

export interface AnalyzeSettings {
  /** Time steps T for the analysis of models (LANGUAGE.md §2: default 10). */
  readonly steps: number;
  /**
   * A profile of rules/profiles.ts or a size (`192 KiB`): the memory limit and
   * the chip rules must fit; or a chip profile read from JSON (the CLI's `--hardware FILE`).
   */
  readonly hardwareProfile: string | HardwareProfile;
}

/** The profile's name, for messages and cache keys (a JSON profile: its id and contents). */
export function profileName(p: string | HardwareProfile): string {
  return typeof p === 'string' ? p : p.id;
}

export function profileKey(p: string | HardwareProfile): string {
  return typeof p === 'string' ? p : `json:${JSON.stringify(p)}`;
}

/** The byte limit of a Jacobian under the profile (memory.profile), if it has one. */
export function settingsMemory(p: string | HardwareProfile): number | undefined {
  return typeof p === 'string' ? profileMemory(p) : (p.memoryPerCoreBytes ?? undefined);
}

export const DEFAULT_SETTINGS: AnalyzeSettings = { steps: 10, hardwareProfile: DEFAULT_PROFILE };
