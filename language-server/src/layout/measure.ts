// Text measurement without a browser: advance widths of DejaVu Sans (the
// widest of the common UI sans fonts: Segoe UI, Helvetica, Arial and Ubuntu
// are narrower, so a box sized here holds the text in any of them), in
// thousandths of an em, normal and bold. Measured once with canvas
// measureText in Chromium at 1000 px; characters outside the table count as
// a wide glyph (an em).
//
// ELK needs every node and label size before it lays out; the webview draws
// with the font stack in GRAPH_FONT_FAMILY so the two agree.

export const GRAPH_FONT_FAMILY = '"DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif';

/** Font sizes (px) of the graph's text: node names, node details, edge labels, group titles. */
export const FONT = { node: 12, detail: 10, edge: 10, group: 11 } as const;

const ASCII_NORMAL = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838,
  531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390,
  838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337,
  636, 838,
];
const ASCII_BOLD = [
  348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838,
  580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457,
  838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365,
  712, 838,
];
const OTHER: Record<string, readonly [number, number]> = {
  α: [659, 687],
  β: [638, 716],
  γ: [592, 681],
  δ: [612, 687],
  ε: [541, 557],
  ζ: [544, 591],
  η: [634, 712],
  θ: [612, 687],
  ι: [338, 390],
  κ: [589, 710],
  λ: [592, 633],
  μ: [636, 736],
  ν: [559, 681],
  ξ: [558, 591],
  ο: [612, 687],
  π: [602, 791],
  ρ: [635, 716],
  σ: [634, 779],
  τ: [602, 638],
  υ: [579, 675],
  φ: [660, 782],
  χ: [578, 645],
  ψ: [660, 794],
  ω: [837, 869],
  Γ: [557, 637],
  Δ: [684, 774],
  Θ: [787, 850],
  Λ: [684, 774],
  Ξ: [632, 632],
  Π: [752, 837],
  Σ: [632, 683],
  Φ: [787, 850],
  Ψ: [787, 850],
  Ω: [764, 850],
  '∂': [517, 544],
  '·': [318, 380],
  '×': [838, 838],
  '÷': [838, 838],
  '−': [838, 838],
  '√': [637, 667],
  '∑': [674, 718],
  '∏': [757, 787],
  '⊗': [838, 838],
  ᵀ: [385, 430],
  '′': [227, 264],
  '²': [401, 438],
  '³': [401, 438],
  '⁻': [528, 528],
  '¹': [401, 438],
  '₀': [401, 438],
  '₁': [401, 438],
  '₂': [401, 438],
  '₃': [401, 438],
  '₄': [401, 438],
  '₅': [401, 438],
  '₆': [401, 438],
  '₇': [401, 438],
  '₈': [401, 438],
  '₉': [401, 438],
  '≈': [838, 838],
  '≤': [838, 838],
  '≥': [838, 838],
  '→': [838, 838],
  '←': [838, 838],
  '…': [1000, 1000],
  '∞': [833, 833],
  '⋅': [318, 380],
  '∘': [626, 626],
  '⊙': [838, 838],
  ℐ: [470, 597],
  '𝟙': [636, 696],
};

const UNKNOWN = 1000;

/** Width in px of `text` at `size` px, normal or bold. */
export function textWidth(text: string, size: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c >= 32 && c < 127) units += (bold ? ASCII_BOLD : ASCII_NORMAL)[c - 32]!;
    else units += OTHER[ch]?.[bold ? 1 : 0] ?? UNKNOWN;
  }
  return (units * size) / 1000;
}

/** Shortens `text` with an ellipsis so that it fits in `max` px. */
export function fitText(text: string, size: number, max: number, bold = false): string {
  if (textWidth(text, size, bold) <= max) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(`${chars.slice(0, mid).join('')}…`, size, bold) <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${chars.slice(0, lo).join('')}…`;
}
