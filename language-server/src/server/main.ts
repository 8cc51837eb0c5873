import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { createServices } from './services.js';
import { guardedTransport } from './transport.js';

// stdio and node-ipc through the checked transport (transport.ts): a malformed message is answered and logged, never the end.
const t = guardedTransport();
const connection = t ? createConnection(ProposedFeatures.all, t.reader, t.writer) : createConnection(ProposedFeatures.all);
t?.setLog((m) => connection.console.error(m));
createServices(connection).start();
