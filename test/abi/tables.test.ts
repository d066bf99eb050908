// The ABI tables against the reference (PEF.md, the digest of the real system): every
// ultracall and hypercall number and every return code it lists is in the tables with the same
// value, and the tables are internally consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ULTRACALLS, HCALLS, U_CODES, H_CODES, SPRS, MSR_BITS, VECTORS, GPF_STATES } from '../../src/abi/index.js';

const REF = '../shared/reference/PEF.md';
const ref = existsSync(REF) ? readFileSync(REF, 'utf8') : null;

test('the reference document is present (CI lays shared/ beside the repository)', { skip: !ref && process.env.CI !== 'true' ? 'no ../shared here' : false }, () => {
  assert.ok(ref, `${REF} missing`);
});

test('every ultracall of PEF.md section 4 has its number in the table', { skip: !ref ? 'no reference' : false }, () => {
  const sec = ref!.slice(ref!.indexOf('## 4.'), ref!.indexOf('## 5.'));
  const rows = [...sec.matchAll(/^\| (UV_[A-Z_ /]+?) \| (0x[0-9A-F]+)(?: \/ (0x[0-9A-F]+))? \|/gm)];
  assert.ok(rows.length >= 19, `parsed ${rows.length} rows`);
  for (const r of rows) {
    const names = r[1]!.split(' / ').map((s) => s.trim());
    const nums = [r[2]!, r[3]].filter(Boolean).map((h) => parseInt(h!, 16));
    names.forEach((n, i) => {
      const u = ULTRACALLS.find((x) => x.name === n);
      assert.ok(u, `${n} missing from the table`);
      assert.equal(u.number, nums[i], n);
    });
  }
});

test('every hypercall number of PEF.md section 6 is in the table', { skip: !ref ? 'no reference' : false }, () => {
  const sec = ref!.slice(ref!.indexOf('## 6.'), ref!.indexOf('## 7.'));
  const named = [...sec.matchAll(/(H_[A-Z_]+) \((0x[0-9A-F]+)(?:\/(0x[0-9A-F]+))?\)/g)];
  const rows = [...sec.matchAll(/^\| (H_SVM_[A-Z_]+) \| (0x[0-9A-F]+) \|/gm)];
  for (const r of rows) assert.equal(HCALLS.find((h) => h.name === r[1])?.number, parseInt(r[2]!, 16), r[1]);
  for (const r of named) {
    const ns = r[1]!.includes('LOGICAL_CI') ? ['H_LOGICAL_CI_LOAD', 'H_LOGICAL_CI_STORE'] : [r[1]!];
    const vs = [r[2], r[3]].filter(Boolean).map((h) => parseInt(h!, 16));
    ns.forEach((n, i) => assert.equal(HCALLS.find((h) => h.name === n)?.number, vs[i], n));
  }
  assert.ok(rows.length === 6 && named.length >= 6);
});

test('return codes match PEF.md', { skip: !ref ? 'no reference' : false }, () => {
  for (const m of ref!.matchAll(/\b([UH]_[A-Z0-9_]+) (-?\d+)\b/g)) {
    const table = m[1]!.startsWith('U_') ? U_CODES : H_CODES;
    const c = table.find((x) => x.name === m[1]);
    if (c) assert.equal(c.value, Number(m[2]), m[1]);
  }
  assert.equal(U_CODES.find((c) => c.name === 'U_PERMISSION')?.value, -11);
});

test('new SPRs and MSR[S] have the numbers of PEF.md section 2', () => {
  const want: Record<string, number> = { USPRG0: 496, USPRG1: 497, URMOR: 505, USRR0: 506, USRR1: 507, SMFCTRL: 511, PTCR: 464 };
  for (const [n, v] of Object.entries(want)) assert.equal(SPRS.find((s) => s.name === n)?.num, v, n);
  const s = MSR_BITS.find((b) => b.name === 'S')!;
  assert.equal(1n << BigInt(s.lsb), 0x400000n);
  assert.equal(s.lsb, 63 - s.isa);
  for (const b of MSR_BITS) assert.equal(b.lsb, 63 - b.isa, `${b.name}: LSB-0 and ISA numbering agree`);
});

test('tables have unique numbers and sane register counts', () => {
  const uniq = (xs: number[]) => new Set(xs).size === xs.length;
  assert.ok(uniq(ULTRACALLS.map((u) => u.number)));
  assert.ok(uniq(HCALLS.map((h) => h.number)));
  assert.ok(uniq(SPRS.map((s) => s.num)));
  assert.ok(uniq(VECTORS.map((v) => v.vector)));
  assert.equal(GPF_STATES.length, 14);
  for (const h of HCALLS) {
    assert.ok(h.inRegs >= 1 && h.inRegs <= 10 && h.outRegs >= 1 && h.outRegs <= 9, h.name);
    assert.equal(h.inRegs, 1 + h.args.length, `${h.name}: inRegs counts R3 plus its arguments`);
  }
  for (const u of ULTRACALLS.filter((x) => x.extension)) assert.ok(u.number > 0xF150, `${u.name} is outside IBM's range`);
});
