// The rules engine's public surface: what the language server, the trainer
// and the CLI use. See docs/rules.md.

export type {
  BlockForm,
  BlockSpec,
  BlockValues,
  DroppedBlock,
  OnlineProgram,
  Operand,
  Rendered,
  SignalSpec,
  ThreeFactor,
  TraceSpec,
  TraceStorage,
  TraceTerm,
  UpdateFactor,
  UpdateSpec,
  UpdateTerm,
} from './program.js';
export { carriedBytes } from './program.js';
export { BlockEvaluator, BlockTape, type StepEvaluator, type StepPoint, type StepResult, type Approximation } from './blocks.js';
export { modelContext, modelContextOf, prepareRule, ruleGradient, sampleInput, type ModelContext, type PreparedRule } from './model.js';
export { ruleSpec, ruleText, type RuleSpec, type ScheduleSpec } from './rule.js';
export { runOnline, type OnlineRun, type RunInput, StoppedError } from './execute.js';
export { runReverse } from './schedules.js';
export { ruleCost, symbolicScaling, scalingCheck, type RuleCost, type Scaling } from './cost.js';
export { ruleAlignment, alignmentSamples, exactGradients, compareGradients, type Alignment } from './alignment.js';
export { BUILTIN_PROFILES, checkHardware, profileFromJson, type HardwareProfile, type HardwareFit } from './hardware.js';
export { findLearningRule, type Candidate, type FindOptions, type FindResult } from './find.js';
export { analyseRules, ruleDiagnostics, type RuleSettings } from './diagnostics.js';
