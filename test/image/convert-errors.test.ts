// Bad input to pef svm convert: one line naming the file and the problem, exit code 2, and
// nothing written (no output directory, no temporary left behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync, rmSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { keys, tmp, cleanup, pef, convertArgs, tempsOf, type Keys } from './fixture.js';

interface Case { name: string; breakIt: (vm: string, d: string, k: Keys) => string[] | void; file: (vm: string, d: string, k: Keys) => string; problem: RegExp }

function reseal(b: Buffer, at: number): void {
  b.fill(0, at + 448, at + 512);
  createHash('sha256').update(b.subarray(at, at + 0x4000)).digest().copy(b, at + 448);
}

const cases: Case[] = [
  { name: 'a truncated plain disk', breakIt: (vm) => truncateSync(join(vm, 'disk.img'), 1000), file: (vm) => join(vm, 'disk.img'), problem: /not a whole number of 512-byte sectors/ },
  { name: 'a plain disk whose file tree is cut', breakIt: (vm) => { const b = readFileSync(join(vm, 'disk.img')); b.fill(0x41, 0, 100); writeFileSync(join(vm, 'disk.img'), b); }, file: (vm) => join(vm, 'disk.img'), problem: /no readable file tree \(ustar\) at offset 0: .*checksum/ },
  { name: 'a truncated LUKS2 disk', breakIt: (vm) => { copyFileSync(join(base, 'luks.img'), join(vm, 'disk.img')); truncateSync(join(vm, 'disk.img'), 10240); }, file: (vm) => join(vm, 'disk.img'), problem: /JSON area cut short/ },
  { name: 'a LUKS2 disk cut inside its data segment', breakIt: (vm) => { copyFileSync(join(base, 'luks.img'), join(vm, 'disk.img')); truncateSync(join(vm, 'disk.img'), 16 * 1024 * 1024); }, file: (vm) => join(vm, 'disk.img'), problem: /does not fit the \d+-byte disk/ },
  { name: 'a corrupt LUKS2 header (both copies)', breakIt: (vm) => { const b = readFileSync(join(base, 'luks.img')); b[100] ^= 1; b[0x4000 + 100] ^= 1; writeFileSync(join(vm, 'disk.img'), b); }, file: (vm) => join(vm, 'disk.img'), problem: /primary header checksum does not match \(at offset 448\)/ },
  { name: 'a corrupt LUKS2 JSON area (checksums valid)', breakIt: (vm) => {
    const b = readFileSync(join(base, 'luks.img'));
    for (const at of [0, 0x4000]) { b.write('{"keyslots":[', at + 4096, 'latin1'); reseal(b, at); }
    writeFileSync(join(vm, 'disk.img'), b);
  }, file: (vm) => join(vm, 'disk.img'), problem: /JSON area does not parse/ },
  { name: 'a machine key file that is a secret key', breakIt: (_vm, _d, k) => ['--authorize', k.m[2]!.sec], file: (_vm, _d, k) => k.m[2]!.sec, problem: /private key; give the public key/ },
  { name: 'a machine key file that is not a key', breakIt: (_vm, d) => { writeFileSync(join(d, 'junk.pem'), 'hello\n'); return ['--authorize', join(d, 'junk.pem')]; }, file: (_vm, d) => join(d, 'junk.pem'), problem: /no PEM block/ },
  { name: 'an owner secret key that does not match the public key', breakIt: (_vm, _d, k) => ['--owner-sec', k.m[0]!.sec], file: (_vm, _d, k) => k.m[0]!.sec, problem: /is not the secret key of/ },
  { name: 'a missing kernel', breakIt: (vm) => rmSync(join(vm, 'kernel')), file: (vm) => join(vm, 'kernel'), problem: /no such kernel/ },
  { name: 'a kernel that is not an ELF', breakIt: (vm) => writeFileSync(join(vm, 'kernel'), 'MZ not an elf at all, but long enough to have a header.................'), file: (vm) => join(vm, 'kernel'), problem: /not a usable kernel ELF: .*ELF magic/ },
  { name: 'an unreadable kernel (a directory)', breakIt: (vm) => { rmSync(join(vm, 'kernel')); mkdirSync(join(vm, 'kernel')); }, file: (vm) => join(vm, 'kernel'), problem: /is a directory/ },
  { name: 'an output directory that exists', breakIt: (_vm, d) => { mkdirSync(join(d, 'svm')); }, file: (_vm, d) => join(d, 'svm'), problem: /already exists/ },
  { name: 'bootargs ending with a newline', breakIt: (vm) => writeFileSync(join(vm, 'bootargs'), 'root=/dev/vda\n'), file: (vm) => join(vm, 'bootargs'), problem: /ends with a newline/ },
  { name: 'a bad vm.json', breakIt: (vm) => writeFileSync(join(vm, 'vm.json'), '{"name":"x","memory":"lots","vcpus":1}'), file: (vm) => join(vm, 'vm.json'), problem: /"memory" must be/ },
  { name: 'an initramfs that is not cpio', breakIt: (vm) => writeFileSync(join(vm, 'initramfs'), 'gzip?'), file: (vm) => join(vm, 'initramfs'), problem: /not a cpio newc archive/ },
  { name: 'an attachment named rootd', breakIt: (vm) => ['--attach', `rootd=${join(vm, 'vm.json')}`], file: (vm) => `--attach rootd=${join(vm, 'vm.json')}`, problem: /convert attaches itself/ },
];

let base: string;
let k: Keys;

test('setup: a sample image and a LUKS2 disk to break', async () => {
  k = keys();
  base = tmp('converr');
  assert.equal((await pef('image', 'sample', join(base, 'vm'), '--kernel-size', '64K')).code, 0);
  assert.equal((await pef(...convertArgs(join(base, 'vm'), join(base, 'svm0'), k))).code, 0);
  copyFileSync(join(base, 'svm0', 'disk.img'), join(base, 'luks.img'));
});

for (const c of cases) {
  test(`${c.name}: exit 2, one line naming the file, nothing written`, async () => {
    const d = join(base, c.name.replace(/[^a-z0-9]+/gi, '-'));
    mkdirSync(d);
    const vm = join(d, 'vm');
    cpSync(join(base, 'vm'), vm, { recursive: true });
    const extra = c.breakIt(vm, d, k) ?? [];
    const r = await pef(...convertArgs(vm, join(d, 'svm'), k, ...extra));
    assert.equal(r.code, 2, r.err);
    assert.equal(r.out, '');
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.ok(lines[0]!.startsWith(`pef: ${c.file(vm, d, k)}: `), lines[0]);
    assert.match(lines[0]!, c.problem);
    if (!c.name.includes('exists')) assert.equal(existsSync(join(d, 'svm')), false);
    assert.deepEqual(tempsOf(join(d, 'svm')), []);
  });
}

test('control: the unbroken image converts', async () => {
  const r = await pef(...convertArgs(join(base, 'vm'), join(base, 'svm-ok'), k));
  assert.equal(r.code, 0, r.err);
  cleanup(base);
});
