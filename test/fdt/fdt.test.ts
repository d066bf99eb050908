// DTB reading and writing against blobs assembled by hand from the specification's layout,
// round trips of random trees, and one typed error (with the right offset) per kind of damage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FdtError, FdtView, FdtWriter, parseFdt, writeFdt, fdtNode, getProperty, propertyString, propertyU32, findNode,
  type FdtNode, type FdtErrorCode,
} from '../../src/fdt/index.js';
import { rawDtb, esmLikeTree } from './helpers.js';

const b = (...v: number[]) => new Uint8Array(v);

function throwsFdt(fn: () => unknown, code: FdtErrorCode, offset?: number): void {
  try { fn(); } catch (e) {
    assert.ok(e instanceof FdtError, `expected FdtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    return;
  }
  assert.fail(`expected FdtError ${code}`);
}

test('a hand-assembled DTB parses into the tree its tokens describe', () => {
  // strings: "compatible\0" at 0, "reg\0" at 11
  const dtb = rawDtb([
    ['begin', ''], ['prop', 0, Buffer.from('ibm,esm\0')], ['nop'],
    ['begin', 'memory@0'], ['prop', 11, b(0, 0, 0, 0, 0, 0, 0x10, 0)], ['end'],
    ['begin', 'empty'], ['end'],
    ['end'], ['fin'],
  ], 'compatible\0reg\0', [[0x2000n, 0x1000n]]);
  const t = parseFdt(dtb);
  assert.equal(t.root.name, '');
  assert.equal(propertyString(getProperty(t.root, 'compatible')!), 'ibm,esm');
  assert.deepEqual(t.root.children.map((c) => c.name), ['memory@0', 'empty']);
  assert.deepEqual([...getProperty(t.root.children[0]!, 'reg')!], [0, 0, 0, 0, 0, 0, 0x10, 0]);
  assert.deepEqual(t.reservations, [{ address: 0x2000n, size: 0x1000n }]);
});

test('the writer lays a tree out byte for byte as the specification assembles it', () => {
  const tree = fdtNode('', [['compatible', 'ibm,esm']], [fdtNode('memory@0', [['reg', b(0, 0, 0, 0, 0, 0, 0x10, 0)]]), fdtNode('empty')]);
  const expected = rawDtb([
    ['begin', ''], ['prop', 0, Buffer.from('ibm,esm\0')],
    ['begin', 'memory@0'], ['prop', 11, b(0, 0, 0, 0, 0, 0, 0x10, 0)], ['end'],
    ['begin', 'empty'], ['end'],
    ['end'], ['fin'],
  ], 'compatible\0reg\0', [[0x2000n, 0x1000n]]);
  const got = writeFdt({ root: tree, reservations: [{ address: 0x2000n, size: 0x1000n }], bootCpuidPhys: 0 });
  assert.deepEqual(Buffer.from(got), expected);
});

test('a name already in the strings block is reused, also as the tail of a longer name (libfdt)', () => {
  const w = new FdtWriter({ strings: ['#size-cells'] });
  w.beginNode('').property('size-cells', 1).property('#size-cells', 2).property('cells', 3).endNode();
  const dtb = w.finish();
  const v = new FdtView(dtb);
  assert.equal(v.header.sizeDtStrings, '#size-cells\0'.length);
  assert.deepEqual([...v.properties(v.root)].map((p) => [p.name, propertyU32(p.value)]), [['size-cells', 1], ['#size-cells', 2], ['cells', 3]]);
});

test('reserved property space can be filled in after later nodes are written', () => {
  const w = new FdtWriter();
  w.beginNode('');
  const at = w.reserveProperty('index', 4);
  w.beginNode('child').endNode();
  w.patch(at, b(1, 2, 3, 4));
  w.endNode();
  const t = parseFdt(w.finish());
  assert.deepEqual([...getProperty(t.root, 'index')!], [1, 2, 3, 4]);
});

const nameArb = fc.stringMatching(/^[a-z][a-z0-9,._+@-]{0,12}$/);
const propsArb = fc.uniqueArray(fc.record({ name: nameArb, value: fc.uint8Array({ maxLength: 40 }) }), { selector: (p) => p.name, maxLength: 5 });
const nodeArb = (depth: number): fc.Arbitrary<FdtNode> => fc.record({
  name: nameArb,
  properties: propsArb,
  children: depth === 0 ? fc.constant([]) : fc.array(nodeArb(depth - 1), { maxLength: 3 }),
});
const treeArb = nodeArb(4);

test('random trees survive a write and a parse unchanged', () => {
  fc.assert(fc.property(treeArb, fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).filter((s) => s > 0n)), { maxLength: 3 }), (node, rsv) => {
    const root = { ...node, name: '' };
    const fdt = { root, reservations: rsv.map(([address, size]) => ({ address, size })), bootCpuidPhys: 0 };
    const back = parseFdt(writeFdt(fdt));
    assert.deepEqual(JSON.stringify(back.root, replacer), JSON.stringify(root, replacer));
    assert.deepEqual(back.reservations, fdt.reservations);
  }), { numRuns: 300 });
});

function replacer(_k: string, v: unknown): unknown { return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v; }

test('the view walks to one node and its properties without a full parse', () => {
  const dtb = writeFdt(esmLikeTree());
  const v = new FdtView(dtb);
  const lb = v.pathOffset('/lockboxes/lockbox-1');
  assert.ok(lb > 0);
  assert.equal(v.nodeName(lb), 'lockbox-1');
  const fp = v.subnode(lb, 'pubkey-fingerprint');
  assert.equal(propertyString(v.property(fp, 'algorithm')!), 'SHA256');
  assert.equal(v.pathOffset('/lockboxes/lockbox-9'), -1);
  assert.deepEqual([...v.children(v.pathOffset('/lockboxes'))].map((o) => v.nodeName(o)), ['lockbox-2', 'lockbox-1', 'origin-lockbox']);
  assert.ok(findNode(parseFdt(dtb).root, '/digest/digests-fdt'));
});

// One construction per kind of damage; the offsets follow from rawDtb's layout:
// header 40 bytes, reservation block at 40 (16 bytes per entry plus the terminator).
const S = 56; // structure block offset with no reservations
const minimal = () => rawDtb([['begin', ''], ['prop', 0, b(1)], ['end'], ['fin']], 'p\0');
const setU32 = (buf: Buffer, off: number, v: number) => { const c = Buffer.from(buf); c.writeUInt32BE(v, off); return c; };

test('damage is reported as a typed error at the right offset', () => {
  const ok = minimal();
  assert.doesNotThrow(() => parseFdt(ok));
  throwsFdt(() => parseFdt(ok.subarray(0, 39)), 'truncated', 39);
  throwsFdt(() => parseFdt(ok.subarray(0, ok.length - 1)), 'truncated', ok.length - 1);
  throwsFdt(() => parseFdt(setU32(ok, 0, 0xd00dfeee)), 'bad-magic', 0);
  throwsFdt(() => parseFdt(setU32(ok, 20, 16)), 'bad-version', 20);
  throwsFdt(() => parseFdt(setU32(ok, 36, ok.length)), 'bad-layout', 8); // struct size past totalsize
  throwsFdt(() => parseFdt(setU32(ok, 8, 42)), 'bad-layout', 8); // struct misaligned
  throwsFdt(() => parseFdt(setU32(ok, 12, S)), 'bad-layout', 12); // strings overlap struct
  throwsFdt(() => parseFdt(setU32(ok, 16, 0)), 'bad-layout', 16); // reservations inside the header
  throwsFdt(() => parseFdt(setU32(setU32(ok, 40, 1), 16, 40)), 'bad-layout', 56); // reservation entries run into the struct block
  throwsFdt(() => parseFdt(setU32(ok, S, 7)), 'bad-tag', S);
  throwsFdt(() => parseFdt(setU32(ok, S, 2)), 'bad-structure', S); // starts with END_NODE
  // property: tag at S+8, len at S+12, nameoff at S+16
  throwsFdt(() => parseFdt(setU32(ok, S + 16, 2)), 'bad-name', S + 16); // name offset past the strings block
  throwsFdt(() => parseFdt(setU32(ok, S + 12, 1000)), 'truncated', S + 12);
  // root closes, then something other than FDT_END
  throwsFdt(() => parseFdt(setU32(ok, S + 28, 2)), 'bad-structure', S + 28);
});

test('unterminated names, missing ends, properties after subnodes and absurd depth are refused', () => {
  const unterminatedNode = rawDtb([['begin', ''], ['end'], ['fin']], '');
  const u = Buffer.from(unterminatedNode);
  u.writeUInt32BE(0x61616161, S + 4); // the root's padded name becomes "aaaa" with no NUL, then END_NODE
  u.writeUInt32BE(0x61616161, S + 8);
  u.writeUInt32BE(0x61616161, S + 12);
  throwsFdt(() => parseFdt(u), 'bad-name', S + 4);
  const unterminatedProp = rawDtb([['begin', ''], ['prop', 0, b(1)], ['end'], ['fin']], 'abc');
  throwsFdt(() => parseFdt(unterminatedProp), 'bad-name');
  throwsFdt(() => parseFdt(rawDtb([['begin', ''], ['begin', 'a'], ['end'], ['fin']], '')), 'bad-structure');
  throwsFdt(() => parseFdt(rawDtb([['begin', ''], ['end']], '')), 'truncated');
  throwsFdt(() => parseFdt(rawDtb([['begin', ''], ['begin', 'a'], ['end'], ['prop', 0, b(1)], ['end'], ['fin']], 'p\0')), 'bad-structure');
  const deep: ['begin', string][] = Array.from({ length: 70 }, (_, i) => ['begin', i === 0 ? '' : `n${i}`]);
  throwsFdt(() => parseFdt(rawDtb([...deep, ...Array.from({ length: 70 }, () => ['end'] as ['end']), ['fin']], '')), 'too-deep');
});

test('the writer refuses what it cannot encode', () => {
  throwsFdt(() => new FdtWriter().property('x', 1), 'bad-structure');
  throwsFdt(() => new FdtWriter().beginNode('').finish(), 'bad-structure');
  throwsFdt(() => new FdtWriter().beginNode('a\u0100'), 'bad-value');
  throwsFdt(() => writeFdt(fdtNode('', { n: -1 })), 'bad-value');
});
