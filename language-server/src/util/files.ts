// Reading the user's files and writing them back without ever losing them.
//
// Reading: only regular files are read (a device such as /dev/zero never
// ends, a FIFO blocks), up to a size limit, and only text: a file with NUL
// bytes or bytes that are not UTF-8 is refused with one line instead of being
// parsed into a page of nonsense. A UTF-8 byte-order mark is accepted and
// remembered, so a file written back keeps it.
//
// Writing: to a temporary file in the same folder, flushed to disk, then
// renamed over the target (rename is atomic on one file system, POSIX
// rename(2)): a failed write (disk full, a size limit, a crash) leaves the
// old file whole. With `unchangedSince`, the target is read again just before
// the rename and the write is refused if it no longer holds what was read,
// so edits the user made while a long search ran are never overwritten. (A
// write in the moment between that check and the rename can still be lost;
// no portable file API closes that window without locks editors do not take.)

import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EligoError } from './errors.js';
import { formatBytes } from './units.js';

export class FileError extends EligoError {
  constructor(
    code: 'file.missing' | 'file.not-regular' | 'file.too-large' | 'file.binary' | 'file.encoding' | 'file.read' | 'file.write' | 'file.changed',
    message: string,
  ) {
    super(code, message);
  }
}

/** Model files larger than this are refused (the largest example is 30 KiB). */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

export interface TextFile {
  readonly path: string;
  /** The text, without a byte-order mark. */
  readonly text: string;
  /** The file started with a UTF-8 byte-order mark. */
  readonly bom: boolean;
  /** SHA-256 of the bytes read: `writeTextFileAtomic(…, { unchangedSince })` compares it. */
  readonly fingerprint: string;
}

export interface ReadOptions {
  /** Default MAX_SOURCE_BYTES. */
  readonly maxBytes?: number;
  /** What the file is, for messages ('model file', 'network file'). */
  readonly what?: string;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

export function fingerprintOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes of a regular file, at most `maxBytes` (a file that grows past the limit while read is refused too). */
export function readRegularFile(path: string, o: ReadOptions = {}): Buffer {
  const max = o.maxBytes ?? MAX_SOURCE_BYTES;
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') throw new FileError('file.missing', `cannot open '${path}': no such file`);
    throw new FileError('file.read', `cannot open '${path}': ${code(e)}`);
  }
  // Checked before opening: opening a FIFO for reading blocks until a writer comes.
  if (!st.isFile()) throw new FileError('file.not-regular', `cannot read '${path}': it is ${kindOf(st)}, not a file`);
  if (st.size > max) throw new FileError('file.too-large', `'${path}' is ${formatBytes(st.size)}; Eligo reads ${o.what ?? 'files'} up to ${formatBytes(max)}`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new FileError('file.read', `cannot read '${path}': ${code(e)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new FileError('file.not-regular', `cannot read '${path}': it is not a regular file`);
    // Read to the end rather than trusting st.size: files under /proc report 0.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) throw new FileError('file.too-large', `'${path}' is larger than ${formatBytes(max)}, the most Eligo reads for ${o.what ?? 'a file'}`);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError('file.read', `cannot read '${path}': ${code(e)}`);
  } finally {
    closeSync(fd);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Line and column (1-based) of byte `offset`. */
function lineColOfByte(bytes: Uint8Array, offset: number): string {
  let line = 1;
  let start = 0;
  for (let k = 0; k < offset; k++)
    if (bytes[k] === 0x0a) {
      line++;
      start = k + 1;
    }
  return `${line}:${offset - start + 1}`;
}

/** A UTF-8 text file (see the module comment for what is refused). */
export function readTextFile(path: string, o: ReadOptions = {}): TextFile {
  const bytes = readRegularFile(path, o);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (!bom && bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new FileError('file.encoding', `cannot read '${path}': it is UTF-16 text; save it as UTF-8`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new FileError('file.binary', `cannot read '${path}': it is a binary file (a NUL byte at ${lineColOfByte(bytes, nul)}), not text`);
  let text: string;
  try {
    text = utf8.decode(bom ? bytes.subarray(3) : bytes);
  } catch {
    const at = firstInvalidUtf8(bytes, bom ? 3 : 0);
    throw new FileError(
      'file.encoding',
      `cannot read '${path}': it is not UTF-8 text (byte 0x${bytes[at]?.toString(16).padStart(2, '0') ?? '??'} at ${lineColOfByte(bytes, at)})`,
    );
  }
  return { path, text, bom, fingerprint: fingerprintOf(bytes) };
}

export interface WriteOptions {
  /** Refuse when the file's bytes no longer have this fingerprint (it was edited since it was read). */
  readonly unchangedSince?: string;
  /** Write a UTF-8 byte-order mark first (a file read with one keeps it). */
  readonly bom?: boolean;
}

/** The bytes written to the temporary file; a hook for tests of failed writes. */
export type WriteChunk = (fd: number, data: Buffer) => void;

const writeAll: WriteChunk = (fd, data) => {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
};

/**
 * Writes `text` to `path` through a temporary file and a rename; the old file
 * stays whole if anything fails. Returns the new file's fingerprint.
 */
export function writeTextFileAtomic(path: string, text: string, o: WriteOptions = {}, write: WriteChunk = writeAll): string {
  // Write through a symbolic link to the file it names, not over the link.
  let target = path;
  let old: Stats | undefined;
  try {
    target = realpathSync(path);
    old = statSync(target);
  } catch {
    // A new file.
  }
  const data = Buffer.from(o.bom ? `\ufeff${text}` : text, 'utf8');
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o666);
  } catch (e) {
    throw new FileError('file.write', `cannot write '${path}': ${code(e)} (creating a temporary file in ${dirname(target)}); the file was not changed`);
  }
  const discard = (): void => {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  };
  try {
    // The replacement keeps the old file's mode (not the umask's) and, when root writes it, its owner.
    if (old) {
      fchmodSync(fd, old.mode & 0o7777);
      if (process.getuid?.() === 0 && (old.uid !== 0 || old.gid !== 0)) fchownSync(fd, old.uid, old.gid);
    }
    write(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    discard();
    throw new FileError('file.write', `cannot write '${path}': ${code(e)}; the file was not changed`);
  }
  closeSync(fd);
  if (o.unchangedSince !== undefined) {
    let now: string | undefined;
    try {
      now = fingerprintOf(readRegularFile(target, { maxBytes: Number.MAX_SAFE_INTEGER }));
    } catch {
      now = undefined;
    }
    if (now !== o.unchangedSince) {
      discard();
      throw new FileError('file.changed', `'${path}' was ${now === undefined ? 'removed' : 'changed'} since Eligo read it; it was not overwritten`);
    }
  }
  try {
    renameSync(tmp, target);
  } catch (e) {
    discard();
    throw new FileError('file.write', `cannot write '${path}': ${code(e)}; the file was not changed`);
  }
  return fingerprintOf(data);
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (Unicode 15, table 3-7). */
function firstInvalidUtf8(b: Uint8Array, from: number): number {
  let k = from;
  while (k < b.length) {
    const c = b[k]!;
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) {
      k++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return k;
    for (let j = 1; j <= n; j++) {
      const d = b[k + j];
      if (d === undefined || d < (j === 1 ? lo : 0x80) || d > (j === 1 ? hi : 0xbf)) return k;
    }
    k += n + 1;
  }
  return Math.min(k, b.length - 1);
}
