// Sparsity glyphs, drawn in a 10×10 box with currentColor (the same shapes as
// the SVG export, layout/svg.ts): what an edge Jacobian stores, at a glance.

import type { SparsityGlyph } from '../../../language-server/src/layout/viewmodel.js';

export const GLYPHS: Record<Exclude<SparsityGlyph, 'data'>, string> = {
  dense: '<rect x="0.5" y="0.5" width="9" height="9" fill="currentColor" stroke="currentColor"/>',
  diagonal:
    '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor"/><rect x="1.5" y="1.5" width="2.4" height="2.4" fill="currentColor"/><rect x="3.8" y="3.8" width="2.4" height="2.4" fill="currentColor"/><rect x="6.1" y="6.1" width="2.4" height="2.4" fill="currentColor"/>',
  identity: '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor"/><path d="M2 2L8 8" stroke="currentColor" stroke-width="1.2"/>',
  kronecker:
    '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor"/><rect x="1.5" y="1.5" width="3.5" height="3.5" fill="currentColor"/><rect x="5" y="5" width="3.5" height="3.5" fill="currentColor"/>',
  replicated: '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor"/><path d="M2 3H8M2 5H8M2 7H8" stroke="currentColor"/>',
  transform:
    '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor" stroke-dasharray="2 1"/><path d="M2 8L8 2" stroke="currentColor" stroke-width="1.2"/>',
  scalar: '<circle cx="5" cy="5" r="3" fill="currentColor"/>',
  zero: '<rect x="0.5" y="0.5" width="9" height="9" fill="none" stroke="currentColor"/><path d="M2 2L8 8M8 2L2 8" stroke="currentColor"/>',
};

export const GLYPH_NAMES: Record<SparsityGlyph, string> = {
  dense: 'dense',
  diagonal: 'diagonal',
  identity: 'identity (α·I)',
  kronecker: 'Kronecker (I ⊗ dense)',
  replicated: 'replicated (broadcast)',
  transform: 'copy / slice / reshape',
  scalar: 'scalar',
  zero: 'zero',
  data: 'data (no Jacobian)',
};
