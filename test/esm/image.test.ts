// The kernel digest's input (the ELF's loadable image) against powerpc64le-linux-gnu-objcopy
// -O binary on ELFs built here with the cross compiler, both endiannesses; cpio newc and the
// ESM archive `svm add` prepends, split again as the ultravisor splits it; the RTAS text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { parseElf, loadableImage, ElfError } from '../../src/image/elf.js';
import { parseCpio, writeCpio, CpioError, S_IFDIR, S_IFREG } from '../../src/image/cpio.js';
import { RTAS_TEXT } from '../../src/image/rtas.js';
import * as esm from '../../src/esm/index.js';
import { toolSkip } from './helpers.js';
import { rng } from '../fdt/fuzz-core.js';

const GCC = 'powerpc64le-linux-gnu-gcc';
const OBJCOPY = 'powerpc64le-linux-gnu-objcopy';

const SOURCE = `
int counter = 5;
static const char msg[] = "hello kernel";
int bss_var[64];
int __attribute__((section(".data2"))) late = 7;
__thread int tls_v = 3;
void _start(void) { counter += msg[0] + bss_var[3] + late + tls_v; for (;;); }
`;
// A kernel-like layout: linked at 0xc000000000000000, loaded at 0 (paddr != vaddr), a page
// gap, TLS data, and .bss followed by more data (so the zeroed .bss is inside the image).
const KERNEL_LD = `
KB = 0xc000000000000000;
SECTIONS {
  . = KB;
  .text : AT(ADDR(.text) - KB) { *(.text*) }
  .rodata : AT(ADDR(.rodata) - KB) { *(.rodata*) }
  . = ALIGN(0x1000);
  .data : AT(ADDR(.data) - KB) { *(.data) }
  .tdata : AT(ADDR(.tdata) - KB) { *(.tdata*) }
  .bss : AT(ADDR(.bss) - KB) { *(.bss*) }
  .data2 : AT(ADDR(.data2) - KB) { *(.data2) }
  /DISCARD/ : { *(.note*) *(.comment) *(.eh_frame) }
}`;

function zeroPaddrs(elf: Buffer): Buffer {
  const b = Buffer.from(elf);
  const le = b[5] === 1;
  const phoff = Number(le ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32));
  const phnum = le ? b.readUInt16LE(56) : b.readUInt16BE(56);
  for (let i = 0; i < phnum; i++) { if (le) b.writeBigUInt64LE(0n, phoff + i * 56 + 24); else b.writeBigUInt64BE(0n, phoff + i * 56 + 24); }
  return b;
}

test('the loadable image is byte for byte what objcopy -O binary -S writes, for LE and BE kernels', (t) => {
  const skip = toolSkip(GCC) || toolSkip(OBJCOPY);
  if (skip) { t.skip(skip); return; }
  const dir = mkdtempSync(join(tmpdir(), 'elf-'));
  writeFileSync(join(dir, 'k.c'), SOURCE);
  writeFileSync(join(dir, 'k.ld'), KERNEL_LD);
  const cases: string[] = [];
  for (const [name, flags] of [['kernel-le', ['-Wl,-T,k.ld']], ['kernel-be', ['-mbig-endian', '-Wl,-T,k.ld']], ['plain-le', []], ['plain-be', ['-mbig-endian']]] as [string, string[]][]) {
    const r = spawnSync(GCC, ['-O1', '-nostdlib', '-static', '-ffreestanding', '-Wl,--build-id=none', ...flags, '-o', name, 'k.c'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    cases.push(name);
  }
  // every p_paddr zero with several PT_LOADs: BFD then loads by virtual address
  writeFileSync(join(dir, 'paddr0-le'), zeroPaddrs(readFileSync(join(dir, 'plain-le'))));
  cases.push('paddr0-le');
  for (const name of cases) {
    const r = spawnSync(OBJCOPY, ['-O', 'binary', '-S', name, `${name}.bin`], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    const elfBytes = new Uint8Array(readFileSync(join(dir, name)));
    const ref = readFileSync(join(dir, `${name}.bin`));
    const elf = parseElf(elfBytes);
    assert.equal(elf.littleEndian, name.endsWith('le'), name);
    const img = loadableImage(elf);
    assert.ok(ref.length > 0);
    assert.deepEqual(Buffer.from(img.image), ref, name);
    const d = esm.computeDigests({ kernelElf: elfBytes, initramfs: new Uint8Array(0), bootargs: '' });
    assert.equal(d.kernelSize, ref.length, name);
    assert.deepEqual(d.kernel, new Uint8Array(createHash('sha512').update(ref).digest()), name);
  }
});

test('damaged ELF files give an ElfError, nothing else', () => {
  const skipless = Buffer.alloc(64);
  skipless.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  assert.throws(() => parseElf(new Uint8Array(10)), ElfError);
  assert.throws(() => parseElf(new Uint8Array(64)), /no ELF magic/);
  const b = Buffer.from(skipless);
  b[4] = 1; assert.throws(() => parseElf(b), /ELFCLASS64/);
  const seg = Buffer.from(skipless);
  seg.writeBigUInt64LE(64n, 32); seg.writeUInt16LE(56, 54); seg.writeUInt16LE(1, 56);
  assert.throws(() => parseElf(seg), /program header table/);
  const next = rng(77);
  const base = Buffer.concat([skipless, Buffer.alloc(200)]);
  base.writeBigUInt64LE(64n, 32); base.writeUInt16LE(56, 54); base.writeUInt16LE(1, 56);
  base.writeUInt32LE(1, 64); base.writeBigUInt64LE(200n, 72); base.writeBigUInt64LE(40n, 96); base.writeBigUInt64LE(40n, 104);
  assert.equal(loadableImage(parseElf(base)).image.length, 40);
  for (let i = 0; i < 20000; i++) {
    const m = Buffer.from(base);
    for (let k = 0; k < 1 + (next() % 4); k++) m[next() % m.length] = next() & 0xff;
    try { loadableImage(parseElf(m)); } catch (e) { if (!(e instanceof ElfError)) throw e; }
  }
});

test('cpio newc round trip, and damaged archives give a CpioError', () => {
  const files = [{ name: 'a', mode: S_IFREG | 0o644, data: new Uint8Array([1, 2, 3]) }, { name: 'dir/b', mode: S_IFREG | 0o600, data: randomBytes(1000) }];
  const a = writeCpio(files);
  assert.equal(a.length % 512, 0);
  const back = parseCpio(a);
  assert.deepEqual(back.entries.map((e) => [e.name, e.mode, Buffer.from(e.data).toString('hex')]), files.map((f) => [f.name, f.mode, Buffer.from(f.data).toString('hex')]));
  assert.throws(() => parseCpio(a.subarray(0, 200)), CpioError);
  const bad = Uint8Array.from(a); bad[10] = 0x7a;
  assert.throws(() => parseCpio(bad), /non-hex/);
  const next = rng(99);
  for (let i = 0; i < 20000; i++) {
    const m = Uint8Array.from(a.subarray(0, 400));
    for (let k = 0; k < 1 + (next() % 4); k++) m[next() % m.length] = next() & 0xff;
    try { parseCpio(m); esm.splitInitramfs(m); } catch (e) { if (!(e instanceof CpioError)) throw e; }
  }
});

test('svm add puts the blob first under opt/ibm/pef; the split gives back the blob and the original initramfs', () => {
  const blob = esm.emptyEsmBlob();
  const initramfs = writeCpio([{ name: 'init', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\n') }]);
  const combined = esm.svmAdd(initramfs, blob, 'esmb.dtb');
  const first = parseCpio(combined);
  assert.deepEqual(first.entries.map((e) => e.name), ['.', 'opt', 'opt/ibm', 'opt/ibm/pef', 'opt/ibm/pef/esmb.dtb']);
  const s = esm.splitInitramfs(combined)!;
  assert.equal(s.name, 'opt/ibm/pef/esmb.dtb');
  assert.deepEqual(Buffer.from(s.blob), Buffer.from(blob));
  assert.deepEqual(Buffer.from(s.rest), Buffer.from(initramfs));
  // control: an initramfs whose first file is elsewhere carries no blob
  assert.equal(esm.splitInitramfs(initramfs), undefined);
  assert.equal(esm.splitInitramfs(new Uint8Array([0x1f, 0x8b, 8, 0])), undefined);
});

test('the split refuses an ESM archive holding anything but the blob and its directories (it would reach the SVM unmeasured)', () => {
  const blob = esm.emptyEsmBlob();
  const initramfs = writeCpio([{ name: 'init', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\n') }]);
  const dirs = ['.', 'opt', 'opt/ibm', 'opt/ibm/pef'].map((name) => ({ name, mode: S_IFDIR | 0o755, data: new Uint8Array(0) }));
  const withArchive = (extra: { name: string; mode: number; data: Uint8Array }[], before = false) => {
    const file = { name: 'opt/ibm/pef/esmb.dtb', mode: S_IFREG | 0o644, data: blob };
    return Buffer.concat([writeCpio(before ? [...dirs, ...extra, file] : [...dirs, file, ...extra]), initramfs]);
  };
  // control: the archive svm-tools writes, and the same with ./-prefixed directory names
  assert.ok(esm.splitInitramfs(withArchive([])));
  assert.ok(esm.splitInitramfs(withArchive([{ name: './opt/', mode: S_IFDIR | 0o755, data: new Uint8Array(0) }])));
  for (const [extra, before] of [
    [{ name: 'etc/ld.so.preload', mode: S_IFREG | 0o644, data: Buffer.from('/x.so\n') }, false],
    [{ name: 'etc/motd', mode: S_IFREG | 0o644, data: new Uint8Array(0) }, true],
    [{ name: 'etc', mode: S_IFDIR | 0o777, data: new Uint8Array(0) }, false],
    [{ name: 'opt/ibm/pef/second.dtb', mode: S_IFREG | 0o644, data: blob }, false],
  ] as const) {
    assert.throws(() => esm.splitInitramfs(withArchive([extra], before)), (e: Error) => e instanceof CpioError && e.message.includes(`holds ${extra.name}`) && e.message.includes('unmeasured'), extra.name);
  }
});

test('RTAS_TEXT is 64 KiB of SHA-512 in counter mode over the documented seed', () => {
  assert.equal(RTAS_TEXT.length, 65536);
  for (const i of [0, 1, 1023]) {
    const ctr = Buffer.alloc(4); ctr.writeUInt32BE(i);
    assert.deepEqual(Buffer.from(RTAS_TEXT.subarray(i * 64, i * 64 + 64)), createHash('sha512').update('pef model RTAS text').update(ctr).digest());
  }
});
