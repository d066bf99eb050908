// The XTS tweak mask as a 128-bit SIMD WebAssembly function, built here byte by byte (the
// module is a few dozen instructions; no toolchain needed):
//
//   mask(p, tw, units, blocksPerUnit), in place:
//     for each unit u: T = tw[u]; for each 16-byte block b: b ^= T; T = T * alpha
//
// T * alpha in GF(2^128), little-endian as IEEE 1619 and OpenSSL use it: shift the 128-bit
// value left by one; the bit shifted out of the low 64-bit lane enters the high lane, the bit
// shifted out of the top becomes 0x87 in the low byte. With two i64 lanes:
//   shl(T, 1) XOR (swap_lanes(shr_s(T, 63)) AND [0x87, 1])
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

// Opcodes (WebAssembly core 2.0 and its fixed-width SIMD).
const I32 = 0x7f, V128 = 0x7b, EMPTY = 0x40;
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR_IF = 0x0d;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_CONST = 0x41, I32_EQZ = 0x45, I32_NE = 0x47, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_SHL = 0x74;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = simd(0x00), V128_STORE = simd(0x0b), V128_CONST = simd(0x0c), I8X16_SHUFFLE = simd(0x0d);
const V128_AND = simd(0x4e), V128_XOR = simd(0x51), I64X2_SHL = simd(0xcb), I64X2_SHR_S = simd(0xcc);
const MEMARG16 = [4, 0]; // align 2^4, offset 0

/** One block: p[off] ^= T, then T = T * alpha. */
function block(p: number, t: number, off: number): number[] {
  const swapLanes = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const poly = [0x87, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
  const memarg = [4, ...uleb(off)];
  return [
    GET, p, GET, p, ...V128_LOAD, ...memarg, GET, t, ...V128_XOR, ...V128_STORE, ...memarg,
    GET, t, I32_CONST, ...sleb(1), ...I64X2_SHL,
    GET, t, I32_CONST, ...sleb(63), ...I64X2_SHR_S,
    GET, t, ...I8X16_SHUFFLE, ...swapLanes,
    ...V128_CONST, ...poly, ...V128_AND,
    ...V128_XOR, SET, t,
  ];
}

/** Blocks handled per inner-loop turn; blocksPerUnit must be a multiple of it. */
export const MASK_UNROLL = 4;

function code(): number[] {
  // mask(p, tw, units, blocksPerUnit), in place. locals: 4 j (i32), 5 end (i32), 6 T (v128)
  const [p, tw, units, bpu, j, end, t] = [0, 1, 2, 3, 4, 5, 6];
  const blocks: number[] = [];
  for (let i = 0; i < MASK_UNROLL; i++) blocks.push(...block(p, t, 16 * i));
  const body = [
    GET, tw, GET, units, I32_CONST, ...sleb(4), I32_SHL, I32_ADD, SET, end,
    BLOCK, EMPTY,
    GET, units, I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    GET, tw, ...V128_LOAD, ...MEMARG16, SET, t,
    GET, bpu, SET, j,
    LOOP, EMPTY,
    ...blocks,
    GET, p, I32_CONST, ...sleb(16 * MASK_UNROLL), I32_ADD, SET, p,
    GET, j, I32_CONST, ...sleb(MASK_UNROLL), I32_SUB, TEE, j, BR_IF, 0,
    END,
    GET, tw, I32_CONST, ...sleb(16), I32_ADD, TEE, tw, GET, end, I32_NE, BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = vec([[2, I32], [1, V128]].map(([n, ty]) => [...uleb(n!), ty!]));
  const fn = [...locals, ...body];
  return [...uleb(fn.length), ...fn];
}

export function maskModuleBytes(): Uint8Array {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([])]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('mask'), 0x00, 0]])),
    ...section(10, vec([code()])),
  ];
  return new Uint8Array(bytes);
}

// The few WebAssembly JS API members used here (the compiler's ES libraries do not declare them).
export interface WasmApiLike {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer };
}

let checked: WasmApiLike | null | undefined;

/** The runtime's WebAssembly, if it validates the kernel (SIMD included); undefined otherwise. */
export function wasmApi(): WasmApiLike | undefined {
  if (checked === undefined) {
    const w = (globalThis as unknown as { WebAssembly?: WasmApiLike }).WebAssembly;
    checked = w && w.validate(maskModuleBytes()) ? w : null;
  }
  return checked ?? undefined;
}
