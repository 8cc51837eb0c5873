// How task payloads and results travel through Redis. BullMQ stores a job's
// data and return value as JSON text; plain JSON would turn Infinity and NaN
// into null (an alignment's relative error is Infinity when the exact
// gradient is zero) and typed arrays into objects of indices. So values are
// encoded first: non-finite numbers and typed arrays become small tagged
// objects, typed arrays as base64 of their bytes (exact, little-endian), and
// decoded on the other side before the kind's schema validates them.
//
// Doubles written by JSON.stringify read back bit for bit (shortest
// round-trip form), which the determinism of distributed runs relies on.

const F32 = '$f32';
const F64 = '$f64';
const I32 = '$i32';
const U8 = '$u8';
const NUM = '$num';

type Tagged = { [F32]: string } | { [F64]: string } | { [I32]: string } | { [U8]: string } | { [NUM]: 'Infinity' | '-Infinity' | 'NaN' };

function bytes(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A JSON-safe copy of `v`: typed arrays and non-finite numbers tagged. Throws on values JSON cannot hold (functions, cycles, bigint). */
export function encodeWire(v: unknown, seen: Set<object> = new Set()): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : { [NUM]: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v === undefined) return undefined;
  if (typeof v !== 'object') throw new TypeError(`cannot send a ${typeof v} through the queue`);
  if (v instanceof Float32Array) return { [F32]: bytes(v) };
  if (v instanceof Float64Array) return { [F64]: bytes(v) };
  if (v instanceof Int32Array) return { [I32]: bytes(v) };
  if (v instanceof Uint8Array) return { [U8]: bytes(v) };
  if (ArrayBuffer.isView(v)) throw new TypeError(`cannot send a ${v.constructor.name} through the queue`);
  if (seen.has(v)) throw new TypeError('cannot send a cyclic value through the queue');
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : encodeWire(x, seen)));
    if (v instanceof Map || v instanceof Set) throw new TypeError(`cannot send a ${v.constructor.name} through the queue (use an object or an array)`);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      out[k] = encodeWire(x, seen);
    }
    return out;
  } finally {
    seen.delete(v);
  }
}

function typed<T>(s: unknown, width: number, make: (buf: ArrayBuffer, n: number) => T): T | undefined {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  if (b.length % width !== 0) return undefined;
  // Copy into an aligned buffer of its own: a Buffer may sit at any offset of a shared pool.
  const ab = new ArrayBuffer(b.length);
  new Uint8Array(ab).set(b);
  return make(ab, b.length / width);
}

/** The inverse of encodeWire. A malformed tag is left as it is, for the schema to reject with its path. */
export function decodeWire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decodeWire);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const k = keys[0]!;
    const x = o[k];
    const out =
      k === F32
        ? typed(x, 4, (b, n) => new Float32Array(b, 0, n))
        : k === F64
          ? typed(x, 8, (b, n) => new Float64Array(b, 0, n))
          : k === I32
            ? typed(x, 4, (b, n) => new Int32Array(b, 0, n))
            : k === U8
              ? typed(x, 1, (b, n) => new Uint8Array(b, 0, n))
              : k === NUM
                ? x === 'Infinity'
                  ? Infinity
                  : x === '-Infinity'
                    ? -Infinity
                    : x === 'NaN'
                      ? NaN
                      : undefined
                : undefined;
    if (out !== undefined) return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeWire(o[k]);
  return out;
}

/** Bytes of the JSON text BullMQ will store for `v` (the benchmark's payload sizes). */
export function wireBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(encodeWire(v)));
}

export type { Tagged };
