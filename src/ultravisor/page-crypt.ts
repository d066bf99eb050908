// Page-out encryption: AES-256-GCM under a key of this SVM's own, made on first use and wiped
// with the SVM. Each page-out takes a fresh IV (4 random bytes of this SVM, then a 64-bit
// counter that never repeats under the key) and binds the lpid, the guest frame number and the
// frame's page-out version as associated data. The IV and tag never leave the ultravisor: the
// hypervisor holds only ciphertext, so a page replayed from an earlier page-out, moved to
// another frame or another SVM, cut short or altered does not verify.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const TAG_BYTES = 16;
export const IV_BYTES = 12;
const AAD_LABEL = Buffer.from('PEF-PAGE', 'latin1');

export interface SealedPage { iv: Buffer; tag: Buffer; version: bigint }

export function pageAad(lpid: number, gfn: number, version: bigint): Buffer {
  const a = Buffer.alloc(32);
  AAD_LABEL.copy(a, 0);
  a.writeBigUInt64BE(BigInt(lpid), 8);
  a.writeBigUInt64BE(BigInt(gfn), 16);
  a.writeBigUInt64BE(BigInt.asUintN(64, version), 24);
  return a;
}

/**
 * Where a page is read from and written to, in pieces: the ultravisor's memory port. Streaming
 * keeps whole-page copies out of the path; node's cipher allocates each output piece, and
 * 32 KiB pieces measured fastest (64 KiB outputs cost more to allocate than to encrypt).
 */
export interface PagePort {
  readInto(ra: number, out: Uint8Array): void;
  write(ra: number, data: Uint8Array): void;
  zero(ra: number, len: number): void;
}
const PIECE = 32 * 1024;

export class PageCrypt {
  #key: Buffer | undefined = randomBytes(32);
  readonly #ivPrefix = randomBytes(4);
  #counter = 0n;
  /** One piece of the page on its way through the cipher; wiped after every use. */
  readonly #piece = new Uint8Array(PIECE);

  constructor(readonly lpid: number) {}

  #nextIv(): Buffer {
    const iv = Buffer.alloc(IV_BYTES);
    this.#ivPrefix.copy(iv, 0);
    iv.writeBigUInt64BE(this.#counter, 4);
    this.#counter++;
    return iv;
  }

  /** Encrypt the page at `from` into `to`; the caller keeps {iv, tag, version}, the hypervisor gets only ciphertext. */
  seal(port: PagePort, gfn: number, version: bigint, from: number, to: number, len: number): SealedPage {
    if (!this.#key) throw new Error('page key wiped');
    const iv = this.#nextIv();
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(pageAad(this.lpid, gfn, version));
    const piece = this.#piece;
    for (let off = 0; off < len; off += PIECE) {
      const n = Math.min(PIECE, len - off);
      const p = n === PIECE ? piece : piece.subarray(0, n);
      port.readInto(from + off, p);
      port.write(to + off, c.update(p));
    }
    piece.fill(0);
    c.final();
    return { iv, tag: c.getAuthTag(), version };
  }

  /**
   * Decrypt and verify the ciphertext at `from` into `to` (a frame only the ultravisor can see
   * yet). False when anything about the page is not what was sealed; `to` is zeroed then.
   */
  open(port: PagePort, gfn: number, sealed: SealedPage, from: number, to: number, len: number): boolean {
    if (!this.#key) return false;
    const piece = this.#piece;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
      d.setAAD(pageAad(this.lpid, gfn, sealed.version));
      d.setAuthTag(sealed.tag);
      for (let off = 0; off < len; off += PIECE) {
        const n = Math.min(PIECE, len - off);
        const p = n === PIECE ? piece : piece.subarray(0, n);
        port.readInto(from + off, p);
        const plain = d.update(p);
        port.write(to + off, plain);
        plain.fill(0);
      }
      d.final();
      return true;
    } catch {
      port.zero(to, len);
      return false;
    }
  }

  wipe(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }
}
