// Big-endian TPM 2.0 marshaling. The Reader never throws anything but TpmParseError (with
// the offset where the input ran short or was wrong), so every parser above it can turn a
// malformed buffer into a response code or a one-line error instead of a crash.

export class TpmParseError extends Error {
  /** 'short': ran out of bytes; 'size': a size field exceeds its bound; 'trailing': bytes left over. */
  constructor(readonly offset: number, readonly what: string, readonly kind: 'short' | 'size' | 'trailing' | 'value' = 'short') {
    super(`${what} at offset ${offset}`);
    this.name = 'TpmParseError';
  }
}

export class Reader {
  private pos: number;
  private readonly end: number;
  private readonly dv: DataView;

  constructor(readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.end - this.pos; }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw new TpmParseError(this.pos, `${what}: need ${n} bytes, have ${this.end - this.pos}`);
  }

  u8(what = 'u8'): number { this.need(1, what); return this.dv.getUint8(this.pos++); }
  u16(what = 'u16'): number { this.need(2, what); const v = this.dv.getUint16(this.pos); this.pos += 2; return v; }
  u32(what = 'u32'): number { this.need(4, what); const v = this.dv.getUint32(this.pos); this.pos += 4; return v; }
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A TPM2B: u16 size then that many bytes. `max` bounds the size (0x95 SIZE errors above). */
  tpm2b(what = 'TPM2B', max = 0xffff): Uint8Array {
    const at = this.pos;
    const n = this.u16(what);
    if (n > max) throw new TpmParseError(at, `${what}: size ${n} exceeds ${max}`, 'size');
    return this.bytes(n, what);
  }
  /** A sub-reader over the next n bytes (for sized structures). */
  sub(n: number, what = 'structure'): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  rest(): Uint8Array { return this.bytes(this.remaining, 'rest'); }
  /** Throws if anything is left over (a trailing-bytes error). */
  done(what = 'structure'): void {
    if (this.pos !== this.end) throw new TpmParseError(this.pos, `${what}: ${this.end - this.pos} unexpected trailing bytes`, 'trailing');
  }
}

export class Writer {
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }

  get length(): number { return this.pos; }

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  u8(v: number): this { this.grow(1); this.dv.setUint8(this.pos, v); this.pos += 1; return this; }
  u16(v: number): this { this.grow(2); this.dv.setUint16(this.pos, v); this.pos += 2; return this; }
  u32(v: number): this { this.grow(4); this.dv.setUint32(this.pos, v >>> 0); this.pos += 4; return this; }
  bytes(b: Uint8Array): this { this.grow(b.length); this.buf.set(b, this.pos); this.pos += b.length; return this; }
  tpm2b(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`TPM2B of ${b.length} bytes`);
    return this.u16(b.length).bytes(b);
  }
  /** Write a u16 size followed by whatever `fill` writes (a sized structure). */
  sized(fill: (w: Writer) => void): this {
    const at = this.pos;
    this.u16(0);
    fill(this);
    this.dv.setUint16(at, this.pos - at - 2);
    return this;
  }
  /** Patch a u32 at an earlier offset (command and response sizes). */
  patchU32(at: number, v: number): this { this.dv.setUint32(at, v >>> 0); return this; }
  finish(): Uint8Array { return this.buf.slice(0, this.pos); }
}

export const u32be = (v: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0); return b; };
export const u16be = (v: number): Uint8Array => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v); return b; };

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
