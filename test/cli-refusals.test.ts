// The `eligo` command line explains and refuses, run as a user runs it (the
// bundled dist/cli.js in a child process): arguments as other tools parse
// them, `--help` that documents every option, one-line refusals with exit 2
// for what it cannot do, and files it writes never lost.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCommand } from '../language-server/src/cli/analyze.js';
import { checkCommand } from '../language-server/src/cli/check.js';
import { evalCommand } from '../language-server/src/cli/eval.js';
import { graphCommand } from '../language-server/src/cli/graph.js';
import { findRuleCommand, rulesCommand } from '../language-server/src/cli/rules.js';
import { searchCommand } from '../language-server/src/cli/search.js';
import { trainCommand } from '../language-server/src/cli/train.js';

interface Run {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function eligo(...args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: 20000, env: { ...process.env, ELIGO_TF_BACKEND: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, ms: performance.now() - t0 };
}

/** Exit 2 and exactly one line on stderr that matches `re`. */
function refused(r: Run, re: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.err}${r.out}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0]!, re);
}

const FUNC = 'function f(a, b) {\n  let s = sin(a * b)\n  return log(s + 2) + b\n}\n';
const MODEL = `model m {
  dim n_in = 2, n = 3, n_out = 1
  input x: [n_in]
  target y: [n_out]
  param W_in: [n, n_in] ~ normal(0, 0.5)
  param W_rec: [n, n] ~ normal(0, 0.2)
  param W_out: [n_out, n] ~ normal(0, 0.5)
  state h: [n] = 0
  state o: [n_out] = 0
  h[t+1] = tanh(W_rec @ h + W_in @ x[t+1])
  o[t+1] = W_out @ h[t+1]
  loss = mse(o[t+1], y[t+1])
}
`;

describe('eligo CLI: arguments, help and refusals', () => {
  let tmp: string;
  const write = (name: string, text: string | Buffer): string => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  before(function () {
    this.timeout(60000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    tmp = mkdtempSync(join(tmpdir(), 'eligo-refuse-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('arguments', () => {
    it('negative numbers are option values: --seed -1 is read and refused for its range, not as an unknown option', () => {
      const f = write('m.eligo', MODEL);
      refused(eligo('eval', f, '--item', 'm', '--seed', '-1'), /^--seed must be an integer between 0 and 2,147,483,648, got '-1'$/);
    });

    it('--flag=value, repeated flags (the last wins) and -- work as in other tools', () => {
      const f = write('m.eligo', MODEL);
      const r = eligo('eval', f, '--item=m', '--steps', '3', '--steps=5', '--json');
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { steps: number; losses: number[] };
      assert.equal(j.steps, 5);
      assert.equal(j.losses.length, 5);
      // After --, a file whose name starts with a dash is a file, not an option.
      write('-dash.eligo', FUNC);
      const dashed = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli.js'), 'check', '--', '-dash.eligo'], { cwd: tmp, encoding: 'utf8' });
      assert.equal(dashed.status, 0, dashed.stderr);
    });

    it('an unknown flag is refused with the closest option', () => {
      refused(eligo('eval', 'x.eligo', '--setps', '3'), /unknown option '--setps' — did you mean --steps\?/);
      refused(eligo('train', 'x.eligo', '--bacth', '8'), /unknown option '--bacth' — did you mean --batch\?/);
      refused(eligo('check', 'x.eligo', '--json=yes'), /--json is a switch and takes no value/);
      refused(eligo('search', 'x.eligo', '--budget'), /--budget needs a value \(e\.g\. --budget 1\.5h\)/);
    });

    it('an unknown command names the closest one', () => {
      const r = eligo('serach', 'x.eligo');
      assert.equal(r.code, 2);
      assert.match(r.err, /unknown command 'serach' — did you mean 'search'\?/);
    });
  });

  describe('--help', () => {
    const commands = [checkCommand, graphCommand, evalCommand, analyzeCommand, searchCommand, rulesCommand, findRuleCommand, trainCommand];
    for (const cmd of commands) {
      it(`eligo ${cmd.name} --help lists every option with a description, its default and an example`, () => {
        const r = eligo(cmd.name, '--help');
        assert.equal(r.code, 0, r.err);
        // Options are listed one per entry; an entry may wrap onto indented lines.
        const entries = r.out
          .split('\nOptions:\n')[1]!
          .split('\n\nExamples:\n')[0]!
          .split(/\n(?= {2}(?:-\w, )?\s*--)/);
        const documented = new Map(entries.map((e) => [/--([\w-]+)/.exec(e)![1]!, e.replace(/\s+/g, ' ')]));
        assert.deepEqual([...documented.keys()].sort(), [...Object.keys(cmd.options), 'help'].sort());
        for (const [name, o] of Object.entries(cmd.options)) {
          const text = documented.get(name)!;
          assert.ok(o.description.length > 10 && text.includes(o.description.replace(/\.$/, '').replace(/\s+/g, ' ')), `--${name}: no description in ${text}`);
          if (o.type === 'string') {
            assert.match(text, /\((?:default: [^;]+|required)[;)]/, `--${name}: no default`);
            assert.match(text, new RegExp(`e\\.g\\. --${name} \\S`), `--${name}: no example`);
          }
        }
        assert.match(r.out, /\nExamples:\n {2}eligo /);
      });
    }

    it('the defaults shown are the values used: eval steps a model --steps 10 times when it is not given', () => {
      const f = write('m.eligo', MODEL);
      assert.match(eligo('eval', '--help').out, /--steps T +Time steps a model is run \(default: 10;/);
      assert.equal((JSON.parse(eligo('eval', f, '--item', 'm', '--json').out) as { steps: number }).steps, 10);
    });
  });

  describe('refusals: one line, exit 2', () => {
    it('check /dev/zero is refused at once (it is a device), not read forever', () => {
      const r = eligo('check', '/dev/zero');
      refused(r, /cannot read '\/dev\/zero': it is a device, not a file/);
      assert.ok(r.ms < 10000, `${r.ms} ms`);
    });

    it('a FIFO is refused without opening it (opening one blocks)', () => {
      const fifo = join(tmp, 'pipe.eligo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      refused(eligo('check', fifo), /it is a pipe \(FIFO\), not a file/);
    });

    it('a binary file and a file that is not UTF-8 are refused with where the first bad byte is', () => {
      refused(
        eligo('check', write('bin.eligo', Buffer.concat([Buffer.from(FUNC), Buffer.from([0, 1, 2, 0xff])]))),
        /it is a binary file \(a NUL byte at 5:1\)/,
      );
      refused(
        eligo('check', write('latin1.eligo', Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from(`\n${FUNC}`)]))),
        /it is not UTF-8 text \(byte 0xe9 at 1:6\)/,
      );
      refused(eligo('graph', write('utf16.eligo', Buffer.from(`\ufeff${FUNC}`, 'utf16le'))), /it is UTF-16 text; save it as UTF-8/);
    });

    it('a UTF-8 byte-order mark is accepted, and positions are those of the text', () => {
      const bad = 'function f(a) {\n  return a + bb\n}\n';
      const f = write('bom.eligo', `\ufeff${bad}`);
      const r = eligo('check', f);
      assert.equal(r.code, 1, r.err);
      assert.equal(r.out.trim(), `${f}:2:14: error: unknown name 'bb' [name.unknown]`);
      assert.equal(eligo('check', write('bom-ok.eligo', `\ufeff${FUNC}`)).code, 0);
    });

    it('a misspelt --hardware is refused with the closest profile, for check as for rules', () => {
      const f = write('m.eligo', MODEL);
      refused(
        eligo('check', f, '--hardware', 'loihi'),
        /--hardware 'loihi' is neither a profile \(loihi2, spinnaker2, brainscales2\) nor a JSON file — did you mean 'loihi2'\?/,
      );
      refused(eligo('rules', f, '--hardware', 'spinaker2'), /did you mean 'spinnaker2'\?/);
      assert.equal(eligo('check', f, '--hardware', 'Loihi2').code, 0);
    });

    it('--collapse bogus is refused whether or not a page is written', () => {
      const f = write('f.eligo', FUNC);
      refused(eligo('graph', f, '--collapse', 'bogus'), /^--collapse must be auto, all or none, got 'bogus'$/);
      refused(eligo('graph', f, '--collapse', 'al', '--svg', join(tmp, 'x.svg')), /did you mean 'all'\?/);
      assert.ok(!existsSync(join(tmp, 'x.svg')));
    });

    it('a corrupt --agent file is refused before the search, not replaced by the untrained network', () => {
      const f = write('f.eligo', FUNC);
      refused(
        eligo('search', f, '--agent', write('agent.json', '{"format": "eligo-agent", "version": 1, "arch": {'), '--budget', '1s'),
        /--agent '.*agent\.json' is not a network Eligo can use: it is not valid JSON/,
      );
      refused(eligo('search', f, '--agent', write('agent2.json', '{"format": "something-else"}')), /its format is 'something-else'/);
      refused(eligo('search', f, '--agent', join(tmp, 'none.json')), /--agent: cannot open '.*none\.json': no such file/);
    });

    it('--budget reads the same everywhere: 1.5h is accepted by search and find-rule alike, nonsense refused by both', () => {
      const f = write('m.eligo', MODEL);
      refused(eligo('find-rule', f, '--budget', 'soon'), /cannot read --budget 'soon'/);
      refused(eligo('search', f, '--budget', 'soon'), /cannot read budget 'soon'/);
      refused(eligo('find-rule', f, '--budget', '25h'), /--budget must be between 1 ms and 24 h, got '25h'/);
      // 1.5h parses (the run is stopped at once by --evaluations / a tiny model, so the test stays quick).
      const s = eligo('search', write('f.eligo', FUNC), '--budget', '1.5h', '--method', 'exact', '--json');
      assert.equal(s.code, 0, s.err);
      const fr = eligo('find-rule', f, '--budget', '1.5h', '--steps', '5', '--json');
      assert.equal(fr.code, 0, fr.err);
    });

    it('--metrics and --checkpoint paths are checked before training, and nothing is trained', () => {
      const f = write('m.eligo', MODEL);
      const base = ['train', f, '--task', 'correlated:T=5,train=8,test=8', '--steps', '1', '--batch', '4'];
      const dir = join(tmp, 'a-folder');
      mkdirSync(dir, { recursive: true });
      const file = write('plain.txt', 'x');
      for (const [flag, value, re] of [
        ['--metrics', dir, /--metrics '.*a-folder' is a folder/],
        ['--metrics', join(file, 'metrics.json'), /--metrics '.*': .*plain\.txt is not a folder|its folder .* cannot be used|does not exist/],
        ['--metrics', join(tmp, 'no', 'such', 'metrics.json'), /its folder .* does not exist/],
        ['--checkpoint', file, /--checkpoint '.*plain\.txt' is a file, not a folder/],
        ['--checkpoint', join(file, 'ck'), /--checkpoint '.*': cannot make the folder \(ENOTDIR\)/],
      ] as const) {
        const r = eligo(...base, flag, value);
        refused(r, re);
        assert.doesNotMatch(r.err + r.out, /memory estimate|update|accuracy/, 'training started');
      }
    });

    it('an unknown --task or task setting is refused with the closest name before the model is read', () => {
      refused(eligo('train', join(tmp, 'none.eligo'), '--task', 'store-recal'), /unknown task 'store-recal' — did you mean 'store-recall'\?/);
      refused(eligo('train', join(tmp, 'none.eligo'), '--task', 'evidence:cue=3'), /evidence: unknown setting 'cue' — did you mean 'cues'\?/);
    });
  });

  describe('NaN and dt = 0 are diagnostics, not a total loss of NaN with exit 0', () => {
    it('a model whose loss turns NaN: the operation that made it, located, exit 1', () => {
      const f = write('nan.eligo', MODEL.replace('loss = mse(o[t+1], y[t+1])', 'loss = mse(log(o[t+1] - 5), y[t+1])'));
      const r = eligo('eval', f, '--item', 'm');
      assert.equal(r.code, 1, r.out);
      assert.doesNotMatch(r.out, /total loss/);
      assert.match(
        r.err,
        new RegExp(
          `^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12:14: error: the loss is NaN from step 1: 'log\\(o\\[t\\+1\\] - 5\\)' \\(log\\) gives NaN values from finite operands \\[eval\\.nan\\]$`,
          'm',
        ),
      );
    });

    it('dt = 0 with a du/dt equation is an error of the checker, shown by check and eval', () => {
      const f = write(
        'dt0.eligo',
        'model m {\n  dim n = 4\n  const dt = 0, tau = 20\n  input x: [n]\n  target y: [n]\n  state u: [n] = 0\n  du/dt = (-u + x[t+1]) / tau\n  loss = mse(u[t+1], y[t+1])\n}\n',
      );
      const c = eligo('check', f);
      assert.equal(c.code, 1);
      assert.equal(c.out.trim(), `${f}:7:3: error: 'du/dt' needs a positive, finite time step; dt = 0 would leave u at its initial value forever [ode.bad-dt]`);
      const e = eligo('eval', f, '--item', 'm');
      assert.equal(e.code, 1);
      assert.match(e.err, /ode\.bad-dt/);
      assert.doesNotMatch(e.out, /total loss/);
    });
  });

  it('one figure is printed one way: analyze and search both show the reverse order of roeflux_1d needing 1.37 KiB (the README had 1.4 KiB and 1.37 KiB)', () => {
    const a = eligo('analyze', 'examples/roeflux_1d.eligo');
    const s = eligo('search', 'examples/roeflux_1d.eligo', '--method', 'heuristics', '--budget', '500ms', '--quiet');
    for (const r of [a, s]) {
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^reverse +356 +131 .*1\.37 KiB/m);
    }
  });

  describe('writes never lose the file (temporary file and rename)', () => {
    const rule = (t: string): string => t.slice(t.indexOf('rule '));
    // The file is larger than the 1 KiB that `ulimit -f 1` lets a process write.
    const big = `${FUNC}\n${'# padding so the file is larger than 1 KiB\n'.repeat(30)}`;

    it('search --write-rule killed by a file-size limit mid-write leaves the file whole (today it was truncated to 1,024 bytes)', () => {
      const f = write('big.eligo', big);
      assert.ok(statSync(f).size > 1024);
      const r = spawnSync('bash', ['-c', `ulimit -f 1; exec "${process.execPath}" dist/cli.js search "${f}" --method exact --write-rule fast --quiet`], {
        encoding: 'utf8',
        timeout: 20000,
      });
      assert.notEqual(r.status, 0, 'the write must fail under the limit');
      assert.equal(readFileSync(f, 'utf8'), big, 'the file is unchanged');
    });

    it('a write that fails with an error (EFBIG) is one line, exit 2, the file unchanged and no temporary file left', () => {
      const f = write('big2.eligo', big);
      // SIGXFSZ ignored: the write returns EFBIG instead of killing the process.
      const r = spawnSync(
        'bash',
        ['-c', `trap '' XFSZ; ulimit -f 1; exec "${process.execPath}" dist/cli.js search "${f}" --method exact --write-rule fast --quiet`],
        { encoding: 'utf8', timeout: 20000 },
      );
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr.trim(), /^eligo search: cannot write '.*big2\.eligo': EFBIG; the file was not changed; the order is printed above/);
      assert.equal(readFileSync(f, 'utf8'), big);
      assert.deepEqual(
        readdirSync(tmp).filter((n) => n.includes('big2.eligo.') && n.endsWith('.tmp')),
        [],
      );
    });

    it('find-rule --write under the same limit leaves the file whole too', () => {
      const f = write('m-big.eligo', `${MODEL}\n${'# padding so the file is larger than 1 KiB\n'.repeat(30)}`);
      const before = readFileSync(f, 'utf8');
      const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 1; exec "${process.execPath}" dist/cli.js find-rule "${f}" --steps 5 --write --quiet`], {
        encoding: 'utf8',
        timeout: 20000,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /cannot write .*EFBIG; the file was not changed/);
      assert.match(r.stdout, /rule \w+ for m \{/, 'the rules found are still printed');
      assert.equal(readFileSync(f, 'utf8'), before);
    });

    it('search --write-rule writes the rule, keeps the file mode, and reads back', () => {
      const f = write('ok.eligo', FUNC);
      chmodSync(f, 0o640);
      const r = eligo('search', f, '--method', 'exact', '--write-rule', 'fast', '--quiet');
      assert.equal(r.code, 0, r.err);
      const text = readFileSync(f, 'utf8');
      assert.ok(text.startsWith(FUNC));
      assert.match(rule(text), /^rule fast for f \{/);
      assert.equal(statSync(f).mode & 0o777, 0o640);
    });

    const editDuring = async (args: string[], f: string, afterMs: number): Promise<{ code: number | null; err: string }> => {
      const child = spawn(process.execPath, ['dist/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.stdout.resume();
      await new Promise((r) => setTimeout(r, afterMs));
      writeFileSync(f, `${readFileSync(f, 'utf8')}\n# an edit made while the search ran\n`);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      return { code, err };
    };

    it('edits made during a search are never overwritten: --write-rule is refused and says so', async function () {
      this.timeout(30000);
      const f = write('edit.eligo', FUNC);
      const r = await editDuring(['search', f, '--method', 'anneal', '--budget', '3s', '--write-rule', 'fast', '--quiet'], f, 1500);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /'.*edit\.eligo' was changed since Eligo read it; it was not overwritten/);
      assert.equal(readFileSync(f, 'utf8'), `${FUNC}\n# an edit made while the search ran\n`);
    });

    it('edits made during find-rule are never overwritten: --write is refused and the rules are printed', async function () {
      this.timeout(30000);
      const f = write('alif.eligo', readFileSync('examples/alif.eligo', 'utf8'));
      const before = readFileSync(f, 'utf8');
      const r = await editDuring(['find-rule', f, '--model', 'alif', '--budget', '3s', '--steps', '20', '--write', '--quiet'], f, 1500);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /was changed since Eligo read it; it was not overwritten; the rules found are printed above/);
      assert.equal(readFileSync(f, 'utf8'), `${before}\n# an edit made while the search ran\n`);
    });
  });
});
