// Option values shared by several commands, read once: durations and sizes
// (util/units.ts, so `--budget 1.5h` means the same to search and find-rule),
// hardware profiles (a built-in name or a JSON file; a misspelt name is
// refused with the closest one) and the search network file.

import { didYouMean } from '../lang/suggest.js';
import { resolveProfile } from '../rules/diagnostics.js';
import { BUILTIN_PROFILES, profileFromJson, ProfileError, type HardwareProfile } from '../rules/hardware.js';
import { parseAgent } from '../search/network.js';
import { FileError, readTextFile } from '../util/files.js';
import { parseDuration, parseSize, UnitError } from '../util/units.js';
import { CliError, readInputFile } from './common.js';

/** `--NAME 60s` → milliseconds within [minMs, maxMs]. */
export function durationOption(v: string | undefined, name: string, defMs: number, minMs = 1, maxMs = 24 * 3600 * 1000): number {
  if (v === undefined) return defMs;
  let ms: number;
  try {
    ms = parseDuration(v, `--${name}`);
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(e.message);
    throw e;
  }
  if (ms < minMs || ms > maxMs) throw new CliError(`--${name} must be between ${describeMs(minMs)} and ${describeMs(maxMs)}, got '${v}'`);
  return ms;
}

function describeMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  return `${ms / 3_600_000} h`;
}

/** `--NAME 512MiB` → bytes, positive. */
export function sizeOption(v: string | undefined, name: string, defBytes: number): number {
  if (v === undefined) return defBytes;
  let b: number;
  try {
    b = parseSize(v, `--${name}`);
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(e.message);
    throw e;
  }
  if (!(b > 0)) throw new CliError(`--${name} must be a positive size such as 512MiB, got '${v}'`);
  if (b > 2 ** 60) throw new CliError(`--${name} '${v}' is beyond any machine; leave it out for no limit`);
  return b;
}

/** The names `--hardware` accepts besides a JSON file. */
export const HARDWARE_NAMES: readonly string[] = [...BUILTIN_PROFILES.keys()];

/** `--hardware loihi2` or `--hardware chip.json`; anything else is refused, naming the closest built-in profile. */
export function hardwareOption(v: string | undefined): HardwareProfile | undefined {
  if (v === undefined) return undefined;
  const builtin = resolveProfile(v);
  if (builtin) return builtin;
  let text: string;
  try {
    text = readTextFile(v, { what: 'hardware profiles', maxBytes: 1024 * 1024 }).text;
  } catch (e) {
    if (e instanceof FileError && e.code === 'file.missing') {
      const hint = didYouMean(v, HARDWARE_NAMES);
      throw new CliError(`--hardware '${v}' is neither a profile (${HARDWARE_NAMES.join(', ')}) nor a JSON file${hint ? ` — did you mean '${hint}'?` : ''}`);
    }
    if (e instanceof FileError) throw new CliError(`--hardware: ${e.message}`);
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--hardware ${v}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    return profileFromJson(json, v);
  } catch (e) {
    if (e instanceof ProfileError) throw new CliError(`--hardware ${e.message}`);
    throw e;
  }
}

/** `--agent FILE`: a network file that loads, checked before any work (a corrupt one is refused, not replaced by the prior). */
export function agentOption(v: string | undefined, command: string): string | undefined {
  if (v === undefined) return undefined;
  const text = readInputFile(v, `eligo ${command}: --agent`);
  const r = parseAgent(text);
  if ('error' in r) throw new CliError(`eligo ${command}: --agent '${v}' is not a network Eligo can use: ${r.error}`);
  return v;
}
