// The values of a job's `data(…)` params: `param W: [n, m] = data("lif.params.h5", "W")`
// in the document a job runs on. A job reads files only under the policy the
// server gives it (server/trust.ts): in an untrusted workspace none, and the
// refusal says so; in a trusted one the data files must lie inside the
// workspace folders (symbolic links followed), and then the checks of
// interop/paramData.ts apply (relative to the .eligo file, no '..', a
// regular file, the size limit, the dataset and its shape). Loaded here, in
// the job's worker, and handed to the engine as values (as the CLI hands
// them: cli/interop.ts paramValuesOf), so the engine itself reads no file.

import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, findItem, ItemError } from '../compile.js';
import { DEFAULT_DATA_MAX_BYTES, dataPathProblem, dataRefs, loadParamData } from '../interop/paramData.js';
import { FileAccess, FileAccessError, type FileAccessPolicy } from '../train/tasks/files.js';
import { JobRefused } from './types.js';

/**
 * The values of the `data(…)` params of the model the job runs on (`item`, or the file's model) by param
 * name (empty when it has none), read under `policy` for the document at `uri`; the file's other models'
 * data files are not read. Throws JobRefused, located (`line L:C: …`), when one cannot be read.
 */
export async function jobParamValues(text: string, uri: string | undefined, item: string | undefined, policy: FileAccessPolicy): Promise<Map<string, Float64Array>> {
  const c = compile(text);
  let model: string;
  try {
    model = findItem(c, item, ['model']).name;
  } catch (e) {
    // No such model: the engine refuses the job in its own words.
    if (e instanceof ItemError) return new Map();
    throw e;
  }
  const refs = dataRefs(c, [model]);
  const values = new Map<string, Float64Array>();
  if (refs.length === 0) return values;
  const named = [...new Set(refs.map((r) => `data("${r.init.file}", "${r.init.dataset}")`))].join(', ');
  const at = (range: { start: number }): string => {
    const p = c.lines.positionAt(range.start);
    return `line ${p.line + 1}:${p.character + 1}`;
  };
  if (!policy.trusted) {
    throw new JobRefused(`the model's params take their values from ${named}, and this workspace is not trusted, so Eligo reads no data files in it; trust the workspace (Manage Workspace Trust) to train on them`);
  }
  let baseDir: string;
  try {
    if (!uri?.startsWith('file:')) throw new Error('not a file');
    baseDir = dirname(fileURLToPath(uri));
  } catch {
    throw new JobRefused(`the model's params take their values from ${named}, which are read next to the .eligo file: save the model as a file first`);
  }
  // Inside the workspace folders, as every data file a job reads (the CLI's policy has no folders: anywhere).
  const access = new FileAccess(policy);
  for (const r of refs) {
    if (dataPathProblem(r.init.file, baseDir) !== undefined) continue; // loadParamData says what is wrong with the path itself
    try {
      access.resolve(join(baseDir, normalize(r.init.file)), 'data');
    } catch (e) {
      // Trusted, so the one refusal left is the folders'; said in the same words whether the file exists or not.
      if (e instanceof FileAccessError) {
        throw new JobRefused(`${at(r.init.range)}: data("${r.init.file}") is outside the workspace folders (or links out of them); Eligo reads a model's data files inside the workspace`);
      }
      throw e;
    }
  }
  const problems = await loadParamData(c, { baseDir, trusted: true, maxBytes: policy.maxBytes ?? DEFAULT_DATA_MAX_BYTES, models: [model] });
  if (problems.length) throw new JobRefused(problems.map((p) => `${at(p.range)}: ${p.message}`).join('; '));
  for (const r of refs) if (r.init.values) values.set(r.param, r.init.values);
  return values;
}
