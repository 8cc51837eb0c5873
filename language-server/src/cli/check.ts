import { analyze, DEFAULT_SETTINGS } from '../analysis/index.js';
import { profileName } from '../analysis/settings.js';
import { CliError, formatDiagnostic, intOption, readSource, type Command } from './common.js';
import { namedProfile, PROFILE_IDS, isProfile } from '../rules/profiles.js';
import type { HardwareProfile } from '../rules/hardware.js';
import { hardwareOption } from './options.js';

/** `--hardware`: a profile of the registry or a size (as the editor's setting), else a JSON chip profile; absent: the editor's default. */
function checkProfile(v: string | undefined): string | HardwareProfile {
  if (v === undefined) return DEFAULT_SETTINGS.hardwareProfile;
  if (isProfile(v)) return namedProfile(v)?.id ?? v.trim();
  // A file, or a refusal naming the closest profile.
  return hardwareOption(v)!;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Parse and check .eligo files; print every diagnostic as file:line:col: severity: message. Exit 1 when any file has errors.',
  usage: 'eligo check FILE… [--steps T] [--hardware NAME|SIZE|FILE] [--json]',
  options: {
    json: { type: 'boolean', description: 'Print {"diagnostics": [...]} as JSON (with line/character positions) instead of lines.' },
    hardware: {
      type: 'string',
      value: 'NAME|SIZE|FILE',
      defaultText: `${profileName(DEFAULT_SETTINGS.hardwareProfile)} (the editor's default)`,
      example: 'loihi2',
      description: `The hardware profile, as the editor's eligo.hardwareProfile: ${PROFILE_IDS.join(', ')}, a size such as '192 KiB', or a JSON chip profile. Its memory limits every Jacobian (memory.profile); a chip's limits every rule (rule.hardware).`,
    },
    steps: { type: 'string', value: 'T', default: '10', example: '100', description: 'Time steps T for the memory of time-unrolled rules.' },
  },
  examples: ['eligo check examples/lif.eligo', 'eligo check examples/*.eligo --hardware loihi2 --json'],
  run({ values, positionals }) {
    if (positionals.length === 0) throw new CliError("eligo check: give at least one FILE (see 'eligo check --help')");
    // Options first: a bad flag fails before any file is read.
    const steps = intOption(values.steps, 'steps', 10, 1, 1e6);
    const settings = { steps, hardwareProfile: checkProfile(typeof values.hardware === 'string' ? values.hardware : undefined) };
    let errors = 0;
    const json: unknown[] = [];
    for (const file of positionals) {
      // Exactly the diagnostics the language server shows (analysis/index.ts): the checker's, then every item's analysis warnings.
      const a = analyze(readSource(file), settings);
      const c = a.compiled;
      const all = a.diagnostics;
      for (const d of all) {
        if (d.severity === 'error') errors++;
        if (values.json) json.push({ file, ...d, start: c.lines.positionAt(d.range.start), end: c.lines.positionAt(d.range.end) });
        else process.stdout.write(`${formatDiagnostic(file, c.lines, d)}\n`);
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ diagnostics: json }, null, 2)}\n`);
    else if (errors === 0) process.stderr.write(`${positionals.length} file${positionals.length > 1 ? 's' : ''} checked: no errors\n`);
    return errors > 0 ? 1 : 0;
  },
};
