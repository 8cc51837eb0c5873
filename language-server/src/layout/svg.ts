// A view model as a standalone SVG file (for papers and slides): the same
// picture as the webview at its initial state, with a fixed light palette
// (no VS Code theme outside the editor) and the fonts the layout measured.

import { GRAPH_FONT_FAMILY, FONT } from './measure.js';
import type { EdgeView, GraphViewModel, NodeView, SparsityGlyph } from './viewmodel.js';

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const n1 = (x: number): string => String(Math.round(x * 10) / 10);

/** Glyphs drawn in a 10×10 box; `currentColor` is the edge colour. */
export const GLYPH_SVG: Record<Exclude<SparsityGlyph, 'data'>, string> = {
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

const STYLE = `
text{font-family:${GRAPH_FONT_FAMILY};fill:#1f2328}
.node rect{stroke-width:1.2}
.role-op rect{fill:#ffffff;stroke:#6e7781}
.role-input rect{fill:#ddf4ff;stroke:#0969da}
.role-param rect{fill:#fff1e5;stroke:#bc4c00}
.role-state rect{fill:#fbefff;stroke:#8250df}
.role-target rect{fill:#f6f8fa;stroke:#57606a}
.role-const rect{fill:#f6f8fa;stroke:#8c959f;stroke-dasharray:3 2}
.role-output rect,.role-state-next rect,.role-loss rect{fill:#dafbe1;stroke:#1a7f37;stroke-width:2.2}
.role-loss rect{fill:#ffebe9;stroke:#cf222e}
.role-group rect{fill:#f6f8fa;stroke:#6e7781;stroke-width:1.5}
.group rect{fill:rgba(175,184,193,0.12);stroke:#d0d7de;stroke-dasharray:4 3}
.label{font-size:${FONT.node}px;font-weight:bold}
.sub{font-size:${FONT.detail}px;fill:#57606a}
.gtitle{font-size:${FONT.group}px;font-weight:bold;fill:#57606a}
.edge{fill:none;stroke:#57606a;stroke-width:1.2;color:#57606a}
.edge.data{stroke:#8c959f;stroke-dasharray:4 3}
.elabel rect{fill:#ffffff;stroke:none;opacity:0.85}
.elabel text{font-size:${FONT.edge}px;fill:#24292f}
.glyph{color:#0550ae}
.literal rect{fill:#ffffff;stroke:#8c959f;stroke-dasharray:2 2}
.literal text{font-size:${FONT.edge}px;fill:#57606a}
`;

function nodeSvg(n: NodeView): string {
  const rx = n.role === 'input' || n.role === 'param' || n.role === 'state' || n.role === 'target' ? Math.min(10, n.h / 2) : n.role === 'const' ? 4 : 3;
  const cx = n.x + n.w / 2;
  const lines: string[] = [];
  const hasSub = n.sublabel !== undefined;
  const hasValue = n.value !== undefined;
  let y = n.y + 15;
  lines.push(`<text class="label" x="${n1(cx)}" y="${n1(y)}" text-anchor="middle">${esc(n.label)}</text>`);
  if (hasSub) {
    y += 12;
    lines.push(`<text class="sub" x="${n1(cx)}" y="${n1(y)}" text-anchor="middle">${esc(n.sublabel)}</text>`);
  }
  if (hasValue) {
    y += 12;
    lines.push(`<text class="sub" x="${n1(cx)}" y="${n1(y)}" text-anchor="middle">${esc(n.value)}</text>`);
  }
  return `<g class="node role-${n.role}"><rect x="${n1(n.x)}" y="${n1(n.y)}" width="${n1(n.w)}" height="${n1(n.h)}" rx="${rx}"/>${lines.join('')}</g>`;
}

function edgeSvg(e: EdgeView): string {
  const d = e.points.map((p, i) => `${i ? 'L' : 'M'}${n1(p.x)} ${n1(p.y)}`).join('');
  let s = `<path class="edge${e.glyph === 'data' ? ' data' : ''}" d="${d}" marker-end="url(#arrow)"/>`;
  if (e.label) {
    const l = e.label;
    const glyph = e.glyph !== 'data' ? `<g class="glyph" transform="translate(${n1(l.x + 1)},${n1(l.y + 2)})">${GLYPH_SVG[e.glyph]}</g>` : '';
    s += `<g class="elabel"><rect x="${n1(l.x)}" y="${n1(l.y)}" width="${n1(l.w)}" height="${n1(l.h)}" rx="2"/>${glyph}<text x="${n1(l.x + 14)}" y="${n1(l.y + l.h - 3.5)}">${esc(l.text)}</text></g>`;
  }
  return s;
}

export function viewModelToSvg(vm: GraphViewModel): string {
  const w = Math.ceil(vm.width);
  const h = Math.ceil(vm.height);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`);
  parts.push(`<title>${esc(vm.title)}</title>`);
  parts.push(`<style>${STYLE}</style>`);
  parts.push(
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L8 4L0 8z" fill="#57606a"/></marker></defs>',
  );
  parts.push(`<rect width="${w}" height="${h}" fill="#ffffff"/>`);
  for (const b of vm.bands ?? []) parts.push(`<text class="gtitle" x="${n1(b.x + b.w / 2)}" y="12" text-anchor="middle">t = ${b.step}</text>`);
  for (const g of vm.groups) {
    parts.push(
      `<g class="group"><rect x="${n1(g.x)}" y="${n1(g.y)}" width="${n1(g.w)}" height="${n1(g.h)}" rx="6"/><text class="gtitle" x="${n1(g.x + 8)}" y="${n1(g.y + 15)}">${esc(g.label)}</text></g>`,
    );
  }
  for (const e of vm.edges) parts.push(edgeSvg(e));
  for (const l of vm.literals ?? []) {
    parts.push(
      `<g class="literal"><rect x="${n1(l.x)}" y="${n1(l.y)}" width="${n1(l.w)}" height="${n1(l.h)}" rx="3"/><text x="${n1(l.x + l.w / 2)}" y="${n1(l.y + l.h - 4.5)}" text-anchor="middle">${esc(l.text)}</text></g>`,
    );
  }
  for (const n of vm.nodes) parts.push(nodeSvg(n));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
