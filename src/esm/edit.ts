// Every change to a blob goes through applyEsmEdit: the structure block is spliced as libfdt
// would change it (new lockboxes before the old ones, nodes deleted in place, names only
// appended to the strings block), so untouched bytes, unknown properties and nodes survive,
// and the lookup index is rebuilt to describe the result exactly.
import { FDT_PROP, FdtEditor, FdtWriter, StructBuilder, readHeader, type FdtNode } from '../fdt/index.js';
import { guard, lockboxes, type EsmBlob } from './blob.js';
import { EsmFormatError } from './errors.js';
import { INDEX_HEADER, INDEX_PREFIX, encodeIndex, indexSize } from './lockbox-index.js';
import {
  DIGEST, DIGESTS_FDT, ESM_COMPATIBLE, ESM_STRINGS, FILE, FILES_FDT, FINGERPRINT_ALGORITHM, LOCKBOXES, LOCKBOX_INDEX,
  PUBKEY_FINGERPRINT, lockboxName,
} from './names.js';

export interface LockboxEntry {
  /** 0 makes origin-lockbox, n makes lockbox-n. */
  number: number;
  comment: string;
  fingerprint: Uint8Array;
  encryptedSymkey: Uint8Array;
}

export interface EsmEdit {
  /** New lockboxes, in the order they are to appear (svm-tools' order: highest number first). */
  addLockboxes?: readonly LockboxEntry[];
  /** Lockbox nodes to delete, by absolute offset. */
  removeLockboxes?: readonly number[];
  /** Replace (or add) /digest/digests-fdt; null removes it. */
  digests?: FdtNode | null;
  /** Replace (or add) /file's files-fdt value; null removes it. */
  filesFdt?: Uint8Array | null;
  /** Nodes under /file to delete (attachments in the older per-node layout), by absolute offset. */
  removeFileNodes?: readonly number[];
  /** Write the lookup index (default true). */
  index?: boolean;
}

/** A blob with the three top nodes and nothing in them, laid out as svm-tools' create does. */
export function emptyEsmBlob(): Uint8Array {
  const w = new FdtWriter({ strings: ESM_STRINGS });
  w.beginNode('').property('compatible', ESM_COMPATIBLE);
  w.beginNode(LOCKBOXES).endNode();
  w.beginNode(DIGEST).endNode();
  w.beginNode(FILE).endNode();
  w.endNode();
  return w.finish();
}

export interface LockboxTable {
  /** Absolute offsets of the lockbox nodes, in blob order. */
  offsets: number[];
  /** Fingerprint prefixes (8 bytes each), in the same order. */
  prefixes: Uint8Array;
  /** Full fingerprints when the lockboxes were read (not when taken from the index). */
  fingerprints?: Uint8Array[];
  numbers?: number[];
  /** Absolute offset just past /lockboxes' FDT_END_NODE. */
  end: number;
}

/** What the index needs about the lockboxes already there: from the index when valid, else read. */
export function lockboxTable(blob: EsmBlob, read = false): LockboxTable {
  const { view } = blob;
  if (blob.index && !read) {
    const n = blob.index.header.count;
    const offsets = new Array<number>(n);
    const prefixes = new Uint8Array(n * INDEX_PREFIX);
    for (let i = 0; i < n; i++) { offsets[i] = view.structStart + blob.index.offsetAt(i); prefixes.set(blob.index.prefixAt(i), i * INDEX_PREFIX); }
    return { offsets, prefixes, end: view.structStart + blob.index.header.lockboxesEnd };
  }
  const offsets: number[] = [];
  const fingerprints: Uint8Array[] = [];
  const numbers: number[] = [];
  for (const lb of lockboxes(blob)) { offsets.push(lb.offset); fingerprints.push(lb.fingerprint); numbers.push(lb.number); }
  const prefixes = new Uint8Array(offsets.length * INDEX_PREFIX);
  fingerprints.forEach((f, i) => prefixes.set(f.subarray(0, INDEX_PREFIX), i * INDEX_PREFIX));
  return { offsets, prefixes, fingerprints, numbers, end: guard(() => view.nodeEnd(blob.lockboxesNode)) };
}

/** Offset just past a node's last property (where libfdt adds a subnode or a property goes last). */
function afterProperties(blob: EsmBlob, node: number): number {
  const { view } = blob;
  let at = view.token(node).next;
  for (const p of view.properties(node)) at = view.token(p.offset).next;
  return at;
}

export function applyEsmEdit(blob: EsmBlob, edit: EsmEdit, table?: LockboxTable): Uint8Array {
  return guard(() => applyEdit(blob, edit, table));
}

function applyEdit(blob: EsmBlob, edit: EsmEdit, tableIn?: LockboxTable): Uint8Array {
  const { view } = blob;
  const ed = new FdtEditor(view);
  const wantIndex = edit.index ?? true;
  const adds = edit.addLockboxes ?? [];
  const removed = new Set(edit.removeLockboxes ?? []);
  const table = wantIndex ? (tableIn ?? lockboxTable(blob)) : undefined;

  // /lockboxes: drop the old index, then insert [index placeholder, new lockboxes] after the properties.
  for (const p of view.properties(blob.lockboxesNode)) if (p.name === LOCKBOX_INDEX) ed.replace(p.offset, view.token(p.offset).next);
  const insertAt = afterProperties(blob, blob.lockboxesNode);
  const keptCount = table ? table.offsets.filter((o) => !removed.has(o)).length : 0;
  const count = keptCount + adds.length;
  const b = new StructBuilder(64 + (wantIndex ? indexSize(count) : 0) + adds.length * 400);
  let indexValueAt = -1;
  if (wantIndex) {
    b.property(ed.nameOffset(LOCKBOX_INDEX), new Uint8Array(indexSize(count)));
    indexValueAt = b.len - ((indexSize(count) + 3) & ~3);
  }
  const names = {
    sym: ed.nameOffset('encrypted-symkey'), comment: ed.nameOffset('untrusted-comment'),
    hash: ed.nameOffset('hash'), alg: ed.nameOffset('algorithm'),
  };
  const sha256 = new TextEncoder().encode(FINGERPRINT_ALGORITHM + '\0');
  const addedAt: number[] = [];
  for (const lb of adds) {
    if (lb.fingerprint.length !== 32) throw new EsmFormatError(0, `lockbox ${lb.number}: fingerprint of ${lb.fingerprint.length} bytes`);
    if (lb.comment.includes('\n')) throw new EsmFormatError(0, `lockbox ${lb.number}: a comment cannot contain a newline`);
    addedAt.push(b.len);
    b.beginNode(lockboxName(lb.number));
    b.property(names.sym, lb.encryptedSymkey);
    b.property(names.comment, new TextEncoder().encode(lb.comment + '\0'));
    b.beginNode(PUBKEY_FINGERPRINT);
    b.property(names.hash, lb.fingerprint);
    b.property(names.alg, sha256);
    b.endNode();
    b.endNode();
  }
  if (b.len > 0) ed.insert(insertAt, b.bytes());
  for (const off of removed) ed.replace(off, view.nodeEnd(off));

  if (edit.digests !== undefined) {
    if (blob.digestNode < 0) {
      if (edit.digests) ed.insert(view.nodeEnd(view.root) - 4, ed.encodeNode({ name: DIGEST, properties: [], children: [edit.digests] }));
    } else {
      const old = view.subnode(blob.digestNode, DIGESTS_FDT);
      const bytes = edit.digests ? [ed.encodeNode(edit.digests)] : [];
      if (old >= 0) ed.replace(old, view.nodeEnd(old), ...bytes);
      else if (bytes.length) ed.insert(afterProperties(blob, blob.digestNode), ...bytes);
    }
  }
  if (edit.filesFdt !== undefined || edit.removeFileNodes?.length) {
    const prop = edit.filesFdt ? ed.encodeProperty(FILES_FDT, edit.filesFdt) : undefined;
    if (blob.fileNode < 0) {
      if (prop) ed.insert(view.nodeEnd(view.root) - 4, ed.encodeNode({ name: FILE, properties: [{ name: FILES_FDT, value: edit.filesFdt! }], children: [] }));
    } else {
      let old = -1;
      for (const p of view.properties(blob.fileNode)) if (p.name === FILES_FDT) old = p.offset;
      if (edit.filesFdt !== undefined) {
        if (old >= 0) ed.replace(old, view.token(old).next, ...(prop ? [prop] : []));
        else if (prop) ed.insert(afterProperties(blob, blob.fileNode), prop);
      }
      for (const off of edit.removeFileNodes ?? []) ed.replace(off, view.nodeEnd(off));
    }
  }

  const out = ed.finish();
  if (!table) return out;

  // The index: old lockboxes where they moved to, new ones where they were put.
  const offsets = new Uint32Array(count);
  const prefixes = new Uint8Array(count * INDEX_PREFIX);
  const base = ed.relocate(insertAt, true);
  adds.forEach((lb, i) => { offsets[i] = base + addedAt[i]!; prefixes.set(lb.fingerprint.subarray(0, INDEX_PREFIX), i * INDEX_PREFIX); });
  let k = adds.length;
  table.offsets.forEach((off, i) => {
    if (removed.has(off)) return;
    offsets[k] = ed.relocate(off);
    prefixes.set(table.prefixes.subarray(i * INDEX_PREFIX, (i + 1) * INDEX_PREFIX), k * INDEX_PREFIX);
    k++;
  });
  let first = 0;
  for (let i = 1; i < count; i++) if (offsets[i]! < offsets[first]!) first = i;
  const h = readHeader(out);
  const value = encodeIndex({
    structSize: h.sizeDtStruct,
    lockboxes: ed.relocate(blob.lockboxesNode),
    lockboxesEnd: ed.relocate(table.end, true),
    firstLockbox: count ? offsets[first]! : 0,
    firstPrefix: count ? prefixes.subarray(first * INDEX_PREFIX, (first + 1) * INDEX_PREFIX) : new Uint8Array(INDEX_PREFIX),
  }, prefixes, offsets);
  const valueAbs = h.offDtStruct + base + indexValueAt;
  if (new DataView(out.buffer, out.byteOffset).getUint32(valueAbs - 12) !== FDT_PROP) throw new Error('index placeholder moved');
  out.set(value, valueAbs);
  if (value.length < INDEX_HEADER) throw new Error('index too short');
  return out;
}
