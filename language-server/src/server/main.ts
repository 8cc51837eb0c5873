import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { createServices } from './services.js';
createServices(createConnection(ProposedFeatures.all)).start();
