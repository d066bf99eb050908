// The model kernel is an ELF binutils accept as a ppc64le executable, and objcopy -O binary
// extracts exactly the loadable image with the marker the hardware model looks for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModelKernel, buildModelKernelImage, isModelKernel, readModelKernelConfig, ModelKernelError } from '../../src/image/kernel.js';
import { needTool, run } from './tools.js';

function withTmp<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pef-kernel-'));
  try { return f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('readelf sees an ELF64 LE ppc64 executable with one PT_LOAD at p_paddr 0x400000', (t) => {
  if (!needTool(t, 'powerpc64le-linux-gnu-readelf')) return;
  withTmp((dir) => {
    const f = join(dir, 'vmlinux');
    writeFileSync(f, buildModelKernel());
    const r = run('powerpc64le-linux-gnu-readelf', ['-W', '-h', '-l', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Class:\s+ELF64/);
    assert.match(r.stdout, /Data:\s+2's complement, little endian/);
    assert.match(r.stdout, /Type:\s+EXEC/);
    assert.match(r.stdout, /Machine:\s+PowerPC64/);
    assert.match(r.stdout, /Entry point address:\s+0xc000000000400000/);
    const loads = r.stdout.split('\n').filter((l) => /^\s*LOAD\s/.test(l));
    assert.equal(loads.length, 1);
    const [, , vaddr, paddr, filesz] = loads[0]!.trim().split(/\s+/);
    assert.equal(BigInt(vaddr!), 0xc000000000400000n);
    assert.equal(BigInt(paddr!), 0x400000n);
    assert.equal(Number(filesz), 2 * 1024 * 1024);
  });
});

test('objcopy -O binary gives the loadable image: branch, magic, config, filler', (t) => {
  if (!needTool(t, 'powerpc64le-linux-gnu-objcopy')) return;
  withTmp((dir) => {
    const f = join(dir, 'vmlinux');
    writeFileSync(f, buildModelKernel({ size: 300_000 }));
    const r = run('powerpc64le-linux-gnu-objcopy', ['-O', 'binary', f, join(dir, 'image')]);
    assert.equal(r.status, 0, r.stderr);
    const img = readFileSync(join(dir, 'image'));
    assert.equal(img.length, 300_000);
    assert.deepEqual([...img.subarray(0, 4)], [0x40, 0x00, 0x00, 0x48]); // b .+0x40, little-endian
    assert.equal(img.subarray(4, 20).toString('latin1'), 'PEF-MODEL-KERNEL');
    const len = img.readUInt32LE(20);
    assert.deepEqual(JSON.parse(img.subarray(24, 24 + len).toString('utf8')), { kernel: 'pef-linux', version: '1' });
    assert.deepEqual(new Uint8Array(img), buildModelKernelImage({ size: 300_000 }));
    // The filler is not a constant run: a digest over it means something.
    const tail = img.subarray(24 + len);
    assert.ok(new Set(tail.subarray(0, 4096)).size > 200);
  });
});

test('builds are reproducible and the seed changes the filler', () => {
  const a = buildModelKernelImage({ size: 65536 });
  assert.deepEqual(a, buildModelKernelImage({ size: 65536 }));
  const b = buildModelKernelImage({ size: 65536, seed: 'other' });
  assert.notDeepEqual(a, b);
  assert.deepEqual(a.subarray(0, 60), b.subarray(0, 60));
});

test('the marker check refuses images that are not a model kernel', () => {
  const img = buildModelKernelImage({ size: 4096, config: { kernel: 'pef-linux', version: '1', extra: true } });
  assert.ok(isModelKernel(img));
  assert.deepEqual(readModelKernelConfig(img), { kernel: 'pef-linux', version: '1', extra: true });
  const noBranch = img.slice(); noBranch[0] = 0;
  assert.equal(isModelKernel(noBranch), false);
  const badMagic = img.slice(); badMagic[10] ^= 1;
  assert.throws(() => readModelKernelConfig(badMagic), (e) => e instanceof ModelKernelError && e.code === 'not-model');
  const longLen = img.slice(); new DataView(longLen.buffer).setUint32(20, 1 << 30, true);
  assert.throws(() => readModelKernelConfig(longLen), (e) => e instanceof ModelKernelError && e.code === 'truncated');
  const badJson = img.slice(); badJson[24] = 0x5b; // '[' breaks the object
  assert.throws(() => readModelKernelConfig(badJson), (e) => e instanceof ModelKernelError && e.code === 'bad-config');
  assert.equal(isModelKernel(img.subarray(0, 10)), false);
  assert.throws(() => buildModelKernelImage({ size: 20 }), RangeError);
});
