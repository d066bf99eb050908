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

export class PageCrypt {
  #key: Buffer | undefined = randomBytes(32);
  readonly #ivPrefix = randomBytes(4);
  #counter = 0n;

  constructor(readonly lpid: number) {}

  #nextIv(): Buffer {
    const iv = Buffer.alloc(IV_BYTES);
    this.#ivPrefix.copy(iv, 0);
    iv.writeBigUInt64BE(this.#counter, 4);
    this.#counter++;
    return iv;
  }

  /** Encrypt one page; the caller keeps {iv, tag, version} and hands out only the ciphertext. */
  seal(gfn: number, version: bigint, plain: Uint8Array): { ciphertext: Buffer; sealed: SealedPage } {
    if (!this.#key) throw new Error('page key wiped');
    const iv = this.#nextIv();
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(pageAad(this.lpid, gfn, version));
    const ct = c.update(plain);
    c.final();
    return { ciphertext: ct, sealed: { iv, tag: c.getAuthTag(), version } };
  }

  /** Decrypt and verify; undefined when anything about the page is not what was sealed. */
  open(gfn: number, sealed: SealedPage, ciphertext: Uint8Array): Buffer | undefined {
    if (!this.#key) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
      d.setAAD(pageAad(this.lpid, gfn, sealed.version));
      d.setAuthTag(sealed.tag);
      const p = d.update(ciphertext);
      d.final();
      return p;
    } catch {
      return undefined;
    }
  }

  wipe(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }
}
