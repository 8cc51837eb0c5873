// Writing the bridges' output files: nothing is overwritten without `force`,
// nothing is left behind on failure, and a reader never sees half a file.
// Every file is written to a temporary name in the same folder and renamed
// into place once all of them are complete.

import { existsSync, mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EligoError } from '../util/errors.js';

export class OutputExistsError extends EligoError {
  constructor(readonly path: string) {
    super('interop.output-exists', `${path} exists; pass --force to overwrite it`);
  }
}

export interface OutputFile {
  readonly path: string;
  /** Writes the file's content at `tmp` (text, bytes, or an async writer such as an HDF5 one). */
  readonly write: string | Uint8Array | ((tmp: string) => Promise<void> | void);
}

/** Refuses, before anything is written, when a target exists (without `force`) or is a directory. */
export function checkOutputs(files: readonly OutputFile[], force: boolean): void {
  for (const f of files) {
    if (!existsSync(f.path)) continue;
    if (statSync(f.path).isDirectory()) throw new Error(`${f.path} is a directory`);
    if (!force) throw new OutputExistsError(f.path);
  }
}

/** Writes all files (temporary names, then renames); on any failure removes what it wrote and rethrows. */
export async function writeOutputs(files: readonly OutputFile[], force: boolean): Promise<void> {
  checkOutputs(files, force);
  const temps: string[] = [];
  try {
    for (const f of files) {
      const dir = dirname(f.path);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const tmp = join(dir, `.${basename(f.path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
      temps.push(tmp);
      if (typeof f.write === 'function') await f.write(tmp);
      else writeFileSync(tmp, f.write);
    }
    files.forEach((f, k) => renameSync(temps[k]!, f.path));
  } catch (e) {
    for (const t of temps) {
      try {
        unlinkSync(t);
      } catch {
        // not written yet, or already renamed
      }
    }
    throw e;
  }
}
