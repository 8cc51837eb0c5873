// What the client said about the workspace: whether it is trusted
// (`initializationOptions.trusted`, then `eligo/didChangeTrust`) and its
// folders. A client that says nothing is treated as untrusted, so a job
// reads no file for it. The policy goes to every job as plain data
// (train/tasks/files.ts enforces it in the worker).

import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_DATA_BYTES, type FileAccessPolicy } from '../train/tasks/files.js';

export class Trust {
  trusted = false;
  private roots: string[] = [];

  /** Workspace folders as URIs (LSP's `workspaceFolders`, or `rootUri`); those that are not files are skipped. */
  setFolders(uris: readonly string[]): void {
    const out: string[] = [];
    for (const u of uris) {
      try {
        if (u.startsWith('file:')) out.push(fileURLToPath(u));
      } catch {
        // Not a path on this machine: nothing to read from it.
      }
    }
    this.roots = out;
  }

  get folders(): readonly string[] {
    return this.roots;
  }

  /** The files a job may read now. Without a workspace folder a trusted window reads only picked files. */
  policy(): FileAccessPolicy {
    const mib = Number(process.env.ELIGO_MAX_DATA_MIB);
    const maxBytes = Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : DEFAULT_MAX_DATA_BYTES;
    return { trusted: this.trusted, roots: [...this.roots], maxBytes };
  }
}
