// The front door moved to analysis/ (analysis/index.ts); this re-export keeps the old imports working.
export * from './analysis/index.js';
