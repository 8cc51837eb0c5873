// The protocol moved to protocol/ (protocol/index.ts); this re-export keeps the old imports working.
export * from './protocol/index.js';
