// Writes the manifest's generated enums into package.json: the settings enum
// of `eligo.hardwareProfile` (and its descriptions) from the hardware
// registry, language-server/src/rules/profiles.ts, so the settings UI offers
// exactly the profiles the server knows. Run by esbuild.mjs on every build and
// by package-manifest.mjs; writes only when something changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = `${root}package.json`;

/** The registry, bundled and evaluated (it is TypeScript; the build runs before any type check). */
export function hardwareProfiles() {
  const out = esbuild.buildSync({
    entryPoints: [`${root}language-server/src/rules/profiles.ts`],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
  });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, createRequire(file));
  return mod.exports.HARDWARE_PROFILES;
}

/** Sets the generated enums in a parsed package.json; returns it. */
export function applyEnums(pkg) {
  const profiles = hardwareProfiles();
  const prop = pkg.contributes?.configuration?.properties?.['eligo.hardwareProfile'];
  if (prop) {
    prop.enum = profiles.map((p) => p.id);
    prop.enumDescriptions = profiles.map((p) => p.label);
  }
  return pkg;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeEnums();

/** package.json with the generated enums, written when they differ. */
export function writeEnums() {
  const text = readFileSync(file, 'utf8');
  const next = `${JSON.stringify(applyEnums(JSON.parse(text)), null, 2)}\n`;
  if (next !== text) writeFileSync(file, next);
  return next !== text;
}
