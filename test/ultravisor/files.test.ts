// UV_ESMB_GET_FILE: an SVM reads its attached files 64 bytes per call, as many calls as it
// takes (the public ultravisor stops after about 125), from kernel or user space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { UV } from '../../src/abi/ultracalls.js';
import { rcOf } from '../../src/abi/retcodes.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Op } from '../../src/hw/cpu/software.js';
import { packBytes } from '../../src/ultravisor/index.js';
import { call, toUser } from './guest.js';
import { makeRig } from './rig.js';

function* readFile(cpu: Cpu, name: string): Generator<Op, { data: Uint8Array; calls: number; rc: number }, void> {
  const regs = packBytes(new TextEncoder().encode(name), 4);
  const chunks: Uint8Array[] = [];
  let off = 0, calls = 0;
  for (;;) {
    const r = yield* call(cpu, 2, UV.UV_ESMB_GET_FILE, off, ...regs);
    calls++;
    const n = rcOf(r[0]!);
    if (n < 0) return { data: new Uint8Array(0), calls, rc: n };
    if (n === 0) break;
    const b = Buffer.alloc(64);
    for (let i = 0; i < 8; i++) b.writeBigUInt64BE(r[1 + i]!, i * 8);
    chunks.push(b.subarray(0, n));
    off += n;
  }
  return { data: new Uint8Array(Buffer.concat(chunks)), calls, rc: 0 };
}

test('an SVM reads a 20 KiB attachment 64 bytes at a time, 321 calls, and gets every byte', () => {
  const secret = new Uint8Array(randomBytes(20 * 1024));
  const luks = new TextEncoder().encode('correct horse battery staple');
  const r = makeRig({
    files: [{ name: 'rootd', data: luks }, { name: 'big.bin', data: secret }],
    guest: {
      *secure(g) {
        g.out.big = yield* readFile(g.cpu, 'big.bin');
        yield* toUser(g);
      },
      *user(g) { g.out.rootd = yield* readFile(g.cpu, 'rootd'); },
    },
  });
  r.run(5_000_000);
  const big = r.out.big as { data: Uint8Array; calls: number };
  assert.equal(big.calls, 321);
  assert.deepEqual(big.data, secret);
  assert.deepEqual((r.out.rootd as { data: Uint8Array }).data, luks, 'user space (svm-password-agent) reads it too');
  assert.deepEqual(r.m.findInAllMemory(luks).filter((h) => !h.secure), [], 'never in memory the hypervisor can read');
});
