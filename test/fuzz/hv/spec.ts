// What one step of the hostile-hypervisor fuzz does, as plain data fast-check can generate and
// shrink: either the hypervisor acts (an ultracall with plausible or wild arguments, or a way to
// answer the SVM's pending hypercall), or the SVM acts (writes, reads, shares, unshares, its own
// ultracalls) while the hypervisor answers the ultravisor's requests as `answers` says.
// Arguments are symbolic ("the SVM's lpid", "agent page 3", "a secure frame") and resolved
// against the running system when the step runs.

import fc from 'fast-check';
import { ULTRACALLS, UV } from '../../../src/abi/ultracalls.js';

/** Guest frames the SVM agent owns and checks (its pages), and a few after them it may spill into. */
export const AGENT_GFN = 256;
export const AGENT_PAGES = 16;
export const AGENT_GUARD = 4;

export type PageRef =
  | { k: 'agent'; i: number }
  | { k: 'record'; i: number }
  | { k: 'kernel'; i: number }
  | { k: 'bounce'; i: number }
  | { k: 'raw'; v: bigint };
export type LpidRef = 'svm' | 'zero' | 'other' | 'huge' | bigint;
export type FrameRef = 'fresh' | 'held' | 'shared' | 'secure' | 'alias' | 'zero' | 'unaligned' | 'beyond' | bigint;
/** What a page-in hands over: the honest ciphertext, an older one, another page's, a flipped bit, the hypervisor's own plaintext. */
export type Content = 'latest' | 'replay' | 'swap' | 'flip' | 'plain';

export type HvOp =
  | { op: 'page-out'; page: PageRef; frame: FrameRef; lpid: LpidRef; flags: bigint; shift: bigint }
  | { op: 'page-in'; page: PageRef; frame: FrameRef; content: Content; lpid: LpidRef; flags: bigint; shift: bigint }
  | { op: 'page-inval'; page: PageRef; lpid: LpidRef; shift: bigint }
  | { op: 'reg-slot'; lpid: LpidRef; start: PageRef | 'zero'; size: 'vm' | 'page' | 'huge' | bigint; flags: bigint; slot: bigint }
  | { op: 'unreg-slot'; lpid: LpidRef; slot: bigint }
  | { op: 'pate'; lpid: LpidRef; dw0: 'normal-root' | 'secure-root' | 'zero' | bigint; dw1: bigint }
  | { op: 'scom'; write: boolean; chip: bigint; addr: 'allowed' | 'secure-window' | bigint; value: bigint }
  | { op: 'spr'; write: boolean; spr: 'restricted' | bigint; value: bigint }
  | { op: 'return'; cookie: 'valid' | 'stale' | 'near' | 'random'; r0: bigint; outs: bigint[]; hsrr0: 'cookie' | number | bigint; r2: bigint }
  | { op: 'terminate'; lpid: LpidRef }
  | { op: 'mem'; write: boolean; buffer: FrameRef; handle: bigint; offset: bigint; size: bigint }
  | { op: 'raw'; nr: bigint; args: bigint[] };

export type SvmOp =
  | { op: 'write'; i: number }
  | { op: 'verify'; pages: number[] }
  | { op: 'share'; i: number; n: number }
  | { op: 'unshare'; i: number; n: number }
  | { op: 'unshare-all' }
  | { op: 'ucall'; nr: number; args: bigint[] }
  | { op: 'random' };

/** How the hypervisor answers one request of the ultravisor (H_SVM_PAGE_IN/OUT, a reflected HDSI). */
export type Answer =
  | 'honest' | 'refuse' | 'lie' | 'wrong' | 'twice' | 'replay' | 'swap' | 'flip' | 'secure'
  | { chaos: HvOp[] };

export interface Step {
  hv?: HvOp;
  svm?: SvmOp;
  answers: Answer[];
  /** Seed for what the checks sample after the step. */
  sample: number;
}

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export const pageRef: fc.Arbitrary<PageRef> = fc.oneof(
  w(8, fc.integer({ min: 0, max: AGENT_PAGES + AGENT_GUARD - 1 }).map((i) => ({ k: 'agent' as const, i }))),
  w(3, fc.nat(63).map((i) => ({ k: 'record' as const, i }))),
  w(1, fc.nat(3).map((i) => ({ k: 'kernel' as const, i }))),
  w(1, fc.nat(1).map((i) => ({ k: 'bounce' as const, i }))),
  w(1, fc.constantFrom(0n, 8n, 0x10000n, BigInt(AGENT_GFN * 0x10000 + 4), 1n << 36n, 1n << 48n, (1n << 64n) - 0x10000n).map((v) => ({ k: 'raw' as const, v }))),
  w(1, u64.map((v) => ({ k: 'raw' as const, v }))),
);
const lpidRef: fc.Arbitrary<LpidRef> = fc.oneof(
  w(14, fc.constant('svm' as const)),
  w(2, fc.constantFrom('zero' as const, 'other' as const, 'huge' as const)),
  w(1, u64),
);
const shift = fc.oneof(w(12, fc.constant(16n)), w(1, fc.constantFrom(0n, 12n, 15n, 17n, 24n, 64n)), w(1, u64));
const flags = fc.oneof(w(10, fc.constant(0n)), w(2, fc.constant(1n)), w(1, fc.constantFrom(2n, 3n, 1n << 63n)), w(1, u64));
const frameRef: fc.Arbitrary<FrameRef> = fc.oneof(
  w(8, fc.constant('fresh' as const)),
  w(4, fc.constant('held' as const)),
  w(1, fc.constant('shared' as const)),
  w(2, fc.constantFrom('secure' as const, 'alias' as const, 'zero' as const, 'unaligned' as const, 'beyond' as const)),
  w(1, u64),
);

const pageOut = fc.record({ op: fc.constant('page-out' as const), page: pageRef, frame: frameRef, lpid: lpidRef, flags: fc.oneof(w(8, fc.constant(0n)), w(1, flags)), shift });
const pageIn = fc.record({
  op: fc.constant('page-in' as const), page: pageRef, frame: frameRef,
  content: fc.constantFrom<Content>('latest', 'latest', 'replay', 'swap', 'flip', 'plain'), lpid: lpidRef, flags, shift,
});
const pageInval = fc.record({ op: fc.constant('page-inval' as const), page: pageRef, lpid: lpidRef, shift });
const slotId = fc.oneof(w(6, fc.nat(3).map(BigInt)), w(1, fc.constantFrom(511n, 512n, 1n << 32n)), w(1, u64));
const regSlot = fc.record({
  op: fc.constant('reg-slot' as const), lpid: lpidRef,
  start: fc.oneof(w(2, fc.constant('zero' as const)), w(3, pageRef)),
  size: fc.oneof(w(3, fc.constantFrom('vm' as const, 'page' as const, 'huge' as const)), w(1, u64), w(1, fc.constantFrom(0n, 1n, 0x10000n * 4n))),
  flags: u64, slot: slotId,
});
const unregSlot = fc.record({ op: fc.constant('unreg-slot' as const), lpid: lpidRef, slot: slotId });
const pate = fc.record({
  op: fc.constant('pate' as const),
  lpid: fc.oneof(w(6, lpidRef), w(2, fc.nat(8).map(BigInt)), w(1, fc.constantFrom(4095n, 4096n))),
  dw0: fc.oneof(w(3, fc.constantFrom('normal-root' as const, 'secure-root' as const, 'zero' as const)), w(1, u64)), dw1: u64,
});
const scom = fc.record({
  op: fc.constant('scom' as const), write: fc.boolean(), chip: fc.oneof(fc.nat(3).map(BigInt), u64),
  addr: fc.oneof(w(2, fc.constantFrom('allowed' as const, 'secure-window' as const)), w(1, u64)), value: u64,
});
const spr = fc.record({ op: fc.constant('spr' as const), write: fc.boolean(), spr: fc.oneof(w(3, fc.constant('restricted' as const)), w(1, fc.nat(1100).map(BigInt)), w(1, u64)), value: u64 });
/** Vectors a hypervisor may try to inject: the allowed ones, hypervisor-class ones, nonsense. */
const vectors = [0x100, 0x200, 0x300, 0x400, 0x500, 0x700, 0x800, 0x900, 0xA00, 0xC00, 0xD00, 0xF00, 0x980, 0xE00, 0xE40, 0xF80, 0x1500, 0x2000, 0x3000];
const ret = fc.record({
  op: fc.constant('return' as const),
  cookie: fc.constantFrom('valid' as const, 'valid' as const, 'stale' as const, 'near' as const, 'random' as const),
  r0: fc.oneof(fc.constantFrom(0n, (1n << 64n) - 4n), u64), outs: fc.array(u64, { minLength: 9, maxLength: 9 }),
  hsrr0: fc.oneof(w(3, fc.constant('cookie' as const)), w(3, fc.constantFrom(...vectors)), w(1, u64)), r2: u64,
});
const terminate = fc.record({ op: fc.constant('terminate' as const), lpid: lpidRef });
const mem = fc.record({
  op: fc.constant('mem' as const), write: fc.boolean(), buffer: frameRef,
  handle: fc.oneof(fc.nat(4).map(BigInt), u64), offset: fc.oneof(fc.nat(0x20000).map(BigInt), u64), size: fc.oneof(fc.nat(0x20000).map(BigInt), u64),
});
// Ending the SVM has its own, rare, step: a raw call would hit the SVM's small lpid too often.
const ucallNumbers = ULTRACALLS.filter((u) => u.number !== UV.UV_SVM_TERMINATE).map((u) => BigInt(u.number));
const raw = fc.record({
  op: fc.constant('raw' as const),
  nr: fc.oneof(w(4, fc.constantFrom(...ucallNumbers)), w(1, fc.integer({ min: 0xF000, max: 0xF300 }).map(BigInt)), w(1, u64)),
  args: fc.array(fc.oneof(u64, fc.constantFrom(0n, 1n, 16n, BigInt(AGENT_GFN * 0x10000))), { minLength: 9, maxLength: 9 }),
});

/** Everything the hypervisor may do except ending the SVM (which is rare: it stops the interesting part). */
export const hvOpCalm: fc.Arbitrary<HvOp> = fc.oneof(
  w(10, pageOut), w(7, pageIn), w(5, pageInval), w(2, regSlot), w(1, unregSlot), w(2, pate), w(2, scom), w(2, spr),
  w(6, ret), w(1, mem), w(4, raw),
);
export const hvOp: fc.Arbitrary<HvOp> = fc.oneof(w(2000, hvOpCalm), w(1, terminate));

/** The SVM's own ultracalls besides share and unshare: the hypervisor's (refused), UV_ESM, files, unknown numbers. */
const modeled = (n: number) => n === UV.UV_SHARE_PAGE || n === UV.UV_UNSHARE_PAGE || n === UV.UV_UNSHARE_ALL_PAGES;
const svmUcallNumbers = ULTRACALLS.map((u) => u.number).filter((n) => !modeled(n));
export const svmOp: fc.Arbitrary<SvmOp> = fc.oneof(
  w(8, fc.integer({ min: 0, max: AGENT_PAGES - 1 }).map((i) => ({ op: 'write' as const, i }))),
  w(6, fc.array(fc.integer({ min: 0, max: AGENT_PAGES - 1 }), { minLength: 1, maxLength: 4 }).map((pages) => ({ op: 'verify' as const, pages }))),
  w(5, fc.record({ op: fc.constant('share' as const), i: fc.integer({ min: 0, max: AGENT_PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) })),
  w(5, fc.record({ op: fc.constant('unshare' as const), i: fc.integer({ min: 0, max: AGENT_PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) })),
  w(1, fc.constant({ op: 'unshare-all' as const })),
  w(2, fc.record({ op: fc.constant('ucall' as const), nr: fc.oneof(w(4, fc.constantFrom(...svmUcallNumbers)), w(1, fc.integer({ min: 0xF000, max: 0xF300 }).filter((n) => !modeled(n)))), args: fc.array(u64, { minLength: 8, maxLength: 8 }) })),
  w(1, fc.constant({ op: 'random' as const })),
);

export const answer: fc.Arbitrary<Answer> = fc.oneof(
  w(10, fc.constant('honest' as const)),
  w(6, fc.constantFrom<Answer>('refuse', 'lie', 'wrong', 'twice', 'replay', 'swap', 'flip', 'secure')),
  w(2, fc.array(hvOpCalm, { minLength: 1, maxLength: 3 }).map((chaos) => ({ chaos }))),
);

export const step: fc.Arbitrary<Step> = fc.oneof(
  w(11, fc.record({ hv: hvOp, answers: fc.array(answer, { maxLength: 2 }), sample: fc.nat() })),
  w(9, fc.record({ svm: svmOp, answers: fc.array(answer, { maxLength: 4 }), sample: fc.nat() })),
);

/** A step as one readable line (bigints in hex) for counterexamples. */
export function showStep(s: Step): string {
  return JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
}
