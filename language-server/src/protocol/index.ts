// The contract between the language server, the extension, the webview and
// the job kinds: typed descriptors, zod schemas of every request's params and
// plain-data results — no logic beyond validation (as rust-analyzer's
// lsp_ext.ts and sprotty-vscode's protocol module). The server and the
// extension import the constants; the webview imports the types only.

export * from './settings.js';
export * from './params.js';
export * from './results.js';
export * from './messages.js';
export * from './panel.js';
