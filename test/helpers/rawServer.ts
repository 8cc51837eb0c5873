// The language server over raw bytes: frames written as they are (malformed
// ones included) and every message it sends back parsed, so a test can see
// what a broken client's bytes get answered with.

import { spawn, type ChildProcess } from 'node:child_process';
import { SERVER_JS } from './lspClient.js';

export interface RawMessage {
  readonly id?: number | string | null;
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: { readonly code: number; readonly message: string };
}

export class RawServer {
  readonly child: ChildProcess;
  readonly received: RawMessage[] = [];
  exited = false;
  private buf = Buffer.alloc(0);
  private waiters: { test: (m: RawMessage) => boolean; resolve: (m: RawMessage) => void }[] = [];

  constructor(env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [SERVER_JS, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.on('exit', () => {
      this.exited = true;
    });
    this.child.stdout!.on('data', (d: Buffer) => this.feed(d));
    // A server request (configuration, registration, progress) gets an empty answer, as a minimal client gives.
  }

  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buf.subarray(0, end).toString('ascii'));
      if (!m) throw new Error(`the server wrote a frame without Content-Length: ${this.buf.subarray(0, end).toString()}`);
      const n = Number(m[1]);
      if (this.buf.length < end + 4 + n) return;
      const msg = JSON.parse(this.buf.subarray(end + 4, end + 4 + n).toString('utf8')) as RawMessage;
      this.buf = this.buf.subarray(end + 4 + n);
      this.received.push(msg);
      if (msg.method !== undefined && msg.id !== undefined)
        this.send({ jsonrpc: '2.0', id: msg.id, result: msg.method === 'workspace/configuration' ? [{}] : null });
      this.waiters = this.waiters.filter((w) => (w.test(msg) ? (w.resolve(msg), false) : true));
    }
  }

  /** Raw bytes, exactly. */
  write(bytes: string | Buffer): void {
    this.child.stdin!.write(bytes);
  }

  /** A well-formed frame around `body` (any JSON value, or a string taken as it is). */
  frame(body: unknown): string {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return `Content-Length: ${Buffer.byteLength(text, 'utf8')}\r\n\r\n${text}`;
  }

  send(body: unknown): void {
    this.write(this.frame(body));
  }

  /** The first message (already received or to come) that passes `test`. */
  next(test: (m: RawMessage) => boolean, timeoutMs = 20000): Promise<RawMessage> {
    const hit = this.received.find(test);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no such message within ${timeoutMs} ms; received ${JSON.stringify(this.received).slice(-2000)}`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  response(id: number | string | null, timeoutMs?: number): Promise<RawMessage> {
    return this.next((m) => m.method === undefined && m.id === id && (m.result !== undefined || m.error !== undefined), timeoutMs);
  }

  async initialize(options: Record<string, unknown> = {}): Promise<void> {
    this.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: options },
    });
    await this.response('init');
    this.send({ jsonrpc: '2.0', method: 'initialized', params: {} });
  }

  logs(): string[] {
    return this.received.filter((m) => m.method === 'window/logMessage').map((m) => (m.params as { message: string }).message);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await new Promise((r) => this.child.once('exit', r));
  }
}
