// ustar archives: GNU tar reads ours, we read GNU tar's, round trips hold, and damaged input
// gives a TarError (never another exception, never a hang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readTar, scanTar, tarLength, writeTar, TarError, type TarEntryInput } from '../../src/image/tar.js';
import { needTool, run } from './tools.js';

function withTmp<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pef-tar-'));
  try { return f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const tree: TarEntryInput[] = [
  { path: 'etc', type: 'dir' },
  { path: '/etc/secret', data: 'the secret line\n', mode: 0o600 },
  { path: 'srv/www', type: 'dir' },
  { path: 'srv/www/index.html', data: '<h1>hello</h1>\n' },
  { path: 'bin/sh', type: 'symlink', linkname: '/init' },
  { path: `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/file.txt`, data: new Uint8Array(1000).fill(7) },
];

test('GNU tar lists and extracts an archive written by writeTar, even inside a larger disk', (t) => {
  if (!needTool(t, 'tar')) return;
  withTmp((dir) => {
    const disk = new Uint8Array(1 << 20);
    disk.set(writeTar(tree));
    writeFileSync(join(dir, 'disk.img'), disk);
    const list = run('tar', ['tf', join(dir, 'disk.img')]);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n'), ['etc/', 'etc/secret', 'srv/www/', 'srv/www/index.html', 'bin/sh', `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/file.txt`]);
    const cat = run('tar', ['xOf', join(dir, 'disk.img'), 'etc/secret']);
    assert.equal(cat.stdout, 'the secret line\n');
    const verbose = run('tar', ['tvf', join(dir, 'disk.img'), 'etc/secret']);
    assert.match(verbose.stdout, /^-rw------- root\/root\s+16 /);
  });
});

test('readTar reads an archive GNU tar wrote in ustar format', (t) => {
  if (!needTool(t, 'tar')) return;
  withTmp((dir) => {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'a/b/c.txt'), 'content of c\n');
    writeFileSync(join(src, 'a/empty'), '');
    symlinkSync('b/c.txt', join(src, 'a/link'));
    const r = run('tar', ['--format=ustar', '--sort=name', '-C', src, '-cf', join(dir, 'x.tar'), 'a']);
    assert.equal(r.status, 0, r.stderr);
    const entries = readTar(new Uint8Array(readFileSync(join(dir, 'x.tar'))));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.deepEqual([...byPath.keys()].sort(), ['a', 'a/b', 'a/b/c.txt', 'a/empty', 'a/link']);
    assert.equal(byPath.get('a/b')!.type, 'dir');
    assert.equal(Buffer.from(byPath.get('a/b/c.txt')!.data).toString(), 'content of c\n');
    assert.equal(byPath.get('a/empty')!.size, 0);
    assert.equal(byPath.get('a/link')!.type, 'symlink');
    assert.equal(byPath.get('a/link')!.linkname, 'b/c.txt');
  });
});

const segment = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
const entryArb = fc.record({
  path: fc.array(segment, { minLength: 1, maxLength: 6 }).map((p) => p.join('/')),
  data: fc.uint8Array({ maxLength: 1500 }),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  mtime: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
});

test('property: writeTar then readTar gives back paths, content, mode and mtime', () => {
  fc.assert(fc.property(fc.uniqueArray(entryArb, { selector: (e) => e.path, maxLength: 8 }), (es) => {
    const bytes = writeTar(es);
    assert.equal(bytes.length % 512, 0);
    const back = readTar(bytes);
    assert.equal(back.length, es.length);
    es.forEach((e, i) => {
      assert.equal(back[i]!.path, e.path);
      assert.deepEqual(back[i]!.data, e.data);
      assert.equal(back[i]!.mode, e.mode);
      assert.equal(back[i]!.mtime, e.mtime);
    });
    assert.equal(tarLength(bytes), bytes.length);
  }), { numRuns: 200 });
});

test('damaged archives give typed errors with offsets', () => {
  const good = writeTar(tree);
  const bad = good.slice(); bad[0] ^= 0x01; // name byte: checksum no longer matches
  assert.throws(() => readTar(bad), (e) => e instanceof TarError && e.code === 'checksum' && e.offset === 148);
  assert.throws(() => readTar(good.subarray(0, 700)), (e) => e instanceof TarError && e.code === 'truncated');
  assert.throws(() => readTar(good.subarray(0, 512 * 3)), (e) => e instanceof TarError && e.code === 'truncated');
  const noMagic = good.slice(); noMagic.fill(0x41, 257, 263);
  assert.throws(() => readTar(noMagic), (e) => e instanceof TarError && e.code === 'bad-magic');
  assert.throws(() => writeTar([{ path: 'a/../b' }]), (e) => e instanceof TarError && e.code === 'bad-name');
  assert.throws(() => writeTar([{ path: 'x' }, { path: '/x' }]), (e) => e instanceof TarError && e.code === 'bad-name');
  // A header whose size field points past the end is caught before any content is read.
  let reads = 0;
  assert.throws(() => scanTar((o, l) => { reads++; return good.subarray(o, o + l); }, 600), (e) => e instanceof TarError && e.code === 'truncated');
  assert.ok(reads <= 2);
});

test('fuzz: mutated archives throw only TarError and always stop', () => {
  const good = writeTar(tree);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.nat(good.length), (muts, cut) => {
    const b = good.slice(0, Math.max(cut, 1));
    for (const [i, v] of muts) if (i < b.length) b[i] = v;
    try { readTar(b); } catch (e) { if (!(e instanceof TarError)) throw e; }
  }), { numRuns: 3000 });
});

function fixChecksum(b: Uint8Array, at: number): void {
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[at + i]!;
  const s = sum.toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) b[at + 148 + i] = s.charCodeAt(i);
  b[at + 154] = 0; b[at + 155] = 0x20;
}

test('fuzz: header fields mutated behind a valid checksum still give only TarError', () => {
  const good = writeTar(tree);
  const headers: number[] = [];
  scanTar((o, l) => good.subarray(o, o + l), good.length, (e) => headers.push(e.headerOffset));
  const same = good.slice(); fixChecksum(same, headers[1]!);
  assert.deepEqual(same, good);
  const outcomes = new Set<string>();
  fc.assert(fc.property(fc.constantFrom(...headers), fc.array(fc.tuple(fc.nat(511), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (at, muts) => {
    const b = good.slice();
    for (const [i, v] of muts) if (i < 148 || i >= 156) b[at + i] = v;
    fixChecksum(b, at);
    try { readTar(b); outcomes.add('ok'); } catch (e) { if (!(e instanceof TarError)) throw e; outcomes.add(e.code); }
  }), { numRuns: 3000 });
  assert.ok(!outcomes.has('checksum'), 'the checksum fix-up works, so the parser behind it is what gets fuzzed');
  assert.ok(outcomes.size >= 3, [...outcomes].join(','));
});
