// What an analysis depends on besides the text: the same two settings for the
// CLI (`--steps`, `--hardware`) and the language server (`eligo.analysis.steps`,
// `eligo.hardwareProfile`), so both compute the same figures and diagnostics.

import { DEFAULT_PROFILE } from '../rules/profiles.js';

export interface AnalyzeSettings {
  /** Time steps T for the analysis of models (LANGUAGE.md §2: default 10). */
  readonly steps: number;
  /** A profile of rules/profiles.ts or a size (`192 KiB`): the memory limit and the chip rules must fit. */
  readonly hardwareProfile: string;
}

export const DEFAULT_SETTINGS: AnalyzeSettings = { steps: 10, hardwareProfile: DEFAULT_PROFILE };
