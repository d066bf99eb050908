// Every ultracall x every caller x its error cases. The permission, unknown-number and
// transactional-memory rows are generated from the ABI table; the argument errors are the ones
// PEF.md sections 4 and 8 list. The calls are made for real: `sc 2` from the hypervisor, from
// the host's problem state, from a VM's kernel and user space, and from an SVM's kernel and user
// space, all on one booted system per caller group.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ULTRACALLS, UV, type UcallCaller } from '../../src/abi/ultracalls.js';
import { U, rcOf } from '../../src/abi/retcodes.js';
import { MSR } from '../../src/abi/msr.js';
import { HC } from '../../src/abi/hcalls.js';
import { SCOM_MCD_SECURE_BASE } from '../../src/hw/scom.js';
import { ENTRY_VALID } from '../../src/hw/mmu.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Op } from '../../src/hw/cpu/software.js';
import { fingerprintOfPem } from '../../src/esm/index.js';
import { packBytes } from '../../src/ultravisor/index.js';
import { call, toUser } from './guest.js';
import { LAYOUT, LPID, makeRig, testKey } from './rig.js';

type Who = 'hv' | 'host-user' | 'vm-kernel' | 'vm-user' | 'svm-kernel' | 'svm-user';
const WHO: Who[] = ['hv', 'host-user', 'vm-kernel', 'vm-user', 'svm-kernel', 'svm-user'];
const ALLOWED: Record<UcallCaller, Who[]> = {
  hv: ['hv'], 'vm-kernel': ['vm-kernel'], 'svm-kernel': ['svm-kernel'], svm: ['svm-kernel', 'svm-user'],
};

interface Env { hvPage: number; secureRa: number; fwRa: number }
interface Case {
  id: string;
  who: Who;
  nr: number;
  args?: (e: Env) => (bigint | number)[];
  /** Registers to set besides R3.. (R31 for UV_RETURN). */
  regs?: Record<number, bigint>;
  tm?: boolean;
  expect: number;
  check?: (r: bigint[], e: Env) => void;
}

const SHARE_GFN = (14 << 20) / 65536;
const FREE_GPA = 0x600000;
const FILE = new Uint8Array(Array.from({ length: 100 }, (_, i) => i + 1));
const name = (s: string) => packBytes(new TextEncoder().encode(s), 4);

const cases: Case[] = [];
// Generated from the ABI table: every caller that is not the one listed gets U_PERMISSION ...
for (const d of ULTRACALLS) {
  for (const who of WHO) {
    if (!ALLOWED[d.caller].includes(who)) cases.push({ id: `${d.name} from ${who}: U_PERMISSION`, who, nr: d.number, regs: { 31: 0n }, expect: U.U_PERMISSION });
  }
  // ... and the caller that is listed, with a transaction active, U_BAD_MODE.
  const who = ALLOWED[d.caller][0]!;
  cases.push({ id: `${d.name} from ${who} with TM active: U_BAD_MODE`, who, nr: d.number, regs: { 31: 0n }, tm: true, expect: U.U_BAD_MODE });
}
// A number that is in no table: U_FUNCTION, whoever asks.
for (const who of WHO) cases.push({ id: `unknown ultracall 0xF1FC from ${who}: U_FUNCTION`, who, nr: 0xF1FC, expect: U.U_FUNCTION });
cases.push({ id: 'ultracall 0x300 (a hypercall number) from hv: U_FUNCTION', who: 'hv', nr: 0x300, expect: U.U_FUNCTION });

// Argument errors, in the order they are checked (PEF.md sections 4 and 8), then a success.
const hv = (id: string, nr: number, args: Case['args'], expect: number, more: Partial<Case> = {}) =>
  cases.push({ id: `${id}: ${Object.entries(U).find(([, v]) => v === expect)?.[0] ?? expect}`, who: 'hv', nr, args, expect, ...more });
const V = ENTRY_VALID;
hv('UV_WRITE_PATE lpid beyond the table', UV.UV_WRITE_PATE, () => [4096, 0, 0], U.U_PARAMETER);
hv('UV_WRITE_PATE for an SVM', UV.UV_WRITE_PATE, (e) => [LPID, V | BigInt(e.hvPage), 0], U.U_PERMISSION);
hv('UV_WRITE_PATE root in secure memory', UV.UV_WRITE_PATE, (e) => [9, V | BigInt(e.secureRa), 0], U.U_P2);
hv('UV_WRITE_PATE root not 4 KiB aligned', UV.UV_WRITE_PATE, (e) => [9, V | BigInt(e.hvPage + 8), 0], U.U_P2);
hv('UV_WRITE_PATE a normal partition', UV.UV_WRITE_PATE, (e) => [9, V | BigInt(e.hvPage), 0], U.U_SUCCESS);
hv('UV_WRITE_PATE clearing it', UV.UV_WRITE_PATE, () => [9, 0, 0], U.U_SUCCESS);
hv('UV_RESTRICTED_SPR_WRITE an unlisted SPR', UV.UV_RESTRICTED_SPR_WRITE, () => [26, 1], U.U_PARAMETER);
hv('UV_RESTRICTED_SPR_WRITE DAWR0', UV.UV_RESTRICTED_SPR_WRITE, () => [0xB4, 0x1234], U.U_SUCCESS);
hv('UV_RESTRICTED_SPR_READ an unlisted SPR', UV.UV_RESTRICTED_SPR_READ, () => [26], U.U_PARAMETER);
hv('UV_RESTRICTED_SPR_READ DAWR0', UV.UV_RESTRICTED_SPR_READ, () => [0xB4], U.U_SUCCESS, { check: (r) => assert.equal(r[2], 0x1234n) });
hv('UV_READ_SCOM a secure-memory window', UV.UV_READ_SCOM, () => [0, SCOM_MCD_SECURE_BASE], U.U_PERMISSION);
hv('UV_WRITE_SCOM a secure-memory window', UV.UV_WRITE_SCOM, () => [0, SCOM_MCD_SECURE_BASE, 0], U.U_PERMISSION);
hv('UV_READ_SCOM an address on no list', UV.UV_READ_SCOM, () => [0, 0x7f000000], U.U_PARAMETER);
hv('UV_WRITE_SCOM an address on no list', UV.UV_WRITE_SCOM, () => [0, 0x7f000000, 1], U.U_PARAMETER);
hv('UV_WRITE_SCOM a core register', UV.UV_WRITE_SCOM, () => [0, 0x20000010, 0xabc], U.U_SUCCESS);
hv('UV_READ_SCOM a core register', UV.UV_READ_SCOM, () => [0, 0x20000010], U.U_SUCCESS, { check: (r) => assert.equal(r[1], 0xabcn) });
hv('UV_RETURN with a cookie nobody waits for', UV.UV_RETURN, undefined, U.U_PARAMETER, { regs: { 31: 0x1234560n } });
hv('UV_REGISTER_MEM_SLOT unknown lpid', UV.UV_REGISTER_MEM_SLOT, () => [99, 0, 65536, 0, 1], U.U_PARAMETER);
hv('UV_REGISTER_MEM_SLOT start not 64 KiB aligned', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 0x1000, 65536, 0, 1], U.U_P2);
hv('UV_REGISTER_MEM_SLOT size 0', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 32 << 20, 0, 0, 1], U.U_P3);
hv('UV_REGISTER_MEM_SLOT slot id 512', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 32 << 20, 65536, 0, 512], U.U_P5);
hv('UV_REGISTER_MEM_SLOT a slot id in use', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 32 << 20, 65536, 0, 0], U.U_P5);
hv('UV_REGISTER_MEM_SLOT overlapping a slot', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 0, 65536, 0, 1], U.U_PARAMETER);
hv('UV_REGISTER_MEM_SLOT a new slot', UV.UV_REGISTER_MEM_SLOT, () => [LPID, 32 << 20, 65536, 0, 7], U.U_SUCCESS);
hv('UV_UNREGISTER_MEM_SLOT of a secure SVM', UV.UV_UNREGISTER_MEM_SLOT, () => [LPID, 7], U.U_STATE);
hv('UV_UNREGISTER_MEM_SLOT an unknown slot', UV.UV_UNREGISTER_MEM_SLOT, () => [LPID, 9], U.U_P2);
hv('UV_UNREGISTER_MEM_SLOT unknown lpid', UV.UV_UNREGISTER_MEM_SLOT, () => [99, 0], U.U_PARAMETER);
hv('UV_PAGE_IN shift 12', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, FREE_GPA, 0, 12], U.U_P5);
hv('UV_PAGE_IN hypervisor page 0', UV.UV_PAGE_IN, () => [LPID, 0, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_IN hypervisor page in secure memory', UV.UV_PAGE_IN, (e) => [LPID, e.secureRa, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_IN hypervisor page not aligned', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage + 4096, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_IN unknown lpid', UV.UV_PAGE_IN, (e) => [99, e.hvPage, FREE_GPA, 0, 16], U.U_PARAMETER);
hv('UV_PAGE_IN outside every slot', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, 64 << 20, 0, 16], U.U_P3);
hv('UV_PAGE_IN flags 2', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, FREE_GPA, 2, 16], U.U_P4);
hv('UV_PAGE_IN over a SECURE frame of a secure SVM', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_IN shared over a SECURE frame', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, FREE_GPA, 1, 16], U.U_P2);
hv('UV_PAGE_OUT shift 12', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, FREE_GPA, 0, 12], U.U_P5);
hv('UV_PAGE_OUT hypervisor page 0', UV.UV_PAGE_OUT, () => [LPID, 0, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_OUT hypervisor page in secure memory', UV.UV_PAGE_OUT, (e) => [LPID, e.secureRa, FREE_GPA, 0, 16], U.U_P2);
hv('UV_PAGE_OUT unknown lpid', UV.UV_PAGE_OUT, (e) => [99, e.hvPage, FREE_GPA, 0, 16], U.U_PARAMETER);
hv('UV_PAGE_OUT outside every slot', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, 64 << 20, 0, 16], U.U_P3);
hv('UV_PAGE_OUT flags 1', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, FREE_GPA, 1, 16], U.U_P4);
hv('UV_PAGE_OUT a SECURE frame', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, FREE_GPA, 0, 16], U.U_SUCCESS);
hv('UV_PAGE_OUT the same frame again (PAGEDOUT)', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, FREE_GPA, 0, 16], U.U_PARAMETER);
hv('UV_PAGE_OUT a bounce buffer (SHARED_IMPLICIT)', UV.UV_PAGE_OUT, (e) => [LPID, e.hvPage, (16 << 20) - 65536, 0, 16], U.U_PARAMETER);
hv('UV_PAGE_INVAL a PAGEDOUT frame', UV.UV_PAGE_INVAL, () => [LPID, FREE_GPA, 16], U.U_P2);
hv('UV_PAGE_IN the paged-out frame back', UV.UV_PAGE_IN, (e) => [LPID, e.hvPage, FREE_GPA, 0, 16], U.U_SUCCESS);
hv('UV_PAGE_INVAL shift 12', UV.UV_PAGE_INVAL, () => [LPID, FREE_GPA, 12], U.U_P3);
hv('UV_PAGE_INVAL unknown lpid', UV.UV_PAGE_INVAL, () => [99, FREE_GPA, 16], U.U_PARAMETER);
hv('UV_PAGE_INVAL outside every slot', UV.UV_PAGE_INVAL, () => [LPID, 64 << 20, 16], U.U_P2);
hv('UV_PAGE_INVAL a SECURE frame', UV.UV_PAGE_INVAL, () => [LPID, FREE_GPA, 16], U.U_P2);
hv('UV_PAGE_INVAL a bounce buffer', UV.UV_PAGE_INVAL, () => [LPID, (16 << 20) - 65536, 16], U.U_SUCCESS);
hv('UV_PAGE_INVAL it again', UV.UV_PAGE_INVAL, () => [LPID, (16 << 20) - 65536, 16], U.U_SUCCESS);
hv('UV_SVM_TERMINATE unknown lpid', UV.UV_SVM_TERMINATE, () => [99], U.U_PARAMETER);
hv('UV_READ_MEM unknown handle', UV.UV_READ_MEM, (e) => [e.hvPage, 9, 0, 16], U.U_P2);
hv('UV_READ_MEM offset past the region', UV.UV_READ_MEM, (e) => [e.hvPage, 1, 5000, 16], U.U_P3);
hv('UV_READ_MEM size past the region', UV.UV_READ_MEM, (e) => [e.hvPage, 1, 0, 5000], U.U_P4);
hv('UV_READ_MEM into secure memory', UV.UV_READ_MEM, (e) => [e.secureRa, 1, 0, 16], U.U_PARAMETER);
hv('UV_READ_MEM a whitelisted region', UV.UV_READ_MEM, (e) => [e.hvPage, 1, 0, 16], U.U_SUCCESS);
hv('UV_WRITE_MEM a read-only region', UV.UV_WRITE_MEM, (e) => [e.hvPage, 1, 0, 16], U.U_PERMISSION);
hv('UV_WRITE_MEM a writable region', UV.UV_WRITE_MEM, (e) => [e.hvPage, 2, 0, 16], U.U_SUCCESS);
hv('UV_SEND_SBE_COMMAND (no self-boot engine)', UV.UV_SEND_SBE_COMMAND, () => [0, 0xa801, 0], U.U_NOT_AVAILABLE);

const svmk = (id: string, nr: number, args: Case['args'], expect: number, more: Partial<Case> = {}) =>
  cases.push({ id: `${id}: ${Object.entries(U).find(([, v]) => v === expect)?.[0] ?? expect}`, who: 'svm-kernel', nr, args, expect, ...more });
svmk('UV_SHARE_PAGE no pages', UV.UV_SHARE_PAGE, () => [SHARE_GFN, 0], U.U_P3);
svmk('UV_SHARE_PAGE outside every slot', UV.UV_SHARE_PAGE, () => [1024, 1], U.U_P2);
svmk('UV_SHARE_PAGE a bounce buffer of the ultravisor', UV.UV_SHARE_PAGE, () => [255, 1], U.U_P2);
svmk('UV_SHARE_PAGE a free frame', UV.UV_SHARE_PAGE, () => [SHARE_GFN, 2], U.U_SUCCESS);
svmk('UV_SHARE_PAGE it again (no-op)', UV.UV_SHARE_PAGE, () => [SHARE_GFN, 1], U.U_SUCCESS);
svmk('UV_UNSHARE_PAGE no pages', UV.UV_UNSHARE_PAGE, () => [SHARE_GFN, 0], U.U_P3);
svmk('UV_UNSHARE_PAGE outside every slot', UV.UV_UNSHARE_PAGE, () => [1024, 1], U.U_P2);
svmk('UV_UNSHARE_PAGE one of them', UV.UV_UNSHARE_PAGE, () => [SHARE_GFN, 1], U.U_SUCCESS);
svmk('UV_UNSHARE_ALL_PAGES', UV.UV_UNSHARE_ALL_PAGES, () => [], U.U_SUCCESS);
svmk('UV_ESMB_GET_FILE a malformed name', UV.UV_ESMB_GET_FILE, () => [0, ...name('1bad')], U.U_P2);
svmk('UV_ESMB_GET_FILE a name not attached', UV.UV_ESMB_GET_FILE, () => [0, ...name('nofile')], U.U_P2);
cases.push({ id: 'UV_ESMB_GET_FILE from svm-kernel: 64 bytes', who: 'svm-kernel', nr: UV.UV_ESMB_GET_FILE, args: () => [0, ...name('rootd')], expect: 64,
  check: (r) => assert.deepEqual(r.slice(1, 9), packBytes(FILE.subarray(0, 64), 8)) });
cases.push({ id: 'UV_ESMB_GET_FILE from svm-user: the last 36 bytes', who: 'svm-user', nr: UV.UV_ESMB_GET_FILE, args: () => [64, ...name('rootd')], expect: 36,
  check: (r) => assert.deepEqual(r.slice(1, 9), packBytes(FILE.subarray(64), 8)) });
const fpCheck = (r: bigint[]) => assert.deepEqual(r.slice(1, 5), packBytes(fingerprintOfPem(testKey(0).pub), 4));
cases.push({ id: 'UV_SVM_KEY_FINGERPRINT from svm-kernel: the machine key', who: 'svm-kernel', nr: UV.UV_SVM_KEY_FINGERPRINT, expect: U.U_SUCCESS, check: fpCheck });
cases.push({ id: 'UV_SVM_KEY_FINGERPRINT from svm-user: the machine key', who: 'svm-user', nr: UV.UV_SVM_KEY_FINGERPRINT, expect: U.U_SUCCESS, check: fpCheck });
cases.push({ id: 'UV_ESM kbase 0: U_P2', who: 'vm-kernel', nr: UV.UV_ESM, args: () => [0, LAYOUT.fdt], expect: U.U_P2 });
cases.push({ id: 'UV_ESM fdt 0: U_P3', who: 'vm-kernel', nr: UV.UV_ESM, args: () => [LAYOUT.kbase, 0], expect: U.U_P3 });
cases.push({ id: 'UV_ESM_REASON before any UV_ESM: 0', who: 'vm-kernel', nr: UV.UV_ESM_REASON, expect: U.U_SUCCESS, check: (r) => assert.equal(r[1], 0n) });

const results = new Map<string, bigint[]>();

function* runCases(cpu: Cpu, who: Who, env: Env): Generator<Op, void, void> {
  for (const c of cases.filter((x) => x.who === who)) {
    if (c.tm) yield { op: 'mtmsrd', value: cpu.msr | MSR.TS0 };
    for (const [r, v] of Object.entries(c.regs ?? {})) cpu.regs.setGpr(Number(r), v);
    const r = yield* call(cpu, 2, c.nr, ...(c.args?.(env) ?? []));
    if (c.tm) yield { op: 'mtmsrd', value: cpu.msr & ~(MSR.TS0 | MSR.TS1) };
    results.set(c.id, r);
  }
}

const CASES_HCALL = 0xF0F0;

before(() => {
  const fw = { handle: 1, size: 4096 };
  // Group 1: a VM's kernel and user space, and the host's problem state.
  {
    const env = {} as Env;
    const r = makeRig({
      uv: { config: { firmwareMemory: [] } },
      guest: {
        *normal(g) { yield* runCases(g.cpu, 'vm-kernel', env); yield* toUser(g); },
        *user(g) { yield* runCases(g.cpu, 'vm-user', env); },
      },
    });
    r.run();
    assert.ok(r.log.includes('user program in problem'), r.log.join('\n'));
    const h = makeRig();
    h.hv.bootVm = undefined;
    h.hv.hooks.boot = function* (cpu) {
      cpu.mtspr(314, 0x2000n); // HSRR0: where the host program starts
      cpu.mtspr(315, MSR.SF | MSR.LE | MSR.ME | MSR.HV | MSR.PR);
      yield { op: 'hrfid' };
    };
    h.hv.hooks.hostUser = (cpu) => runCases(cpu, 'host-user', env);
    h.run();
  }
  // Group 2: an SVM's kernel and user space, and the hypervisor serving it.
  {
    const env = {} as Env;
    const r = makeRig({
      files: [{ name: 'rootd', data: FILE }],
      guest: {
        *secure(g) {
          yield* runCases(g.cpu, 'svm-kernel', env);
          yield* call(g.cpu, 1, CASES_HCALL);
          yield* toUser(g);
        },
        *user(g) { yield* runCases(g.cpu, 'svm-user', env); },
      },
    });
    const top = r.m.normalRanges()[0]!;
    env.fwRa = top.start + top.size - 65536;
    (r.uv.config as { firmwareMemory?: unknown }).firmwareMemory = [
      { handle: fw.handle, ra: env.fwRa, size: fw.size, writable: false }, { handle: 2, ra: env.fwRa + 8192, size: 4096, writable: true },
    ];
    env.hvPage = r.hv.allocFrame();
    env.secureRa = r.m.secureRanges()[0]!.start + 0x100000;
    r.hv.hooks.hcall = function* (c) {
      if (c.nr !== CASES_HCALL) return undefined;
      yield* runCases(c.cpu, 'hv', env);
      return { rc: 0 };
    };
    r.run();
    assert.equal(r.out.secure, true, r.log.join('\n'));
    assert.ok(r.log.includes('user program in secure-problem'), r.log.join('\n'));
  }
});

describe('ultracall x caller x error case', () => {
  for (const c of cases) {
    test(c.id, () => {
      const r = results.get(c.id);
      assert.ok(r, 'the call was made');
      assert.equal(rcOf(r[0]!), c.expect);
      c.check?.(r, {} as Env);
    });
  }
});

test('every row of the ABI table is covered by a permission, a TM and a positive or argument case', () => {
  for (const d of ULTRACALLS) {
    assert.ok(cases.some((c) => c.nr === d.number && c.expect === U.U_BAD_MODE), d.name);
    if (d.caller !== 'hv') assert.ok(cases.some((c) => c.nr === d.number && c.who === 'hv' && c.expect === U.U_PERMISSION), d.name);
  }
});

test('UV_ESM for a partition that already has an SVM record: U_RETRY', () => {
  const r = makeRig({
    tamper: 'kernel',
    guest: {
      *normal(g) {
        g.out.first = rcOf((yield* call(g.cpu, 2, UV.UV_ESM, g.kbase, g.fdt))[0]!);
        g.out.again = rcOf((yield* call(g.cpu, 2, UV.UV_ESM, g.kbase, g.fdt))[0]!);
        yield { op: 'stop', reason: 'done' };
      },
    },
  });
  // A hypervisor that fails the VM's UV_ESM without UV_SVM_TERMINATE: the aborted record stays.
  // An aborting SVM gives its slots back (the control for the U_STATE refusal while secure).
  let unreg: number | undefined;
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HC.H_SVM_INIT_ABORT) return undefined;
    unreg = rcOf((yield* call(c.cpu, 2, UV.UV_UNREGISTER_MEM_SLOT, LPID, 0))[0]!);
    return { rc: -4 };
  };
  r.run();
  assert.equal(r.out.first, -4);
  assert.equal(r.out.again, U.U_RETRY);
  assert.equal(unreg, U.U_SUCCESS);
});
