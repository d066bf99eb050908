// The XTS tweak mask as 128-bit SIMD WebAssembly, built here byte by byte (a few dozen
// instructions; no toolchain needed). Two functions over the module's one memory:
//
//   mask(p, tw, units, blocksPerUnit, out), in place:
//     for each unit u: T = tw[u]; for each 16-byte block b at offset o of the run:
//       b ^= T; out[o] = T; T = T * alpha
//   xor(p, q, n): p[i] ^= q[i] for n bytes (a multiple of 64)
//
// mask whitens the plaintext before AES and keeps every block's tweak at `out`; xor applies the
// same tweaks to AES's output, so the tweak chain is computed once per block, not twice.
//
// T * alpha in GF(2^128), little-endian as IEEE 1619 and OpenSSL use it: shift the 128-bit
// value left by one; the bit shifted out of the low 64-bit lane enters the high lane, the bit
// shifted out of the top becomes 0x87 in the low byte. With two i64 lanes:
//   shl(T, 1) XOR (swap_lanes(sign of each i64 lane) AND [0x87, 1])
// where the sign of each i64 lane is taken from i32x4.shr_s(T, 31) (x86 has no 64-bit
// arithmetic shift before AVX-512, and the i64x2 one compiles to several instructions).
// Each step depends on the previous one, so mask runs four units side by side (four
// independent chains) and only the units left over one at a time.
//
// No AES here: the block cipher stays in node:crypto. Callers check this against node's own
// aes-256-xts (test/image/xts.test.ts).

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)];

// Opcodes (WebAssembly core 2.0, its fixed-width SIMD, and the threads proposal's shared memory).
const I32 = 0x7f, V128 = 0x7b, EMPTY = 0x40;
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR = 0x0c, BR_IF = 0x0d;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_CONST = 0x41, I32_EQZ = 0x45, I32_LT_U = 0x49, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = simd(0x00), V128_STORE = simd(0x0b), V128_CONST = simd(0x0c), I8X16_SHUFFLE = simd(0x0d);
const V128_AND = simd(0x4e), V128_XOR = simd(0x51), I32X4_SHR_S = simd(0xac), I64X2_SHL = simd(0xcb);
const mem = (off: number): number[] => [4, ...uleb(off)]; // align 2^4

/** Units whose tweak chains mask runs side by side. */
export const MASK_CHAINS = 4;

function maskCode(): number[] {
  // params: 0 p, 1 tw, 2 units, 3 bpu, 4 out. locals: 5 d (out - p), 6 ub (unit bytes), 7 j,
  // 8.. the chains' addresses (i32), then their tweaks (v128), then one v128 temporary.
  const [p, tw, units, bpu, out, d, ub, j] = [0, 1, 2, 3, 4, 5, 6, 7];
  const addr = (k: number) => 8 + k;
  const tweak = (k: number) => 8 + MASK_CHAINS + k;
  const tmp = 8 + 2 * MASK_CHAINS;
  // bytes 0-7 of the result from i32 lane 3 (the high i64's sign), bytes 8-15 from lane 1.
  const signSwap = [12, 12, 12, 12, 12, 12, 12, 12, 4, 4, 4, 4, 4, 4, 4, 4];
  const poly = [0x87, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
  const step = (k: number): number[] => [
    GET, addr(k), GET, addr(k), ...V128_LOAD, ...mem(0), GET, tweak(k), ...V128_XOR, ...V128_STORE, ...mem(0),
    GET, addr(k), GET, d, I32_ADD, GET, tweak(k), ...V128_STORE, ...mem(0),
  ];
  const next = (k: number): number[] => [
    GET, tweak(k), I32_CONST, ...sleb(1), ...I64X2_SHL,
    GET, tweak(k), I32_CONST, ...sleb(31), ...I32X4_SHR_S, TEE, tmp, GET, tmp, ...I8X16_SHUFFLE, ...signSwap,
    ...V128_CONST, ...poly, ...V128_AND,
    ...V128_XOR, SET, tweak(k),
  ];
  // One loop over groups of `chains` units; it leaves when fewer units than that are left.
  const groups = (chains: number): number[] => {
    const ks = [...Array(chains).keys()];
    return [
      BLOCK, EMPTY, LOOP, EMPTY,
      GET, units, I32_CONST, ...sleb(chains), I32_LT_U, BR_IF, 1,
      ...ks.flatMap((k) => [GET, p, ...(k ? [GET, ub, I32_CONST, ...sleb(k), I32_MUL, I32_ADD] : []), SET, addr(k)]),
      ...ks.flatMap((k) => [GET, tw, ...V128_LOAD, ...mem(16 * k), SET, tweak(k)]),
      GET, bpu, SET, j,
      LOOP, EMPTY,
      ...ks.flatMap(step),
      ...ks.flatMap(next),
      ...ks.flatMap((k) => [GET, addr(k), I32_CONST, ...sleb(16), I32_ADD, SET, addr(k)]),
      GET, j, I32_CONST, ...sleb(1), I32_SUB, TEE, j, BR_IF, 0,
      END,
      GET, p, GET, ub, I32_CONST, ...sleb(chains), I32_MUL, I32_ADD, SET, p,
      GET, tw, I32_CONST, ...sleb(16 * chains), I32_ADD, SET, tw,
      GET, units, I32_CONST, ...sleb(chains), I32_SUB, SET, units,
      BR, 0,
      END, END,
    ];
  };
  const body = [
    GET, out, GET, p, I32_SUB, SET, d,
    GET, bpu, I32_CONST, ...sleb(16), I32_MUL, SET, ub,
    BLOCK, EMPTY, GET, bpu, I32_EQZ, BR_IF, 0,
    ...groups(MASK_CHAINS),
    ...groups(1),
    END,
    END,
  ];
  const locals = vec([[3 + MASK_CHAINS, I32], [MASK_CHAINS + 1, V128]].map(([n, ty]) => [...uleb(n!), ty!]));
  const fn = [...locals, ...body];
  return [...uleb(fn.length), ...fn];
}

function xorCode(): number[] {
  // params: 0 p, 1 q, 2 n
  const [p, q, n] = [0, 1, 2];
  const one = (off: number) => [GET, p, GET, p, ...V128_LOAD, ...mem(off), GET, q, ...V128_LOAD, ...mem(off), ...V128_XOR, ...V128_STORE, ...mem(off)];
  const body = [
    BLOCK, EMPTY, GET, n, I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...one(0), ...one(16), ...one(32), ...one(48),
    GET, p, I32_CONST, ...sleb(64), I32_ADD, SET, p,
    GET, q, I32_CONST, ...sleb(64), I32_ADD, SET, q,
    GET, n, I32_CONST, ...sleb(64), I32_SUB, TEE, n, BR_IF, 0,
    END,
    END,
    END,
  ];
  const fn = [...vec([]), ...body];
  return [...uleb(fn.length), ...fn];
}

/**
 * The module. It imports its memory as env.memory: a plain one of at least one page, or with
 * `sharedPages` a shared one of exactly that many pages (what worker threads use together).
 */
export function maskModuleBytes(sharedPages?: number): Uint8Array {
  const limits = sharedPages === undefined ? [0x00, ...uleb(1)] : [0x03, ...uleb(sharedPages), ...uleb(sharedPages)];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([])],
      [0x60, ...vec([[I32], [I32], [I32]]), ...vec([])],
    ])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name('mask'), 0x00, 0], [...name('xor'), 0x00, 1]])),
    ...section(10, vec([maskCode(), xorCode()])),
  ];
  return new Uint8Array(bytes);
}

// The few WebAssembly JS API members used here (the compiler's ES libraries do not declare them).
export interface WasmMemoryLike { readonly buffer: ArrayBuffer | SharedArrayBuffer }
export interface WasmApiLike {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemoryLike;
}

let checked: WasmApiLike | null | undefined;

/** The runtime's WebAssembly, if it validates the kernel (SIMD and shared memory included); undefined otherwise. */
export function wasmApi(): WasmApiLike | undefined {
  if (checked === undefined) {
    const w = (globalThis as unknown as { WebAssembly?: WasmApiLike }).WebAssembly;
    checked = w && w.validate(maskModuleBytes()) && w.validate(maskModuleBytes(1)) ? w : null;
  }
  return checked ?? undefined;
}
