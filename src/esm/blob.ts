// Reading an ESM blob in place. parseEsmBlob checks the DTB header and finds the three top
// nodes; with a valid lookup index it steps over /lockboxes without reading it, so opening a
// blob and finding one lockbox costs O(log n) whatever the count. Everything read is checked
// when it is read, and every failure is an EsmFormatError with the byte offset.
import { FDT_BEGIN_NODE, FDT_END_NODE, FDT_NOP, FdtError, FdtView } from '../fdt/index.js';
import { EsmFormatError } from './errors.js';
import { LockboxIndex } from './lockbox-index.js';
import {
  DIGEST, ESM_COMPATIBLE, FILE, FINGERPRINT_ALGORITHM, LOCKBOXES, LOCKBOX_INDEX, PUBKEY_FINGERPRINT, lockboxNumber,
} from './names.js';

export interface EsmBlob {
  bytes: Uint8Array;
  view: FdtView;
  /** Absolute offsets of the top nodes' FDT_BEGIN_NODE; -1 when a node is absent. */
  lockboxesNode: number;
  digestNode: number;
  fileNode: number;
  /** The lookup index when present and consistent with this blob. */
  index: LockboxIndex | undefined;
  /** Why an index that is present is not used. */
  indexProblem: string | undefined;
}

export interface Lockbox {
  name: string;
  /** 0 for origin-lockbox, n for lockbox-n. */
  number: number;
  comment: string;
  encryptedSymkey: Uint8Array;
  fingerprint: Uint8Array;
  /** Absolute offset of the lockbox's FDT_BEGIN_NODE. */
  offset: number;
}

export interface LookupStats {
  /** Lockbox nodes read. */
  lockboxesTouched: number;
  /** Index entries read by the binary search. */
  indexProbes: number;
  usedIndex: boolean;
  /** True when the index did not give the answer and every lockbox was scanned. */
  scanned: boolean;
}

export function newStats(): LookupStats { return { lockboxesTouched: 0, indexProbes: 0, usedIndex: false, scanned: false }; }

const utf8 = new TextDecoder('utf-8');

/** Run `fn`, turning DTB errors into EsmFormatError; anything else is a bug and is rethrown. */
export function guard<T>(fn: () => T): T {
  try { return fn(); } catch (e) {
    if (e instanceof FdtError) throw new EsmFormatError(e.offset, e.message.replace(/^DTB offset \d+ \(0x[0-9a-f]+\): /, ''));
    throw e;
  }
}

export function stringProp(view: FdtView, node: number, name: string, required: true): string;
export function stringProp(view: FdtView, node: number, name: string, required: false): string | undefined;
export function stringProp(view: FdtView, node: number, name: string, required: boolean): string | undefined {
  for (const p of view.properties(node)) {
    if (p.name !== name) continue;
    const v = p.value;
    if (v.length === 0 || v[v.length - 1] !== 0 || v.indexOf(0) !== v.length - 1) throw new EsmFormatError(p.offset, `${name} is not a NUL-terminated string`);
    return utf8.decode(v.subarray(0, v.length - 1));
  }
  if (required) throw new EsmFormatError(node, `${view.nodeName(node) || '/'} has no ${name}`);
  return undefined;
}

export function bytesProp(view: FdtView, node: number, name: string, length?: number): Uint8Array {
  for (const p of view.properties(node)) {
    if (p.name !== name) continue;
    if (length !== undefined && p.value.length !== length) throw new EsmFormatError(p.offset, `${name} has ${p.value.length} bytes, expected ${length}`);
    return p.value;
  }
  throw new EsmFormatError(node, `${view.nodeName(node) || '/'} has no ${name}`);
}

/** Open a blob: header, compatible, the top nodes, the index. O(1) reads with a valid index. */
export function parseEsmBlob(bytes: Uint8Array): EsmBlob {
  return guard(() => {
    const view = new FdtView(bytes);
    const compatible = stringProp(view, view.root, 'compatible', false);
    if (compatible !== ESM_COMPATIBLE) throw new EsmFormatError(view.root, `root compatible is ${compatible === undefined ? 'missing' : `"${compatible}"`}, not "${ESM_COMPATIBLE}"`);
    const blob: EsmBlob = { bytes, view, lockboxesNode: -1, digestNode: -1, fileNode: -1, index: undefined, indexProblem: undefined };
    for (let c = view.firstChild(view.root); c >= 0;) {
      const name = view.nodeName(c);
      let next: number | undefined;
      if (name === LOCKBOXES && blob.lockboxesNode < 0) {
        blob.lockboxesNode = c;
        openIndex(blob);
        if (blob.index) next = jumpPast(view, blob.index.header.lockboxesEnd + view.structStart);
        if (next === undefined && blob.index) { blob.indexProblem = 'its end offset does not close /lockboxes'; blob.index = undefined; }
      } else if (name === DIGEST && blob.digestNode < 0) blob.digestNode = c;
      else if (name === FILE && blob.fileNode < 0) blob.fileNode = c;
      c = next !== undefined ? next : view.nextSibling(c, view.root);
    }
    if (blob.lockboxesNode < 0) throw new EsmFormatError(view.root, 'no /lockboxes node');
    return blob;
  });
}

/** The sibling after the node that the index says ends at `end`, if the bytes there agree. */
function jumpPast(view: FdtView, end: number): number | undefined {
  if (end < view.structStart + 8 || end > view.structEnd - 4 || end % 4 !== 0) return undefined;
  if (view.token(end - 4).tag !== FDT_END_NODE) return undefined;
  for (let off = end; ;) {
    const t = view.token(off);
    if (t.tag === FDT_NOP) { off = t.next; continue; }
    if (t.tag === FDT_BEGIN_NODE) return off;
    if (t.tag === FDT_END_NODE) return -1;
    return undefined;
  }
}

function openIndex(blob: EsmBlob): void {
  const { view } = blob;
  let value: Uint8Array | undefined;
  for (const p of view.properties(blob.lockboxesNode)) if (p.name === LOCKBOX_INDEX) { value = p.value; break; }
  if (!value) return;
  const idx = LockboxIndex.open(value);
  if (typeof idx === 'string') { blob.indexProblem = idx; return; }
  if (idx.header.structSize !== view.header.sizeDtStruct) { blob.indexProblem = 'written for a different structure block (the blob was edited since)'; return; }
  if (idx.header.lockboxes !== blob.lockboxesNode - view.structStart) { blob.indexProblem = 'written for a /lockboxes node elsewhere'; return; }
  const first = view.firstChild(blob.lockboxesNode);
  if (idx.header.count > 0) {
    if (first !== view.structStart + idx.header.firstLockbox) { blob.indexProblem = 'its first lockbox is not the first lockbox (the blob was edited since)'; return; }
    let lb: Lockbox;
    try { lb = readLockbox(view, first); } catch (e) { if (e instanceof EsmFormatError) { blob.indexProblem = 'its first lockbox does not read'; return; } throw e; }
    if (!equal(lb.fingerprint.subarray(0, idx.header.firstPrefix.length), idx.header.firstPrefix)) { blob.indexProblem = 'its first lockbox has another key (the blob was edited since)'; return; }
  } else if (first >= 0) { blob.indexProblem = 'it lists no lockbox but there are some'; return; }
  blob.index = idx;
}

/** Read and check the lockbox whose FDT_BEGIN_NODE is at `off`. */
export function readLockbox(view: FdtView, off: number): Lockbox {
  return guard(() => {
    const name = view.nodeName(off);
    const number = lockboxNumber(name);
    if (number === undefined) throw new EsmFormatError(off, `"${name}" is not a lockbox name (origin-lockbox or lockbox-N)`);
    const encryptedSymkey = bytesProp(view, off, 'encrypted-symkey');
    const comment = stringProp(view, off, 'untrusted-comment', true);
    const fp = view.subnode(off, PUBKEY_FINGERPRINT);
    if (fp < 0) throw new EsmFormatError(off, `${name} has no ${PUBKEY_FINGERPRINT}`);
    const alg = stringProp(view, fp, 'algorithm', true);
    if (alg !== FINGERPRINT_ALGORITHM) throw new EsmFormatError(fp, `${name} fingerprint algorithm "${alg}" is not ${FINGERPRINT_ALGORITHM}`);
    const fingerprint = bytesProp(view, fp, 'hash', 32);
    return { name, number, comment, encryptedSymkey, fingerprint, offset: off };
  });
}

/** Every lockbox, in blob order. O(n). */
export function* lockboxes(blob: EsmBlob): Generator<Lockbox> {
  const { view } = blob;
  for (let c = guard(() => view.firstChild(blob.lockboxesNode)); c >= 0; c = guard(() => view.nextSibling(c, blob.lockboxesNode))) {
    yield readLockbox(view, c);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The lockbox made for the key with this fingerprint: through the index when there is a
 * usable one (one lockbox read; a miss there is final, since a consistent index lists every
 * lockbox), else by scanning. `stats` reports what was read. parseEsmBlob has already read
 * the first lockbox once to check the index.
 */
export function findLockboxEntry(blob: EsmBlob, fingerprint: Uint8Array, stats: LookupStats = newStats()): Lockbox | undefined {
  if (fingerprint.length !== 32) throw new EsmFormatError(0, `a fingerprint has 32 bytes, not ${fingerprint.length}`);
  const { view } = blob;
  if (blob.index) {
    let inconsistent = false;
    stats.usedIndex = true;
    const lo = blob.lockboxesNode;
    const hi = view.structStart + blob.index.header.lockboxesEnd;
    for (const rel of blob.index.candidates(fingerprint, stats)) {
      const off = view.structStart + rel;
      if (off <= lo || off >= hi) { inconsistent = true; break; }
      stats.lockboxesTouched++;
      let lb: Lockbox;
      try { lb = readLockbox(view, off); } catch (e) { if (e instanceof EsmFormatError) { inconsistent = true; break; } throw e; }
      if (equal(lb.fingerprint, fingerprint)) return lb;
      if (!equal(lb.fingerprint.subarray(0, 8), fingerprint.subarray(0, 8))) { inconsistent = true; break; }
    }
    if (!inconsistent) return undefined;
  }
  stats.scanned = true;
  for (const lb of lockboxes(blob)) {
    stats.lockboxesTouched++;
    if (equal(lb.fingerprint, fingerprint)) return lb;
  }
  return undefined;
}
