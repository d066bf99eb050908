// UV_ESM (PEF.md section 5) as a context: the ultravisor makes the VM's hypercalls itself
// (H_SVM_INIT_START, H_SVM_PAGE_IN, H_SVM_TPM_COMM, H_SVM_INIT_DONE), checks everything the
// VM will run against the digests its owner sealed, and either enters the now secure guest
// at kbase or hands it back as a normal VM through H_SVM_INIT_ABORT (the guest sees -4). Every
// failure leaves a reason (ESM_REASONS) that the guest (UV_ESM_REASON) and the operator (the
// trace) can read; no reason carries a secret.

import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { ESM_REASON, esmReasonText } from '../abi/ultracalls.js';
import { HC } from '../abi/hcalls.js';
import { GPF, PAGE_SIZE } from '../abi/pages.js';
import { FDT_HEADER_SIZE, findNode, getProperty, parseFdt, propertyString, writeFdt, type Fdt, type FdtNode } from '../fdt/index.js';
import type { ContextEnd, ContextFlow, HcallAnswer, HcallRequest } from './context.js';
import {
  decryptDigests, decryptFile, findLockbox, listFiles, parseEsmBlob, splitInitramfs, type Digests, type EsmBlob,
} from './esm-format.js';
import { guestRa, missingFrames, writeGuest } from './guest-mem.js';
import { ensureFree, share } from './pages.js';
import { relayUnwrap, TpmRefused } from './tpm-relay.js';
import { SparseBlob, SPARSE_MIN } from './blob-fetch.js';
import type { Svm } from './svm.js';
import type { Ultravisor } from './ultravisor.js';

type Gen<T> = Generator<HcallRequest, T, HcallAnswer>;

/** Limits on what the VM's device tree may ask the ultravisor to read. */
const MAX_FDT = 1 << 20;
const MAX_BLOB = 1 << 30;
const MAX_INITRD = 1 << 30;
const BOUNCE_PAGES = 2;

class EsmFailure extends Error {
  constructor(readonly reason: number, detail: string) { super(detail); }
}
const failWith = (reason: keyof typeof ESM_REASON | string, detail: string): never => { throw new EsmFailure(ESM_REASON[reason]!, detail); };

/** A number property: one or two big-endian cells. */
function cells(v: Uint8Array | undefined): number | undefined {
  if (!v) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  if (v.length === 4) return dv.getUint32(0);
  if (v.length === 8) { const n = dv.getBigUint64(0); return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined; }
  return undefined;
}

function equalDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Range { start: number; end: number }
const overlaps = (a: Range, b: Range) => a.start < b.end && b.start < a.end;

export function* esmFlow(uv: Ultravisor, svm: Svm, kbase: number, fdtGpa: number): ContextFlow {
  const env = uv.pageEnv;
  const mem = uv.mem;
  let symkey: Uint8Array | undefined;

  /** Bring one frame in (H_SVM_PAGE_IN). */
  function* bringOne(g: number, what: string): Gen<void> {
    if (!svm.inSlots(g)) failWith('BAD_FDT', `${what} lies outside the VM's memory`);
    const st = svm.stateOf(g);
    if (st !== GPF.SECURE && st !== GPF.PAGEDOUT) failWith('BAD_FDT', `${what} overlaps a shared page`);
    if (!(yield* ensureFree(env, 1))) failWith('NO_SECURE_MEMORY', `no secure frame for ${what}`);
    yield { nr: HC.H_SVM_PAGE_IN, args: [BigInt(g * PAGE_SIZE), 0n, 16n] };
    if (missingFrames(svm, g * PAGE_SIZE, 1).length > 0) {
      if (svm.outOfMemory) failWith('NO_SECURE_MEMORY', `no secure frame for ${what}`);
      failWith('HV_REFUSED', `the hypervisor did not page in ${what}`);
    }
  }
  /** One page at a time on its way to a sink; the sink consumes it before the next is read. */
  const piece = new Uint8Array(PAGE_SIZE);
  /**
   * Visit [gpa, gpa+len) in order, page by page, bringing in what is missing. Every byte given
   * to `sink` is read from secure memory, where the hypervisor can no longer change it.
   */
  function* visit(gpa: number, len: number, what: string, sink: (bytes: Uint8Array, at: number) => void): Gen<void> {
    for (let done = 0; done < len;) {
      const a = gpa + done;
      const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
      let ra = guestRa(svm, a, false);
      if (ra === undefined) {
        yield* bringOne(Math.floor(a / PAGE_SIZE), what);
        ra = guestRa(svm, a, false);
        if (ra === undefined) failWith('HV_REFUSED', `${what} is not in secure memory`);
      }
      const bytes = piece.subarray(0, n);
      mem.readInto(ra!, bytes);
      sink(bytes, done);
      done += n;
    }
  }
  function* fetch(gpa: number, len: number, what: string): Gen<Uint8Array> {
    const out = new Uint8Array(len);
    yield* visit(gpa, len, what, (b, at) => out.set(b, at));
    return out;
  }
  function* hashRange(gpa: number, len: number, what: string): Gen<Uint8Array> {
    const h: Hash = createHash('sha512');
    yield* visit(gpa, len, what, (b) => h.update(b));
    return new Uint8Array(h.digest());
  }

  const fail = (reason: number, detail: string): ContextEnd => {
    uv.esmReasons.set(svm.lpid, reason);
    uv.event({ kind: 'esm', lpid: svm.lpid, result: 'failed', reason, text: esmReasonText(reason), detail });
    svm.state = 'aborting';
    svm.wipeKeys();
    return { kind: 'abort' };
  };

  try {
    const start = yield { nr: HC.H_SVM_INIT_START, args: [] };
    if (start.rc !== 0) return fail(ESM_REASON.HV_REFUSED!, `H_SVM_INIT_START returned ${start.rc}`);

    // The flattened device tree the VM left for us.
    const head = yield* fetch(fdtGpa, FDT_HEADER_SIZE, 'the device tree');
    const hdv = new DataView(head.buffer);
    const totalsize = hdv.getUint32(4);
    if (hdv.getUint32(0) !== 0xd00dfeed || totalsize < FDT_HEADER_SIZE || totalsize > MAX_FDT) failWith('BAD_FDT', 'no device tree at the address given');
    const fdtBytes = yield* fetch(fdtGpa, totalsize, 'the device tree');
    let fdt: Fdt;
    try { fdt = parseFdt(fdtBytes); } catch (e) { return fail(ESM_REASON.BAD_FDT!, (e as Error).message); }
    const chosen = findNode(fdt.root, '/chosen');
    const prop = (n: FdtNode | undefined, name: string) => (n ? getProperty(n, name) : undefined);
    const bootargsProp = prop(chosen, 'bootargs');
    const bootargs = bootargsProp ? (propertyString(bootargsProp) !== undefined ? bootargsProp.subarray(0, bootargsProp.length - 1) : bootargsProp) : new Uint8Array(0);
    const initrdStart = cells(prop(chosen, 'linux,initrd-start'));
    const initrdEnd = cells(prop(chosen, 'linux,initrd-end'));
    const blobStart = cells(prop(chosen, 'linux,esm-blob-start'));
    const blobEnd = cells(prop(chosen, 'linux,esm-blob-end'));
    const rtasNode = findNode(fdt.root, '/rtas');
    const rtasBase = cells(prop(rtasNode, 'linux,rtas-base'));
    const rtasSize = cells(prop(rtasNode, 'rtas-size'));
    // The token the SVM will use to start its other vCPUs (it reads the same tree, kept secure from now on).
    const startCpuToken = cells(prop(rtasNode, 'start-cpu'));
    const initrd: Range | undefined = initrdStart !== undefined && initrdEnd !== undefined ? { start: initrdStart, end: initrdEnd } : undefined;
    if (initrd && (initrd.end < initrd.start || initrd.end - initrd.start > MAX_INITRD)) failWith('BAD_FDT', 'bad initramfs range');

    // The blob: in /chosen, or the first file of a cpio archive before the initramfs.
    let blobBytes: Uint8Array;
    let blobRange: Range | undefined;
    let initrdDigest: Uint8Array | undefined;
    if (blobStart !== undefined && blobEnd !== undefined) {
      if (blobEnd <= blobStart || blobEnd - blobStart > MAX_BLOB) failWith('MALFORMED_BLOB', 'bad ESM blob range in /chosen');
      blobRange = { start: blobStart, end: blobEnd };
      const len = blobEnd - blobStart;
      if (len >= SPARSE_MIN) {
        // A blob for many machines: only what finding our lockbox and the digests reads.
        const sparse = new SparseBlob(len, (o, n) => fetch(blobStart + o, n, 'the ESM blob'));
        yield* sparse.fetchFor(uv.fingerprint);
        blobBytes = sparse.bytes;
      } else {
        blobBytes = yield* fetch(blobStart, len, 'the ESM blob');
      }
    } else if (initrd && initrd.end > initrd.start) {
      const all = yield* fetch(initrd.start, initrd.end - initrd.start, 'the initramfs');
      let split;
      try { split = splitInitramfs(all); } catch (e) { return fail(ESM_REASON.MALFORMED_BLOB!, `the ESM archive before the initramfs: ${(e as Error).message}`); }
      if (!split) return fail(ESM_REASON.NO_BLOB!, 'the initramfs does not start with an ESM archive');
      blobBytes = split.blob;
      initrdDigest = new Uint8Array(createHash('sha512').update(split.rest).digest());
    } else {
      return fail(ESM_REASON.NO_BLOB!, 'no ESM blob in /chosen and no initramfs');
    }

    let blob: EsmBlob;
    let lockbox;
    try {
      blob = parseEsmBlob(blobBytes);
      lockbox = findLockbox(blob, uv.fingerprint);
    } catch (e) { return fail(ESM_REASON.MALFORMED_BLOB!, (e as Error).message); }
    if (!lockbox) return fail(ESM_REASON.NO_LOCKBOX!, "no lockbox for this machine's key");

    // Bounce buffers for TPM and RTAS traffic, implicitly shared and reserved in the device tree.
    const avoid: Range[] = [
      { start: fdtGpa, end: fdtGpa + totalsize }, ...(initrd ? [initrd] : []), ...(blobRange ? [blobRange] : []),
      ...(rtasBase !== undefined && rtasSize !== undefined ? [{ start: rtasBase, end: rtasBase + rtasSize }] : []),
      { start: kbase, end: kbase + PAGE_SIZE },
      ...fdt.reservations.map((r) => ({ start: Number(r.address), end: Number(r.address + r.size) })),
    ];
    const bounce: number[] = [];
    for (const g of [...svm.slotGfns()].reverse()) {
      const r = { start: g * PAGE_SIZE, end: (g + 1) * PAGE_SIZE };
      if (avoid.some((a) => overlaps(a, r)) || svm.pages.has(g)) continue;
      bounce.push(g);
      if (bounce.length === BOUNCE_PAGES) break;
    }
    if (bounce.length < BOUNCE_PAGES) failWith('BAD_FDT', 'no guest memory left for the bounce buffers');
    const shared = yield* share(env, svm, bounce, true);
    if (shared !== 0) failWith(svm.outOfMemory ? 'NO_SECURE_MEMORY' : 'HV_REFUSED', 'the hypervisor did not supply the bounce buffers');
    svm.bounce.tpm = bounce[0];
    svm.bounce.rtas = bounce[1];

    // The symmetric key, from the TPM through the hypervisor.
    const handoff = uv.init.handoff;
    const unwrap = uv.tpmUnwrap;
    if (!handoff) return fail(ESM_REASON.TPM_REFUSED!, 'no TPM handoff from firmware');
    try {
      symkey = yield* relayUnwrap(mem, svm, unwrap, handoff, lockbox.encryptedSymkey);
    } catch (e) {
      if (e instanceof TpmRefused) return fail(e.keyMismatch ? ESM_REASON.TPM_KEY_MISMATCH! : ESM_REASON.TPM_REFUSED!, e.message);
      throw e;
    }
    if (uv.variant === 'rogue') uv.rogueLeak(svm, symkey);

    let digests: Digests;
    try { digests = decryptDigests(blob, symkey); } catch (e) { return fail(ESM_REASON.DIGESTS_CORRUPT!, (e as Error).message); }
    try {
      for (const f of listFiles(blob)) svm.files.set(f.name, decryptFile(blob, symkey, f.name));
    } catch (e) { return fail(ESM_REASON.MALFORMED_BLOB!, `attachment: ${(e as Error).message}`); }
    if (uv.variant !== 'rogue') symkey.fill(0);

    // Integrity: always enforced.
    const kernelRange = { start: kbase, end: kbase + digests.kernelSize };
    if (bounce.some((g) => overlaps(kernelRange, { start: g * PAGE_SIZE, end: (g + 1) * PAGE_SIZE }))) {
      failWith('BAD_FDT', 'no guest memory outside the kernel for the bounce buffers');
    }
    const kernelDigest = yield* hashRange(kbase, digests.kernelSize, 'the kernel');
    if (!equalDigest(kernelDigest, digests.kernel)) return fail(ESM_REASON.KERNEL_MISMATCH!, 'kernel digest mismatch');
    if (initrdDigest === undefined) {
      initrdDigest = initrd ? yield* hashRange(initrd.start, initrd.end - initrd.start, 'the initramfs') : new Uint8Array(createHash('sha512').digest());
    }
    if (!equalDigest(initrdDigest, digests.initrd)) return fail(ESM_REASON.INITRD_MISMATCH!, 'initramfs digest mismatch');
    const bootargsDigest = new Uint8Array(createHash('sha512').update(bootargs).digest());
    if (!equalDigest(bootargsDigest, digests.bootargs)) return fail(ESM_REASON.BOOTARGS_MISMATCH!, 'boot arguments digest mismatch');
    const rtasDigest = rtasBase !== undefined && rtasSize !== undefined && rtasSize > 0
      ? yield* hashRange(rtasBase, rtasSize, 'RTAS') : new Uint8Array(createHash('sha512').digest());
    if (!equalDigest(rtasDigest, digests.rtas)) return fail(ESM_REASON.RTAS_MISMATCH!, 'RTAS digest mismatch');

    // Everything else comes in now.
    let remaining = 0;
    for (const g of svm.slotGfns()) if (!svm.pages.has(g)) remaining++;
    if (!(yield* ensureFree(env, remaining))) return fail(ESM_REASON.NO_SECURE_MEMORY!, `${remaining} more secure frames needed`);
    const done = yield { nr: HC.H_SVM_INIT_DONE, args: [] };
    if (done.rc !== 0) return fail(svm.outOfMemory ? ESM_REASON.NO_SECURE_MEMORY! : ESM_REASON.HV_REFUSED!, `H_SVM_INIT_DONE returned ${done.rc}`);

    // Tell the guest where the bounce buffers are, and let it run.
    fdt.reservations.push(...bounce.map((g) => ({ address: BigInt(g * PAGE_SIZE), size: BigInt(PAGE_SIZE) })));
    const out = writeFdt(fdt);
    const room = Math.ceil(((fdtGpa % PAGE_SIZE) + totalsize) / PAGE_SIZE) * PAGE_SIZE - (fdtGpa % PAGE_SIZE);
    if (out.length > room || !writeGuest(mem, svm, fdtGpa, out, false)) failWith('BAD_FDT', 'no room to add the bounce buffers to the device tree');
    if (rtasBase !== undefined && rtasSize !== undefined) {
      for (let g = Math.floor(rtasBase / PAGE_SIZE); g * PAGE_SIZE < rtasBase + rtasSize; g++) {
        const e = svm.pages.get(g);
        if (e?.state === GPF.SECURE && e.secure !== undefined) {
          env.event({ kind: 'page', lpid: svm.lpid, gfn: g, was: 'SECURE', now: 'PSEUDO_SHARED' });
          e.state = GPF.PSEUDO_SHARED;
          svm.resident.delete(g);
        }
      }
    }
    uv.ptab.write(mem, svm.lpid, svm.tables.pate0, 0n);
    svm.fingerprint = uv.fingerprint;
    svm.rtasStartCpu = startCpuToken;
    svm.state = 'secure';
    uv.esmReasons.set(svm.lpid, ESM_REASON.NONE!);
    uv.event({ kind: 'esm', lpid: svm.lpid, result: 'secure' });
    return { kind: 'enter', pc: kbase, r3: BigInt(fdtGpa), r4: BigInt(kbase), r5: 0n };
  } catch (e) {
    if (e instanceof EsmFailure) return fail(e.reason, e.message);
    return fail(ESM_REASON.HV_REFUSED!, `internal: ${(e as Error).message}`);
  } finally {
    if (uv.variant !== 'rogue') symkey?.fill(0);
    piece.fill(0);
  }
}
