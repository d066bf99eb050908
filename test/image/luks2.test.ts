// The LUKS2 reader: both header copies, damaged metadata, the sector-reader API the guest
// kernel uses, and fuzzed headers that must give a Luks2Error and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { createLuks2, openLuks2, unlockLuks2, verifyVolumeKey, Luks2Error, Luks2Volume, type Luks2Created } from '../../src/image/luks2.js';
import { readLuks2Header } from '../../src/image/luks2-header.js';

const pass = new Uint8Array(randomBytes(32));
// A small data offset keeps these in-memory disks small; cryptsetup accepts any such layout.
const DATA_OFFSET = 1 << 20;

function makeDisk(dataBytes = 64 * 1024, o: Partial<Parameters<typeof createLuks2>[0]> = {}): { disk: Uint8Array; c: Luks2Created; plain: Uint8Array } {
  const c = createLuks2({ passphrase: pass, dataOffset: DATA_OFFSET, ...o });
  const plain = new Uint8Array(randomBytes(dataBytes));
  const disk = new Uint8Array(c.dataOffset + dataBytes);
  disk.set(c.headerBytes, 0);
  disk.set(c.keyslotBytes, c.keyslotOffset);
  disk.set(new Luks2Volume(c.header, c.volumeKey).encryptSectors(0, plain), c.dataOffset);
  return { disk, c, plain };
}

const reader = (disk: Uint8Array) => (o: number, l: number) => disk.subarray(Math.min(o, disk.length), Math.min(o + l, disk.length));

/** Recompute one header copy's sha256 checksum after an edit. */
function reseal(disk: Uint8Array, at: number, hdrSize = 0x4000): void {
  disk.fill(0, at + 448, at + 512);
  disk.set(createHash('sha256').update(disk.subarray(at, at + hdrSize)).digest(), at + 448);
}

function setJson(disk: Uint8Array, at: number, json: string, hdrSize = 0x4000): void {
  disk.fill(0, at + 4096, at + hdrSize);
  disk.set(new TextEncoder().encode(json), at + 4096);
  reseal(disk, at, hdrSize);
}

test('openLuks2 through a sector reader: the guest kernel path', () => {
  const { disk, plain, c } = makeDisk();
  const lbas: number[] = [];
  const vol = openLuks2({ readSectors: (lba, count) => { lbas.push(lba); return disk.subarray(lba * 512, (lba + count) * 512); }, size: disk.length }, pass);
  assert.deepEqual(vol.volumeKey, c.volumeKey);
  assert.deepEqual(vol.readSectors(0, plain.length / 512), plain);
  assert.deepEqual(vol.read(1000, 3000), plain.subarray(1000, 4000));
  assert.equal(vol.dataSize, plain.length);
  assert.ok(lbas.every((l) => Number.isInteger(l) && l >= 0));
  // The same through the in-memory header and an explicit unlock.
  const h = readLuks2Header(reader(disk));
  const { volumeKey, keyslot } = unlockLuks2(h, pass, reader(disk));
  assert.equal(keyslot, '0');
  assert.ok(verifyVolumeKey(h, volumeKey));
  const wrong = volumeKey.slice(); wrong[0]! ^= 1;
  assert.equal(verifyVolumeKey(h, wrong), false);
  const ct = disk.subarray(c.dataOffset + 512 * 7, c.dataOffset + 512 * 9);
  assert.deepEqual(new Luks2Volume(h, volumeKey).decryptSectors(7, ct), plain.subarray(512 * 7, 512 * 9));
  assert.throws(() => vol.readSectors(plain.length / 512, 1), (e) => e instanceof Luks2Error && e.code === 'truncated');
});

test('a wrong passphrase, and a keyslot area with one flipped bit, are refused', () => {
  const { disk, c } = makeDisk();
  assert.throws(() => openLuks2(disk, 'nope'), (e) => e instanceof Luks2Error && e.code === 'wrong-passphrase');
  const bad = disk.slice(); bad[c.keyslotOffset + 100_000]! ^= 1;
  assert.throws(() => openLuks2(bad, pass), (e) => e instanceof Luks2Error && e.code === 'wrong-passphrase');
  assert.doesNotThrow(() => openLuks2(disk, pass));
});

test('a damaged primary header falls back to the secondary, and the reverse', () => {
  const { disk } = makeDisk();
  const p = disk.slice(); p[30]! ^= 0xff; // label byte: the primary's checksum fails
  const hp = readLuks2Header(reader(p));
  assert.equal(hp.used, 'secondary');
  assert.equal(hp.copies.primary.ok, false);
  assert.doesNotThrow(() => openLuks2(p, pass));
  const s = disk.slice(); s[0x4000 + 5000]! ^= 0x01; // secondary JSON area
  const hs = readLuks2Header(reader(s));
  assert.equal(hs.used, 'primary');
  assert.equal(hs.copies.secondary.ok, false);
  const gone = disk.slice(); gone.fill(0, 0, 4096); // primary wiped: the secondary is found by probing
  assert.equal(readLuks2Header(reader(gone)).used, 'secondary');
  const both = p.slice(); both[0x4000 + 30]! ^= 0xff;
  assert.throws(() => readLuks2Header(reader(both)), (e) => e instanceof Luks2Error && e.code === 'checksum' && e.offset === 448);
});

test('the copy with the higher seqid wins', () => {
  const { disk } = makeDisk();
  const d = disk.slice();
  new DataView(d.buffer).setBigUint64(0x4000 + 16, 5n, false);
  const json = readLuks2Header(reader(disk)).json.replace('"keyslots_size"', '"keyslots_size"');
  setJson(d, 0x4000, json);
  assert.equal(readLuks2Header(reader(d)).used, 'secondary');
  assert.equal(readLuks2Header(reader(d)).seqid, 5);
});

test('damaged metadata gives typed errors naming the problem', () => {
  const { disk } = makeDisk();
  const json = readLuks2Header(reader(disk)).json;
  const cases: [string, string, RegExp][] = [
    ['{"keyslots":', 'bad-json', /does not parse/],
    ['[]', 'bad-metadata', /not an object/],
    [json.replace('"json_size":"12288"', '"json_size":"4096"'), 'bad-metadata', /json_size/],
    [json.replace(/"offset":"32768"/, '"offset":"0"'), 'bad-metadata', /outside the keyslots area/],
    [json.replace('"sector_size":512', '"sector_size":333'), 'bad-metadata', /sector_size/],
    [json.replace('"iterations":1000', '"iterations":"1000"'), 'bad-metadata', /iterations/],
    [json.replace(/"salt":"[^"]+"/, '"salt":"***"'), 'bad-metadata', /base64/],
    [json.replace('"keyslots":["0"]', '"keyslots":["7"]'), 'bad-metadata', /missing keyslot 7/],
    [json.replace('"size":"dynamic"', '"size":"99999999999999999999"'), 'bad-metadata', /too large|u64/],
  ];
  for (const [text, code, re] of cases) {
    const d = disk.slice();
    setJson(d, 0, text); setJson(d, 0x4000, text);
    assert.throws(() => readLuks2Header(reader(d)), (e) => e instanceof Luks2Error && e.code === code && re.test(e.message), text.slice(0, 60));
  }
  const unsupported = json.replace(/"encryption":"aes-xts-plain64","sector_size"/, '"encryption":"serpent-xts-plain64","sector_size"');
  const d = disk.slice(); setJson(d, 0, unsupported); setJson(d, 0x4000, unsupported);
  assert.throws(() => openLuks2(d, pass), (e) => e instanceof Luks2Error && e.code === 'unsupported');
});

test('truncated disks and non-LUKS bytes', () => {
  const { disk } = makeDisk();
  assert.throws(() => readLuks2Header(reader(disk.subarray(0, 3000))), (e) => e instanceof Luks2Error && e.code === 'truncated');
  assert.throws(() => openLuks2(disk.subarray(0, 0x8000 + 1000), pass), (e) => e instanceof Luks2Error && e.code === 'truncated');
  assert.throws(() => readLuks2Header(reader(new Uint8Array(1 << 16))), (e) => e instanceof Luks2Error && e.code === 'not-luks2');
  const v1 = disk.slice(); v1[7] = 1; reseal(v1, 0); v1.fill(0, 0x4000, 0x4006);
  assert.throws(() => readLuks2Header(reader(v1)), (e) => e instanceof Luks2Error && e.code === 'unsupported' && /LUKS1/.test(e.message));
});

test('sector size 4096 volumes encrypt with the IV counted in 512-byte sectors', () => {
  const { disk, plain, c } = makeDisk(32 * 1024, { sectorSize: 4096 });
  const vol = openLuks2(disk, pass);
  assert.equal(vol.sectorSize, 4096);
  assert.deepEqual(vol.readSectors(0, 8), plain);
  // Sector 1 of 4096 bytes has IV 8. XTS over its first 32 blocks uses the same tweaks as a
  // 512-byte sector with IV 8, so a 512-byte-sector view of the same key agrees there (and
  // would not if the IV were counted in 4096-byte sectors), then disagrees from block 32 on.
  const v512 = new Luks2Volume({ ...c.header, metadata: { ...c.header.metadata, segments: { 0: { ...c.header.metadata.segments['0']!, sectorSize: 512 } } } }, c.volumeKey);
  const sector1 = disk.subarray(c.dataOffset + 4096, c.dataOffset + 8192);
  assert.deepEqual(v512.decryptSectors(8, sector1.subarray(0, 512)), plain.subarray(4096, 4608));
  assert.notDeepEqual(v512.decryptSectors(9, sector1.subarray(512, 1024)), plain.subarray(4608, 5120));
});

test('fuzz: mutated headers (checksums fixed up) give a header or a Luks2Error', () => {
  const { disk } = makeDisk(4096);
  const head = disk.subarray(0, 0x8000 + 4096);
  const json = readLuks2Header(reader(disk)).json;
  const codes = new Set<string>();
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(4096 + json.length + 8), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.boolean(), (muts, fix) => {
    const d = head.slice();
    for (const [i, v] of muts) d[i] = v;
    if (fix) { reseal(d, 0); d.fill(0, 0x4000, 0x4006); }
    try { readLuks2Header(reader(d)); codes.add('ok'); } catch (e) { if (!(e instanceof Luks2Error)) throw e; codes.add(e.code); }
  }), { numRuns: 2000 });
  assert.ok(codes.has('bad-json') || codes.has('bad-metadata'), [...codes].join(','));
});

test('a digest naming a keyslot or segment that exists only on Object.prototype (valueOf, constructor) is bad metadata; a real one parses', () => {
  const { disk } = makeDisk(4096);
  const base = JSON.parse(readLuks2Header(reader(disk)).json);
  const withRef = (field: 'keyslots' | 'segments', id: string) => {
    const o = structuredClone(base);
    o.digests['0'][field] = [id];
    const d = disk.slice(0, 0x8000);
    setJson(d, 0, JSON.stringify(o)); setJson(d, 0x4000, JSON.stringify(o));
    return () => readLuks2Header(reader(d));
  };
  assert.doesNotThrow(withRef('keyslots', '0'));
  assert.doesNotThrow(withRef('segments', '0'));
  for (const field of ['keyslots', 'segments'] as const) {
    for (const id of ['valueOf', 'constructor', 'toString']) {
      assert.throws(withRef(field, id), (e: unknown) => e instanceof Luks2Error && e.code === 'bad-metadata' && e.message.includes(`missing ${field === 'keyslots' ? 'keyslot' : 'segment'} ${id}`), `${field} ${id}`);
    }
  }
});

test('fuzz: JSON metadata with values replaced gives a header or a Luks2Error', () => {
  const { disk } = makeDisk(4096);
  const head = disk.slice(0, 0x8000);
  const base = JSON.parse(readLuks2Header(reader(disk)).json);
  const paths: string[][] = [];
  const walk = (o: unknown, p: string[]) => {
    if (typeof o === 'object' && o !== null) for (const [k, v] of Object.entries(o)) { paths.push([...p, k]); walk(v, [...p, k]); }
  };
  walk(base, []);
  const outcomes = new Set<string>();
  const values = fc.oneof(fc.constant(null), fc.integer({ min: -5, max: 5000 }), fc.constant(2 ** 31), fc.constant(2 ** 53), fc.string(), fc.constant('dynamic'), fc.constant('18446744073709551616'), fc.constant({}), fc.constant([]), fc.double());
  fc.assert(fc.property(fc.constantFrom(...paths), values, (path, v) => {
    const o = structuredClone(base);
    let at = o;
    for (const k of path.slice(0, -1)) at = at[k];
    at[path[path.length - 1]!] = v;
    const d = head.slice();
    setJson(d, 0, JSON.stringify(o)); setJson(d, 0x4000, JSON.stringify(o));
    try {
      const h = readLuks2Header(reader(d));
      outcomes.add('parsed');
      try { unlockLuks2(h, pass, reader(disk)); outcomes.add('unlocked'); } catch (e) { if (!(e instanceof Luks2Error)) throw e; outcomes.add(`unlock:${e.code}`); }
    } catch (e) { if (!(e instanceof Luks2Error)) throw e; outcomes.add(e.code); }
  }), { numRuns: 600 });
  assert.ok(outcomes.has('bad-metadata') && outcomes.has('parsed'), [...outcomes].join(','));
});
