// A tiny real ppc64le Linux program for the sample root disk: write(1, msg, len) then
// exit_group(code), five instruction kinds only (addi, addis, ori, sc). It runs under
// qemu-ppc64le as it is, and under the model's ISA interpreter in problem state.

import { wrapElf } from './kernel.js';

export const HELLO_LOAD_ADDR = 0x10000000n;
const SYS_WRITE = 4;
const SYS_EXIT_GROUP = 234;

const li = (rt: number, v: number) => (14 << 26) | (rt << 21) | (v & 0xffff);
const lis = (rt: number, v: number) => (15 << 26) | (rt << 21) | (v & 0xffff);
const ori = (ra: number, rs: number, v: number) => (24 << 26) | (rs << 21) | (ra << 16) | (v & 0xffff);
const SC = 0x44000002;

export function buildHelloProgram(message: string, exitCode = 0): Uint8Array {
  const msg = new TextEncoder().encode(message);
  if (msg.length > 0x7fff) throw new RangeError('message too long for an immediate length');
  const nWords = 9;
  const msgAddr = Number(HELLO_LOAD_ADDR) + nWords * 4;
  const words = [
    li(0, SYS_WRITE), li(3, 1), lis(4, msgAddr >>> 16), ori(4, 4, msgAddr & 0xffff), li(5, msg.length), SC,
    li(0, SYS_EXIT_GROUP), li(3, exitCode & 0xff), SC,
  ];
  const img = new Uint8Array(words.length * 4 + msg.length);
  const dv = new DataView(img.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  img.set(msg, words.length * 4);
  return wrapElf(img, { paddr: HELLO_LOAD_ADDR, vaddr: HELLO_LOAD_ADDR, entry: HELLO_LOAD_ADDR, flags: 5 });
}
