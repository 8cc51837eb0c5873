// Malformed messages, as raw frames (issue 12, item 5): each is answered with
// a JSON-RPC error and logged, and the server answers the next request — one
// bad message used to stop it for good, with no log line.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildServer, ROOT } from './helpers/lspClient.js';
import { RawServer } from './helpers/rawServer.js';

const LIF = readFileSync(join(ROOT, 'examples', 'lif.eligo'), 'utf8');
const uri = 'file:///malformed/lif.eligo';
const hover = (id: number): unknown => ({
  jsonrpc: '2.0',
  id,
  method: 'textDocument/hover',
  params: { textDocument: { uri }, position: { line: 18, character: 3 } },
});

describe('language server: malformed messages', function () {
  this.timeout(60000);
  let s: RawServer;

  before(async () => {
    buildServer();
    s = new RawServer();
    await s.initialize();
    s.send({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'eligo', version: 1, text: LIF } } });
    s.send(hover(1));
    assert.ok((await s.response(1)).result);
  });

  after(async () => {
    await s?.stop();
  });

  it('didOpen with text: 42 is logged and dropped; the document stays as it was and the server answers', async () => {
    s.send({
      jsonrpc: '2.0',
      method: 'textDocument/didOpen',
      params: { textDocument: { uri: 'file:///malformed/bad.eligo', languageId: 'eligo', version: 1, text: 42 } },
    });
    s.send(hover(2));
    const r = await s.response(2);
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.match(JSON.stringify(r.result), /u\[t\+1\]|state/);
    assert.ok(
      s.logs().some((l) => l === "eligo: malformed message: textDocument/didOpen: 'textDocument.text': Invalid input: expected string, received number"),
      s.logs().join('\n'),
    );
  });

  it('a frame without Content-Length gets a ParseError (id null); the next frame is read', async () => {
    s.write(`X-Nothing: 1\r\n\r\n${JSON.stringify(hover(3))}`);
    s.send(hover(4));
    const err = await s.next((m) => m.id === null && m.error?.code === -32700);
    assert.match(err.error!.message, /^unreadable message: a header without a Content-Length/);
    const r = await s.response(4);
    assert.ok(r.result, JSON.stringify(r));
    assert.ok(s.logs().some((l) => /malformed message: unreadable message: a header without a Content-Length/.test(l)));
  });

  it('a body that is not JSON gets a ParseError; a request with a bad position gets InvalidParams with its id; a non-object gets InvalidRequest', async () => {
    s.write(s.frame('{"jsonrpc": "2.0", "id": 5, '));
    s.send({ jsonrpc: '2.0', id: 6, method: 'textDocument/hover', params: { textDocument: { uri }, position: { line: 'x', character: 1 } } });
    s.send([1, 2, 3]);
    s.send({ jsonrpc: '1.0', id: 7, method: 'textDocument/hover' });
    s.send(hover(8));
    assert.match(
      (await s.next((m) => m.id === null && m.error?.code === -32700 && /not JSON/.test(m.error.message))).error!.message,
      /a body that is not JSON/,
    );
    const bad = await s.response(6);
    assert.equal(bad.error!.code, -32602);
    assert.equal(bad.error!.message, "textDocument/hover: 'position.line': Invalid input: expected number, received string");
    assert.equal((await s.next((m) => m.id === null && m.error?.code === -32600)).error!.message, 'a JSON-RPC message is an object');
    assert.equal((await s.response(7)).error!.code, -32600);
    assert.ok((await s.response(8)).result);
  });

  it('an over-size Content-Length is refused without reading the body into memory, and reading resumes after it', async () => {
    s.write('Content-Length: 999999999999\r\n\r\n');
    s.send(hover(9));
    assert.match(
      (await s.next((m) => m.id === null && /more than the \d+ accepted/.test(m.error?.message ?? ''))).error!.message,
      /a message of 999999999999 bytes/,
    );
    assert.ok((await s.response(9)).result);
    assert.equal(s.exited, false);
  });
});
