// The anti-forensic splitter of LUKS (the "luks1" AF type LUKS2 keyslots use): the volume key
// is stored as `stripes` blocks, all but the last random, chained through a hash diffusion, so
// that destroying any part of the keyslot area destroys the key.
//
// diffuse(d): split d into digest-sized pieces; piece i becomes H(be32(i) || piece i),
// truncated to the piece's length.
// split:  b = 0; for the first n-1 stripes s_i (random): b = diffuse(b ^ s_i); s_{n-1} = b ^ key
// merge:  the same chain over the stored stripes, then key = b ^ s_{n-1}

import { createHash, randomBytes } from 'node:crypto';

export const LUKS_STRIPES = 4000;

const DIGEST_LENGTH: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };

export function afHashSupported(hash: string): boolean { return hash in DIGEST_LENGTH; }

function diffuse(block: Uint8Array, hash: string): void {
  const ds = DIGEST_LENGTH[hash];
  if (ds === undefined) throw new RangeError(`AF hash '${hash}' is not supported`);
  const counter = Buffer.alloc(4);
  for (let i = 0, off = 0; off < block.length; i++, off += ds) {
    const piece = block.subarray(off, Math.min(off + ds, block.length));
    counter.writeUInt32BE(i, 0);
    const h = createHash(hash).update(counter).update(piece).digest();
    block.set(h.subarray(0, piece.length), off);
  }
}

function xorInto(dst: Uint8Array, src: Uint8Array): void {
  for (let i = 0; i < dst.length; i++) dst[i]! ^= src[i]!;
}

export function afSplit(key: Uint8Array, stripes: number, hash: string, random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  const bs = key.length;
  const out = new Uint8Array(bs * stripes);
  const b = new Uint8Array(bs);
  for (let i = 0; i < stripes - 1; i++) {
    const s = random(bs);
    out.set(s, i * bs);
    xorInto(b, s);
    diffuse(b, hash);
  }
  xorInto(b, key);
  out.set(b, (stripes - 1) * bs);
  return out;
}

export function afMerge(material: Uint8Array, keySize: number, stripes: number, hash: string): Uint8Array {
  if (material.length < keySize * stripes) throw new RangeError(`AF material is ${material.length} bytes, need ${keySize * stripes}`);
  const b = new Uint8Array(keySize);
  for (let i = 0; i < stripes - 1; i++) {
    xorInto(b, material.subarray(i * keySize, (i + 1) * keySize));
    diffuse(b, hash);
  }
  xorInto(b, material.subarray((stripes - 1) * keySize, stripes * keySize));
  return b;
}
