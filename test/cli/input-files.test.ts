// Every file a command reads whole must be a regular file: a device (/dev/zero never ends) or
// a FIFO (no writer: open() for reading blocks for ever) named anywhere, on the command line,
// in esm make's YAML or inside an image directory, is refused with exit 2 and one line naming
// it, and nothing is written. The commands run in a child under a watchdog (guarded.ts), so a
// command that would read for ever fails its test instead of hanging the suite.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateRsaKeyPair } from '../../src/esm/index.js';
import { buildModelKernel } from '../../src/image/kernel.js';
import { sampleInitramfs, writeSampleImage } from '../../src/image/sample.js';
import { runGuarded, type Outcome } from './guarded.js';

const dir = mkdtempSync(join(tmpdir(), 'pef-input-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const p = (n: string) => join(dir, n);
const ZERO = '/dev/zero';
const FIFO = p('fifo');
const mkfifo = spawnSync('mkfifo', [FIFO]);
assert.equal(mkfifo.status, 0, `mkfifo: ${mkfifo.stderr}`);

const owner = generateRsaKeyPair('');
const machine = generateRsaKeyPair('');
writeFileSync(p('owner.pub'), owner.pub);
writeFileSync(p('owner.sec'), owner.sec);
writeFileSync(p('machine.pub'), machine.pub);
writeFileSync(p('kernel'), buildModelKernel({ size: 16384 }));
writeFileSync(p('initrd'), sampleInitramfs());
writeFileSync(p('secret'), 'a disk passphrase\n');
writeFileSync(p('junk.pub'), 'not a key\n');

const refused = (path: string, kind: string, what: string) => `pef: ${path}: is ${kind}; the ${what} must be a regular file\n`;
const env = { ...process.env, PEF_PASSPHRASE: '', PEF_DEBUG: '' };

function yaml(name: string, o: { kernel?: string; initramfs?: string; file?: string; recipient?: string } = {}): string {
  const path = p(`${name}.yml`);
  writeFileSync(path, [
    '- origin:', `    pubkey: ${p('owner.pub')}`, `    seckey: ${p('owner.sec')}`, '    comment: owner',
    '- recipient:', `    pubkey: ${o.recipient ?? p('machine.pub')}`,
    '- digest:', '    args: "svm=on"', `    initramfs: ${o.initramfs ?? p('initrd')}`, `    kernel: ${o.kernel ?? p('kernel')}`,
    '- file:', '    name: rootd', `    path: ${o.file ?? p('secret')}`, '',
  ].join('\n'));
  return path;
}

/** Each outcome is exit 2 with exactly the expected line. */
function assertRefused(r: Outcome[], want: string[]): void {
  assert.equal(r.length, want.length);
  r.forEach((o, i) => assert.deepEqual({ argv: o.argv.join(' '), code: o.code, err: o.err }, { argv: o.argv.join(' '), code: 2, err: want[i] }));
}

test('esm make: a device or a FIFO its YAML names (kernel, initramfs, attachment, key, the YAML itself) is refused before anything is read or written', async () => {
  const make = (cfg: string) => ['esm', 'make', '-b', p('made.esm'), '-y', cfg];
  const control = await runGuarded([['esm', 'make', '-b', p('control.esm'), '-y', yaml('control')]], { env });
  assert.equal(control[0]!.code, 0, control[0]!.err); // the configuration is good otherwise
  assert.ok(existsSync(p('control.esm')));
  const r = await runGuarded([
    make(yaml('kernel-zero', { kernel: ZERO })),
    make(yaml('kernel-fifo', { kernel: FIFO })),
    make(yaml('initrd-fifo', { initramfs: FIFO })),
    make(yaml('file-zero', { file: ZERO })),
    make(yaml('file-fifo', { file: FIFO })),
    make(yaml('recipient-fifo', { recipient: FIFO })),
    // Checked before any file is read: the junk recipient key, read earlier than the attachment, is not reached.
    make(yaml('junk-then-zero', { recipient: p('junk.pub'), file: ZERO })),
    make(FIFO),
    make(ZERO),
  ], { env });
  assertRefused(r, [
    refused(ZERO, 'a character device', 'kernel ELF'),
    refused(FIFO, 'a FIFO', 'kernel ELF'),
    refused(FIFO, 'a FIFO', 'initramfs'),
    refused(ZERO, 'a character device', 'file'),
    refused(FIFO, 'a FIFO', 'file'),
    refused(FIFO, 'a FIFO', 'public key'),
    refused(ZERO, 'a character device', 'file'),
    refused(FIFO, 'a FIFO', 'YAML configuration'),
    refused(ZERO, 'a character device', 'YAML configuration'),
  ]);
  assert.ok(!existsSync(p('made.esm')), 'no blob written');
});

test('the other esm and svm add commands refuse a device or a FIFO, leaving the blob as it was', async () => {
  const blob = p('b.esm');
  const made = await runGuarded([['esm', 'create', '-b', blob, '-p', p('owner.pub')]], { env });
  assert.equal(made[0]!.code, 0, made[0]!.err);
  const before = readFileSync(blob);
  const r = await runGuarded([
    ['esm', 'create', '-b', p('new.esm'), '-p', FIFO],
    ['esm', 'attach', '-b', blob, '-s', p('owner.sec'), '-f', ZERO, '-r', 'x'],
    ['esm', 'attach', '-b', blob, '-s', FIFO, '-f', p('secret'), '-r', 'x'],
    ['esm', 'digest', '-b', blob, '-s', p('owner.sec'), '-a', 'svm=on', '-i', p('initrd'), '-k', ZERO],
    ['esm', 'authorize', '-b', blob, '-s', p('owner.sec'), '--pubkeys-from', FIFO],
    ['esm', 'display', '-b', ZERO],
    ['svm', 'add', '-i', FIFO, '-b', blob, '-f', p('out.cpio')],
  ], { env });
  assertRefused(r, [
    refused(FIFO, 'a FIFO', 'public key'),
    refused(ZERO, 'a character device', 'file'),
    refused(FIFO, 'a FIFO', 'secret key'),
    refused(ZERO, 'a character device', 'kernel ELF'),
    refused(FIFO, 'a FIFO', 'key list'),
    refused(ZERO, 'a character device', 'ESM blob'),
    refused(FIFO, 'a FIFO', 'initramfs'),
  ]);
  assert.deepEqual(readFileSync(blob), before);
  assert.ok(!existsSync(p('new.esm')) && !existsSync(p('out.cpio')));
});

test('svm convert, firmware build and machine refuse a device or a FIFO (given, or inside the image directory), writing nothing', async () => {
  const vm = p('vm');
  await writeSampleImage(vm, { diskSize: 1024 * 1024, kernelSize: 16384 });
  // The same image with its kernel a FIFO, and with its disk a symbolic link to /dev/zero.
  const vmFifo = p('vm-fifo');
  cpSync(vm, vmFifo, { recursive: true });
  rmSync(join(vmFifo, 'kernel'));
  assert.equal(spawnSync('mkfifo', [join(vmFifo, 'kernel')]).status, 0);
  const vmZero = p('vm-zero');
  cpSync(vm, vmZero, { recursive: true });
  rmSync(join(vmZero, 'disk.img'));
  symlinkSync(ZERO, join(vmZero, 'disk.img'));
  const convert = (from: string, ...more: string[]) => ['svm', 'convert', from, '-o', p('svm'), '--owner-pub', p('owner.pub'), '--owner-sec', p('owner.sec'), '--authorize', p('machine.pub'), '--quiet', ...more];
  const r = await runGuarded([
    convert(vmFifo),
    convert(vmZero),
    ['svm', 'convert', vm, '-o', p('svm'), '--owner-pub', FIFO, '--owner-sec', p('owner.sec'), '--authorize', p('machine.pub'), '--quiet'],
    convert(vm, '--attach', `app=${ZERO}`),
    convert(vm, '--disk-passphrase-file', FIFO),
    ['svm', 'inspect', vmFifo],
    ['firmware', 'build', 'ultravisor', '-o', p('fw.img'), '--key', FIFO],
    ['firmware', 'build', 'ultravisor', '-o', p('fw.img'), '--key', ZERO],
    ['machine', 'create', p('m'), '--firmware-key', ZERO],
    ['machine', 'firmware', p('m'), '--replace', `ultravisor=${FIFO}`],
  ], { env });
  assertRefused(r, [
    refused(join(vmFifo, 'kernel'), 'a FIFO', 'kernel'),
    refused(join(vmZero, 'disk.img'), 'a character device', 'root disk'),
    refused(FIFO, 'a FIFO', 'public key'),
    refused(ZERO, 'a character device', 'attachment'),
    refused(FIFO, 'a FIFO', 'disk passphrase file'),
    refused(join(vmFifo, 'kernel'), 'a FIFO', 'kernel'),
    refused(FIFO, 'a FIFO', 'private key'),
    refused(ZERO, 'a character device', 'private key'),
    refused(ZERO, 'a character device', 'public key'),
    refused(FIFO, 'a FIFO', 'firmware image'),
  ]);
  for (const n of ['svm', 'fw.img', 'm']) assert.ok(!existsSync(p(n)), `${n} not written`);
});

test('control: a command that never returns, or takes memory without end, is stopped and reported', async () => {
  const next = ['esm', 'display', '-b', p('owner.pub')];
  const spin = await runGuarded([next, ['(spin)'], next], { env, hangMs: 2000 });
  assert.deepEqual(spin.map((o) => [o.code, o.err.startsWith(`pef: ${p('owner.pub')}: `) ? 'refused' : o.err]), [
    [2, 'refused'], [undefined, 'killed: no return after 2000 ms'], [undefined, 'not run: an earlier command did not return'],
  ]);
  const grow = await runGuarded([['(grow)']], { env, maxRss: 2 ** 28 });
  assert.deepEqual(grow.map((o) => [o.code, o.err]), [[undefined, `killed: more than ${2 ** 28} bytes of memory`]]);
});
