// The file-name convention (issue 12, "one file-name case"): modules are camelCase; test specs and scripts
// are kebab-case (scripts are named after their npm commands); the reference implementations in test/reference/
// carry the name of the AD task they implement, as examples/*.eligo do (snake_case: roeflux_1d, black_scholes).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mjs'], { encoding: 'utf8' }).split('\n').filter(Boolean);

const RULES: readonly { readonly where: RegExp; readonly name: RegExp; readonly what: string }[] = [
  { where: /^test\/reference\//, name: /^[a-z][a-z0-9]*(_[a-z0-9]+)*\.ts$/, what: "the AD task's name (snake_case)" },
  { where: /^test\/(e2e\/)?[^/]+\.test\.ts$/, name: /^[a-z0-9]+(-[a-z0-9]+)*(\.e2e)?\.test\.ts$/, what: 'kebab-case spec' },
  { where: /^scripts\//, name: /^[a-z0-9]+(-[a-z0-9]+)*\.(ts|mjs)$/, what: 'kebab-case script' },
  { where: /^(language-server|extension|webview)\/src\/|^test\/helpers\/|^test\/e2e\/|^bench\//, name: /^[a-z][a-zA-Z0-9]*\.ts$/, what: 'camelCase module' },
];

describe('conventions: one file-name case', () => {
  it('every module, spec and script follows the convention of its folder', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const f of files) {
      const rule = RULES.find((r) => r.where.test(f));
      if (!rule) continue;
      checked++;
      if (!rule.name.test(basename(f))) wrong.push(`${f} (should be a ${rule.what})`);
    }
    assert.ok(checked > 200, `${checked} files checked`);
    assert.deepEqual(wrong, []);
  });
});
