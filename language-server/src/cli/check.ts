import { compile } from '../compile.js';
import { ruleDiagnostics } from '../rules/diagnostics.js';
import { CliError, formatDiagnostic, intOption, readSource, type Command } from './common.js';
import { HARDWARE_NAMES, hardwareOption } from './options.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Parse and check .eligo files; print every diagnostic as file:line:col: severity: message. Exit 1 when any file has errors.',
  usage: 'eligo check FILE… [--steps T] [--hardware NAME|FILE] [--json]',
  options: {
    json: { type: 'boolean', description: 'Print {"diagnostics": [...]} as JSON (with line/character positions) instead of lines.' },
    hardware: {
      type: 'string', value: 'NAME|FILE', defaultText: 'none (no hardware checks)', example: 'loihi2',
      description: `Also check every rule against a hardware profile: ${HARDWARE_NAMES.join(', ')}, or a JSON profile file.`,
    },
    steps: { type: 'string', value: 'T', default: '10', example: '100', description: 'Time steps T for the memory of time-unrolled rules.' },
  },
  examples: ['eligo check examples/lif.eligo', 'eligo check examples/*.eligo --hardware loihi2 --json'],
  run({ values, positionals }) {
    if (positionals.length === 0) throw new CliError("eligo check: give at least one FILE (see 'eligo check --help')");
    // Options first: a bad flag fails before any file is read.
    const steps = intOption(values.steps, 'steps', 10, 1, 1e6);
    const profile = hardwareOption(typeof values.hardware === 'string' ? values.hardware : undefined);
    const settings = { steps, ...(profile ? { hardwareProfile: profile } : {}) };
    let errors = 0;
    const json: unknown[] = [];
    for (const file of positionals) {
      const c = compile(readSource(file));
      // The same diagnostics the language server shows: the checker's, then the rules engine's.
      const all = [...c.diagnostics, ...ruleDiagnostics(c, settings)].sort((a, b) => a.range.start - b.range.start);
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
