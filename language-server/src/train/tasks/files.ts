// Who may read which data file: one guard every data reader calls (IDX, CSV),
// shared by the CLI and the language server. The policy is plain data, so it
// crosses into a job's worker thread as it is.
//
// - An untrusted workspace reads no file at all, and says so.
// - A trusted workspace reads files inside its folders (after following
//   symbolic links) and the files the user picked in a dialog; a path
//   elsewhere is refused with the same words whether or not it exists, so a
//   setting such as `csv:path=/etc/passwd` learns nothing about the machine.
// - Devices, FIFOs, sockets and directories are refused before they are
//   opened (`/dev/zero` would never end, a FIFO would block), and so is a file
//   over the size limit; reads are bounded, so a file that grows, or a
//   /proc file whose reported size is 0, cannot grow the process either.
// - The CLI is trusted by definition: the user named the file on the command line.

import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TaskError } from './types.js';

export interface FileAccessPolicy {
  /** False: no file is read (VS Code's Restricted Mode). */
  readonly trusted: boolean;
  /** Folders inside which files may be read (absolute paths); absent: anywhere (the CLI). */
  readonly roots?: readonly string[];
  /** Files the user picked in a dialog: readable wherever they are. */
  readonly picked?: readonly string[];
  /** Largest file (and largest decompressed content) read, in bytes. */
  readonly maxBytes?: number;
}

/** Default size limit of a data file: 1 GiB (Fashion-MNIST's training images are 47 MB). */
export const DEFAULT_MAX_DATA_BYTES = 1024 ** 3;

/** The CLI's policy: the user named the file. */
export const CLI_FILE_ACCESS: FileAccessPolicy = { trusted: true };

/** A data file could not be read under the policy; the message is safe to show. */
export class FileAccessError extends TaskError {
  constructor(message: string) {
    super(message);
    this.name = 'FileAccessError';
  }
}

function inside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function fmtMiB(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.ceil(n / 1024 ** 2)} MiB`;
}

export class FileAccess {
  constructor(readonly policy: FileAccessPolicy) {}

  get maxBytes(): number {
    return this.policy.maxBytes ?? DEFAULT_MAX_DATA_BYTES;
  }

  /**
   * Where `path` is, once the policy allows it: relative paths are relative
   * to the first workspace folder (the CLI: the working directory).
   */
  resolve(path: string, what: string): string {
    const p = this.policy;
    if (!p.trusted) {
      throw new FileAccessError(
        `${what}: this workspace is not trusted, so Eligo reads no data files in it; trust the workspace (Manage Workspace Trust) to train on files`,
      );
    }
    const roots = p.roots;
    const base = roots?.[0] ?? process.cwd();
    const abs = resolve(base, path);
    if (!roots) return abs;
    const picked = (p.picked ?? []).map((f) => resolve(f));
    const outside = (): FileAccessError =>
      new FileAccessError(
        `${what}: '${path}' is outside the workspace folders; Eligo reads data files of the workspace, or a file you pick (Eligo: Train → Data file…)`,
      );
    if (picked.includes(abs)) return abs;
    const realRoots = roots.map((r) => real(r) ?? resolve(r));
    // Lexically outside: refused before the file system is asked anything.
    if (!roots.some((r) => inside(resolve(r), abs)) && !realRoots.some((r) => inside(r, abs))) throw outside();
    // Inside, but a symbolic link may lead out.
    const target = real(abs);
    if (target !== undefined && !realRoots.some((r) => inside(r, target)) && !picked.includes(target)) throw outside();
    return abs;
  }

  /** Reads a whole data file (gunzipped when it starts with gzip's magic), within the size limit. */
  read(path: string, what: string): Buffer {
    const abs = this.resolve(path, what);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new FileAccessError(`${what}: no such file: '${path}'`);
    }
    if (st.isDirectory()) throw new FileAccessError(`${what}: '${path}' is a directory, not a data file`);
    if (!st.isFile()) throw new FileAccessError(`${what}: '${path}' is not a regular file (a device, FIFO or socket); Eligo reads data from files`);
    const max = this.maxBytes;
    if (st.size > max) throw new FileAccessError(`${what}: '${path}' is ${fmtMiB(st.size)}, more than the ${fmtMiB(max)} a data file may be`);
    const fd = openSync(abs, 'r');
    let buf: Buffer;
    try {
      // The file may have been swapped since the stat: check the opened one.
      if (!fstatSync(fd).isFile()) throw new FileAccessError(`${what}: '${path}' is not a regular file`);
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        chunks.push(chunk.subarray(0, n));
        total += n;
        if (total > max) throw new FileAccessError(`${what}: '${path}' holds more than the ${fmtMiB(max)} a data file may be`);
      }
      buf = Buffer.concat(chunks, total);
    } finally {
      closeSync(fd);
    }
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
      try {
        buf = gunzipSync(buf, { maxOutputLength: max });
      } catch (e) {
        const big = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw new FileAccessError(
          big
            ? `${what}: '${path}' decompresses to more than ${fmtMiB(max)}`
            : `${what}: '${path}' looks gzip-compressed but does not decompress: ${(e as Error).message}`,
        );
      }
    }
    return buf;
  }
}
