// Draws media/icon.png: a small computational graph (three inputs, two
// interior vertices, one output, and the dashed fill-in edge that eliminating
// a vertex creates) on a rounded square. No dependencies: the PNG is written
// by hand with node:zlib. Run: node media/make-icon.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4; // supersamples per axis

const BG_TOP = [0x1b, 0x26, 0x3b];
const BG_BOTTOM = [0x24, 0x3b, 0x63];
const EDGE = [0x9f, 0xb3, 0xd1];
const FILL_IN = [0xf2, 0xa3, 0x3a];
const NODE = [0xe8, 0xf1, 0xff];
const INPUT = [0x5e, 0xc8, 0xc0];
const OUTPUT = [0xf2, 0xa3, 0x3a];

const inputs = [[28, 30], [28, 64], [28, 98]];
const interior = [[64, 44], [64, 86]];
const output = [100, 64];
const edges = [
  [inputs[0], interior[0]], [inputs[1], interior[0]], [inputs[1], interior[1]], [inputs[2], interior[1]],
  [interior[0], output], [interior[1], output],
];
const fillIn = [inputs[1], output];

function segmentDistance(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return [Math.hypot(px - (ax + t * dx), py - (ay + t * dy)), t];
}

function insideRoundedSquare(x, y, r = 22) {
  const cx = Math.min(Math.max(x, r), SIZE - r);
  const cy = Math.min(Math.max(y, r), SIZE - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

/** Colour of one sample point, or null outside the icon. */
function sample(x, y) {
  if (!insideRoundedSquare(x, y)) return null;
  const f = y / SIZE;
  let c = BG_TOP.map((v, i) => v + (BG_BOTTOM[i] - v) * f);
  const [dFill, tFill] = segmentDistance(x, y, fillIn[0], fillIn[1]);
  if (dFill < 1.8 && Math.floor(tFill * 12) % 2 === 0) c = FILL_IN;
  for (const [a, b] of edges) if (segmentDistance(x, y, a, b)[0] < 2.2) c = EDGE;
  const disc = (p, r, colour) => {
    const d = Math.hypot(x - p[0], y - p[1]);
    if (d < r) c = d > r - 2.5 ? NODE : colour;
  };
  for (const p of inputs) disc(p, 10, INPUT);
  for (const p of interior) disc(p, 10, NODE);
  disc(output, 12, OUTPUT);
  return c;
}

const rgba = Buffer.alloc(SIZE * SIZE * 4);
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let r = 0, g = 0, b = 0, n = 0;
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const c = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
        if (!c) continue;
        r += c[0]; g += c[1]; b += c[2]; n++;
      }
    }
    const o = (py * SIZE + px) * 4;
    if (n > 0) {
      rgba[o] = Math.round(r / n); rgba[o + 1] = Math.round(g / n); rgba[o + 2] = Math.round(b / n);
    }
    rgba[o + 3] = Math.round((255 * n) / (SS * SS));
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
// compression, filter, interlace: 0
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  rgba.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
writeFileSync(new URL('./icon.png', import.meta.url), png);
console.log(`media/icon.png: ${SIZE}×${SIZE}, ${png.length} bytes`);
