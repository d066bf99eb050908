// The hypervisor's frame pool never hands out real address 0: the ultravisor refuses a
// hypervisor page at address 0 (U_P2), so a frame there would make a VM's page-in or share fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePool, OutOfFrames } from '../../src/hypervisor/frames.js';
import { Hypervisor } from '../../src/hypervisor/index.js';
import { Machine } from '../../src/hw/machine.js';
import { FRAME_SIZE } from '../../src/hw/memory.js';

function drain(pool: FramePool): number[] {
  const got: number[] = [];
  for (;;) {
    try { got.push(pool.alloc('test')); } catch (e) { if (e instanceof OutOfFrames) return got; throw e; }
  }
}

test('a pool over memory from address 0: every frame but frame 0, exhausted, freed and exhausted again', () => {
  const zeroed: number[] = [];
  const mem = { read: () => new Uint8Array(0), write: () => {}, fill: (ra: number) => { zeroed.push(ra); } };
  const pool = new FramePool([{ start: 0, size: 8 * FRAME_SIZE }, { start: 16 * FRAME_SIZE, size: 2 * FRAME_SIZE }], mem);
  assert.equal(pool.total, 9);
  const first = drain(pool);
  assert.deepEqual(first.sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 16, 17].map((f) => f * FRAME_SIZE));
  assert.equal(pool.available, 0);
  // Given back (the free list), then taken again: still never frame 0.
  for (const f of first) pool.free(f);
  assert.deepEqual(zeroed.sort((a, b) => a - b), first);
  const again = drain(pool);
  assert.deepEqual(again.sort((a, b) => a - b), first);
  // Frame 0 cannot be slipped in through free, nor any frame the pool does not hold.
  assert.throws(() => pool.free(0), RangeError);
  assert.throws(() => pool.free(8 * FRAME_SIZE), RangeError);
  assert.throws(() => pool.free(FRAME_SIZE + 4096), RangeError);
  assert.equal(pool.inUse, 9);
});

test('the hypervisor on a machine whose normal memory starts at 0 never allocates frame 0', () => {
  const machine = new Machine({ cpus: 1, controllers: [{ size: 8 << 20, secure: 4 << 20 }] });
  assert.equal(machine.normalRanges()[0]!.start, 0);
  const hv = new Hypervisor(machine);
  const frames = drain(hv.pool);
  assert.equal(frames.length, (4 << 20) / FRAME_SIZE - 1);
  assert.ok(!frames.includes(0));
  for (const f of frames) hv.pool.free(f);
  assert.ok(!drain(hv.pool).includes(0));
});
