// The server's end of the wire, hardened: a malformed message is answered
// with a JSON-RPC error (ParseError for a frame that cannot be read,
// InvalidRequest, InvalidParams for a request whose params are of the wrong
// shape) and logged, and the server reads on — never a silent stop.
//
// vscode-jsonrpc's stream reader stops for good at a frame without a
// Content-Length (the body left behind is then read as headers), and the
// document manager takes `didOpen {text: 42}` as it comes, so the checker
// throws on every later request. Here frames are resynchronised at the next
// header, and the text-document notifications and positions are checked
// before any handler sees them.

import { Readable } from 'node:stream';
import {
  AbstractMessageReader,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
} from 'vscode-languageserver/node';
import { z } from 'zod';
import { describeIssues } from '../protocol/params.js';

/** The largest message accepted: a 64 MiB document is far past what analysis is for. */
export const MAX_MESSAGE_BYTES = 64 * 2 ** 20;

const position = z.object({ line: z.number().int().min(0), character: z.number().int().min(0) });
const range = z.object({ start: position, end: position });
const uri = z.string().min(1);

/** Shapes of the standard messages whose bad params would otherwise break the server's state (the open documents). */
const PARAMS: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['textDocument/didOpen', z.object({ textDocument: z.object({ uri, languageId: z.string(), version: z.number().int(), text: z.string() }) })],
  [
    'textDocument/didChange',
    z.object({
      textDocument: z.object({ uri, version: z.number().int() }),
      contentChanges: z.array(z.union([z.object({ range, rangeLength: z.number().optional(), text: z.string() }), z.object({ text: z.string() })])),
    }),
  ],
  ['textDocument/didClose', z.object({ textDocument: z.object({ uri }) })],
  ['textDocument/didSave', z.object({ textDocument: z.object({ uri }) })],
]);

/** Any `textDocument/*` request: a document, and a position or range of the right shape where one is given. */
const DOCUMENT_REQUEST = z.object({ textDocument: z.object({ uri }), position: position.optional(), range: range.optional() });

export type Problem = { readonly code: number; readonly message: string; readonly id: number | string | null };

/** What is wrong with a parsed message, or undefined when it may go to the handlers. */
export function checkMessage(m: unknown): Problem | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { code: ErrorCodes.InvalidRequest, message: 'a JSON-RPC message is an object', id: null };
  const o = m as Record<string, unknown>;
  const id = typeof o.id === 'number' || typeof o.id === 'string' ? o.id : null;
  if (o.jsonrpc !== '2.0') return { code: ErrorCodes.InvalidRequest, message: '\'jsonrpc\' must be "2.0"', id };
  if ('method' in o) {
    if (typeof o.method !== 'string') return { code: ErrorCodes.InvalidRequest, message: "'method' must be a string", id };
    const schema = PARAMS.get(o.method) ?? (o.method.startsWith('textDocument/') && id !== null ? DOCUMENT_REQUEST : undefined);
    if (schema) {
      const r = schema.safeParse(o.params);
      if (!r.success) return { code: ErrorCodes.InvalidParams, message: `${o.method}: ${describeIssues(r.error.issues)}`, id };
    }
    return undefined;
  }
  if ('result' in o || 'error' in o) return undefined; // a response to one of the server's requests
  return { code: ErrorCodes.InvalidRequest, message: 'neither a request, a notification nor a response', id };
}

export interface Guard {
  /** Answers a problem (requests only: a notification has no one to answer) and logs it. */
  reject(p: Problem, notification: boolean): void;
}

/** A reader that hands on only messages that pass `checkMessage`. */
class CheckedReader extends AbstractMessageReader implements MessageReader {
  constructor(
    private readonly inner: MessageReader,
    private readonly guard: Guard,
  ) {
    super();
    inner.onError((e) => this.fireError(e));
    inner.onClose(() => this.fireClose());
    inner.onPartialMessage((p) => this.firePartialMessage(p));
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((m) => {
      const p = checkMessage(m);
      if (!p) return callback(m);
      const o = m as unknown as Record<string, unknown>;
      this.guard.reject(p, typeof o === 'object' && o !== null && 'method' in o && !('id' in o));
    });
  }
}

/**
 * LSP's base protocol (`Content-Length: N\r\n\r\n` + N bytes of JSON) read
 * defensively: a header without a usable Content-Length, a body that is not
 * JSON, or a message over MAX_MESSAGE_BYTES is reported and skipped, and
 * reading resumes at the next header.
 */
export class FrameReader extends AbstractMessageReader implements MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Chunks of a body still arriving, and the buffer length that completes it: one copy per message, not per chunk. */
  private waiting: { chunks: Buffer[]; bytes: number; need: number } | undefined;

  constructor(
    private readonly input: Readable,
    private readonly onBadFrame: (message: string) => void,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const onData = (d: Buffer): void => {
      try {
        this.feed(d, callback);
      } catch (e) {
        // Never let a bad frame end the reader.
        this.onBadFrame(`could not read a message: ${(e as Error).message}`);
        this.buffer = Buffer.alloc(0);
      }
    };
    this.input.on('data', onData);
    this.input.on('error', (e) => this.fireError(e));
    this.input.on('close', () => this.fireClose());
    return { dispose: () => this.input.off('data', onData) };
  }

  private feed(d: Buffer, callback: DataCallback): void {
    if (this.waiting) {
      const w = this.waiting;
      w.chunks.push(d);
      w.bytes += d.length;
      if (w.bytes < w.need) return;
      this.waiting = undefined;
      this.buffer = Buffer.concat(w.chunks, w.bytes);
    } else {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    }
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        // Headers are a few dozen bytes; a kilobyte without their end is not a header.
        if (this.buffer.length > 8192) this.resync('a header that does not end', 1);
        return;
      }
      const header = this.buffer.subarray(0, end).toString('ascii');
      const m = /(?:^|\r\n)content-length:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i.exec(header);
      if (!m) {
        this.resync(`a header without a Content-Length (${JSON.stringify(header.slice(0, 80))})`, end + 4);
        continue;
      }
      const length = Number(m[1]);
      if (length > MAX_MESSAGE_BYTES) {
        // Its body is not read into memory: dropped up to the next header, as a header without a length.
        this.resync(`a message of ${length} bytes, more than the ${MAX_MESSAGE_BYTES} accepted`, end + 4);
        continue;
      }
      if (this.buffer.length < end + 4 + length) {
        this.waiting = { chunks: [this.buffer], bytes: this.buffer.length, need: end + 4 + length };
        this.buffer = Buffer.alloc(0);
        return;
      }
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      let message: unknown;
      try {
        message = JSON.parse(body);
      } catch (e) {
        this.onBadFrame(`a body that is not JSON (${(e as Error).message})`);
        continue;
      }
      callback(message as Message);
    }
  }

  /** Reports a bad frame and drops bytes up to the next `Content-Length` header at or after `from`. */
  private resync(what: string, from: number): void {
    this.onBadFrame(what);
    const next = this.buffer.indexOf('Content-Length', from, 'latin1');
    const lower = this.buffer.indexOf('content-length', from, 'latin1');
    const at = [next, lower].filter((i) => i >= 0).sort((a, b) => a - b)[0];
    this.buffer = at === undefined ? Buffer.alloc(0) : this.buffer.subarray(at);
  }
}

/**
 * The reader and writer for the transport the process was started with
 * (`--stdio` or `--node-ipc`, as vscode-languageserver decides), checked; and
 * the function that answers and logs a bad message once the connection's
 * console exists. Undefined for other transports (sockets, pipes): the
 * library's own then.
 */
export function guardedTransport(
  argv: readonly string[] = process.argv,
): { reader: MessageReader; writer: MessageWriter; setLog(log: (m: string) => void): void } | undefined {
  let log: (m: string) => void = (m) => process.stderr.write(`${m}\n`);
  let writer: MessageWriter;
  let raw: MessageReader;
  const guard: Guard = {
    reject(p, notification) {
      log(`eligo: malformed message${p.id !== null ? ` (id ${p.id})` : ''}: ${p.message}`);
      if (!notification) void writer.write({ jsonrpc: '2.0', id: p.id, error: { code: p.code, message: p.message } } as Message);
    },
  };
  if (argv.includes('--stdio')) {
    writer = new StreamMessageWriter(process.stdout);
    raw = new FrameReader(process.stdin, (what) => guard.reject({ code: ErrorCodes.ParseError, message: `unreadable message: ${what}`, id: null }, false));
  } else if (argv.includes('--node-ipc') && process.send) {
    writer = new IPCMessageWriter(process);
    raw = new IPCMessageReader(process);
  } else {
    return undefined;
  }
  return {
    reader: new CheckedReader(raw, guard),
    writer,
    setLog: (f) => {
      log = f;
    },
  };
}
