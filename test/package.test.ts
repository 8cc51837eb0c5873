// The package as a fresh clone installs it: `npm install` must leave the
// committed lock file as it is, and the Node version of the engines field,
// the README and every installed package must agree.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';

interface Manifest {
  engines: { node: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lock {
  packages: Record<string, Manifest & { engines?: { node?: string }; version?: string }>;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lock;

describe('package: a fresh clone installs cleanly on the Node version it names', () => {
  it("the lock's root entry lists exactly package.json's dependencies (npm rewrites it otherwise)", () => {
    const root = lock.packages['']!;
    for (const k of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) assert.deepEqual(root[k] ?? {}, pkg[k] ?? {}, k);
    assert.deepEqual(root.engines, pkg.engines);
  });

  it('npm install leaves the lock file unchanged (run on a copy of package.json and the lock)', function () {
    this.timeout(120000);
    const dir = mkdtempSync(join(tmpdir(), 'eligo-lock-'));
    try {
      copyFileSync('package.json', join(dir, 'package.json'));
      copyFileSync('package-lock.json', join(dir, 'package-lock.json'));
      const r = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /EBADENGINE/, 'a package wants another Node');
      assert.equal(readFileSync(join(dir, 'package-lock.json'), 'utf8'), readFileSync('package-lock.json', 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every package in the lock supports the oldest Node the engines field allows', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const wants = Object.entries(lock.packages)
      .filter(([, p]) => p.engines?.node !== undefined && !semver.satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')}@${p.version} wants Node ${p.engines.node}`);
    assert.deepEqual(wants, [], `engines says ${pkg.engines.node}`);
  });

  it('the README names the Node version of the engines field', () => {
    const oldest = semver.minVersion(pkg.engines.node)!;
    assert.match(readFileSync('README.md', 'utf8'), new RegExp(`Node ${oldest.major}\\.${oldest.minor} or later`));
  });
});
