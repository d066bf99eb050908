// The lookup index: one property of /lockboxes, `pef,lockbox-index`, that svm-tools never
// looks at (it validates only the subnodes there). It lists every lockbox's fingerprint prefix
// with the lockbox's structure-block offset, sorted, so the ultravisor binary-searches it and
// reads exactly one lockbox however many there are. It is only a hint: the blob is untrusted
// input anyway (the master key's worth is proved by the digests' GCM tag, not by where the
// lockbox was found), every hit is checked against the lockbox itself, and an index that no
// longer describes the blob makes the reader fall back to a scan. svm-tools' edits are caught:
// its authorize puts the new lockbox first (libfdt adds a subnode before its siblings), which
// the recorded first lockbox exposes, and anything else it does changes the structure size.
//
// Layout, big-endian:
//   0 u32 magic 'PLBX'   4 u32 version 1   8 u32 count   12 u32 size_dt_struct when written
//  16 u32 offset of /lockboxes   20 u32 offset just past its FDT_END_NODE   24 u32 prefix bytes (8)
//  28 u32 offset of the first lockbox   32 first lockbox's prefix[8]
//  40 count x { prefix[8], u32 offset of the lockbox's FDT_BEGIN_NODE }, sorted by prefix
// Offsets are relative to the structure block, as libfdt's are.

export const INDEX_MAGIC = 0x504c4258;
export const INDEX_VERSION = 1;
export const INDEX_HEADER = 40;
export const INDEX_PREFIX = 8;
export const INDEX_ENTRY = INDEX_PREFIX + 4;

export function indexSize(count: number): number { return INDEX_HEADER + count * INDEX_ENTRY; }

export interface IndexHeader {
  count: number;
  structSize: number;
  lockboxes: number;
  lockboxesEnd: number;
  firstLockbox: number;
  firstPrefix: Uint8Array;
}

export class LockboxIndex {
  private readonly dv: DataView;
  readonly header: IndexHeader;

  private constructor(readonly value: Uint8Array, header: IndexHeader) {
    this.dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    this.header = header;
  }

  /** Decode the property value; a reason string when it is not a usable version-1 index. */
  static open(value: Uint8Array): LockboxIndex | string {
    if (value.length < INDEX_HEADER) return `index of ${value.length} bytes is shorter than its header`;
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if (dv.getUint32(0) !== INDEX_MAGIC) return 'index magic is wrong';
    if (dv.getUint32(4) !== INDEX_VERSION) return `index version ${dv.getUint32(4)} is unknown`;
    if (dv.getUint32(24) !== INDEX_PREFIX) return `index prefix length ${dv.getUint32(24)} is unknown`;
    const count = dv.getUint32(8);
    if (value.length !== indexSize(count)) return `index of ${value.length} bytes does not hold ${count} entries`;
    return new LockboxIndex(value, {
      count, structSize: dv.getUint32(12), lockboxes: dv.getUint32(16), lockboxesEnd: dv.getUint32(20),
      firstLockbox: dv.getUint32(28), firstPrefix: value.subarray(32, 40),
    });
  }

  prefixAt(i: number): Uint8Array { const o = INDEX_HEADER + i * INDEX_ENTRY; return this.value.subarray(o, o + INDEX_PREFIX); }

  offsetAt(i: number): number { return this.dv.getUint32(INDEX_HEADER + i * INDEX_ENTRY + INDEX_PREFIX); }

  /** Compare entry i's prefix with the fingerprint's first 8 bytes. */
  private compare(i: number, fp: Uint8Array): number {
    const o = INDEX_HEADER + i * INDEX_ENTRY;
    for (let k = 0; k < INDEX_PREFIX; k++) {
      const d = this.value[o + k]! - fp[k]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /**
   * Offsets of the lockboxes whose fingerprint starts like `fp` (almost always one), by binary
   * search; `probes` counts the entries read to get there.
   */
  candidates(fp: Uint8Array, stats?: { indexProbes: number }): number[] {
    let lo = 0;
    let hi = this.header.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (stats) stats.indexProbes++;
      if (this.compare(mid, fp) < 0) lo = mid + 1; else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < this.header.count && out.length < 64; i++) {
      if (stats) stats.indexProbes++;
      if (this.compare(i, fp) !== 0) break;
      out.push(this.offsetAt(i));
    }
    return out;
  }
}

/** Build the value from each lockbox's fingerprint prefix (8 bytes each, concatenated) and offset. */
export function encodeIndex(header: Omit<IndexHeader, 'count'>, prefixes: Uint8Array, offsets: Uint32Array): Uint8Array {
  const n = offsets.length;
  const pv = new DataView(prefixes.buffer, prefixes.byteOffset, prefixes.byteLength);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) { hi[i] = pv.getUint32(i * INDEX_PREFIX); lo[i] = pv.getUint32(i * INDEX_PREFIX + 4); }
  const key = (i: number) => prefixes.subarray(i * INDEX_PREFIX, (i + 1) * INDEX_PREFIX);
  const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || offsets[a]! - offsets[b]!);
  const out = new Uint8Array(indexSize(n));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, INDEX_MAGIC);
  dv.setUint32(4, INDEX_VERSION);
  dv.setUint32(8, n);
  dv.setUint32(12, header.structSize);
  dv.setUint32(16, header.lockboxes);
  dv.setUint32(20, header.lockboxesEnd);
  dv.setUint32(24, INDEX_PREFIX);
  dv.setUint32(28, header.firstLockbox);
  out.set(header.firstPrefix.subarray(0, INDEX_PREFIX), 32);
  sorted.forEach((i, k) => {
    const o = INDEX_HEADER + k * INDEX_ENTRY;
    out.set(key(i), o);
    dv.setUint32(o + INDEX_PREFIX, offsets[i]!);
  });
  return out;
}
