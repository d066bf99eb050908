// Hand-assembled DTBs for tests, built straight from the Devicetree Specification's layout
// (not with the writer under test), and a seed corpus for the fuzzers.
import { fdtNode, writeFdt, type Fdt } from '../../src/fdt/index.js';

export type Tok = ['begin', string] | ['prop', number, Uint8Array] | ['end'] | ['nop'] | ['fin'];

/** A DTB from raw tokens: header, one reservation, structure, strings; offsets as the spec says. */
export function rawDtb(tokens: Tok[], strings: string, rsv: [bigint, bigint][] = []): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  for (const t of tokens) {
    if (t[0] === 'begin') parts.push(u32(1), pad(Buffer.from(t[1] + '\0', 'latin1')));
    else if (t[0] === 'prop') parts.push(u32(3), u32(t[2].length), u32(t[1]), pad(Buffer.from(t[2])));
    else if (t[0] === 'end') parts.push(u32(2));
    else if (t[0] === 'nop') parts.push(u32(4));
    else parts.push(u32(9));
  }
  const struct = Buffer.concat(parts);
  const rsvBlock = Buffer.alloc(16 * (rsv.length + 1));
  rsv.forEach(([a, s], i) => { rsvBlock.writeBigUInt64BE(a, 16 * i); rsvBlock.writeBigUInt64BE(s, 16 * i + 8); });
  const str = Buffer.from(strings, 'latin1');
  const offRsv = 40, offStruct = offRsv + rsvBlock.length, offStrings = offStruct + struct.length, total = offStrings + str.length;
  const h = Buffer.alloc(40);
  [0xd00dfeed, total, offStruct, offStrings, offRsv, 17, 16, 0, str.length, struct.length].forEach((v, i) => h.writeUInt32BE(v, i * 4));
  return Buffer.concat([h, rsvBlock, struct, str]);
}

export function esmLikeTree(): Fdt {
  const fp = fdtNode('pubkey-fingerprint', [['hash', new Uint8Array(32).fill(7)], ['algorithm', 'SHA256']]);
  const lb = (n: string) => fdtNode(n, [['encrypted-symkey', new Uint8Array(256).fill(1)], ['untrusted-comment', 'a comment']], [structuredClone(fp)]);
  return {
    root: fdtNode('', { compatible: 'ibm,esm' }, [
      fdtNode('lockboxes', {}, [lb('lockbox-2'), lb('lockbox-1'), lb('origin-lockbox')]),
      fdtNode('digest', {}, [fdtNode('digests-fdt', [['mac', new Uint8Array(16)], ['iv', new Uint8Array(16)], ['ciphertext', new Uint8Array(300)], ['untrusted-comment', ''], ['algorithm', 'AES256-GCM']])]),
      fdtNode('file', [['files-fdt', new Uint8Array(90).fill(3)]]),
    ]),
    reservations: [{ address: 0x10000000n, size: 0x4000n }],
    bootCpuidPhys: 0,
  };
}

export function seedCorpus(): Uint8Array[] {
  let deep = fdtNode('leaf', { v: 1 });
  for (let i = 0; i < 20; i++) deep = fdtNode(`n${i}`, { [`p${i % 3}`]: `s${i}` }, [deep]);
  return [
    writeFdt(esmLikeTree()),
    writeFdt(fdtNode('', { model: 'pef', '#size-cells': 2 }, [deep, fdtNode('chosen', { bootargs: 'svm=on', 'linux,esm-blob-start': 0x1000 }), fdtNode('memory@0', { reg: new Uint8Array(16) })])),
    rawDtb([['nop'], ['begin', ''], ['prop', 0, new Uint8Array([1, 2, 3])], ['nop'], ['begin', 'a'], ['end'], ['end'], ['nop'], ['fin']], 'x\0', [[1n, 2n]]),
  ];
}
