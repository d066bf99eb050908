// The hypercalls the hypervisor serves, for normal VMs and (reflected by the ultravisor, with
// only their declared registers) for SVMs: console, RTAS, VPA, cede, random, device registers,
// the H_SVM_* calls of the secure transition and the TPM relay.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { HC } from '../abi/hcalls.js';
import { H } from '../abi/retcodes.js';
import { TPM_COMM_CLOSE, TPM_COMM_EXECUTE } from '../abi/pages.js';
import type { Hypervisor } from './kvm.js';
import type { Vcpu, Vm } from './vm.js';
import { OutOfFrames } from './frames.js';
import { decodeRtasArgs, encodeRets, RTAS_HARDWARE_ERROR, RTAS_PARAMETER_ERROR, RTAS_SUCCESS, RTAS_TOKENS } from './rtas.js';
import { hSvmInitAbort, hSvmInitDone, hSvmInitStart, hSvmPageIn, hSvmPageOut } from './uvmem.js';

/** PAPR's H_CONFER: give the rest of this time slice to another vCPU. */
export const H_CONFER = HC.H_CONFER;

export type HcallOutcome =
  | { kind: 'return'; rc: number; out?: bigint[] }
  | { kind: 'cede' }
  /** The vCPU stays runnable but lets the others run first. */
  | { kind: 'confer' }
  /** The VM stopped (power-off, os-term): nothing to return to. */
  | { kind: 'stopped' };

const ret = (rc: number, out?: bigint[]): HcallOutcome => (out ? { kind: 'return', rc, out } : { kind: 'return', rc });

/** H_REGISTER_VPA subfunctions (R4 bits 16:18, IBM numbering). */
const VPA_FUNC_SHIFT = 45n;
const VPA_REGISTER = 1n;
const VPA_DEREGISTER = 5n;
/** lppaca: the eye catcher, the size field, the yield count the hypervisor bumps at each dispatch and preemption. */
const LPPACA_MIN_SIZE = 640;
const LPPACA_YIELD_COUNT = 0x100;
/** TPM 2.0 commands are at most 4 KiB (TPM2_MAX_COMMAND_SIZE). */
const TPM_MAX = 4096;

/** Read guest memory the hypervisor may see in plaintext (a normal VM's, or an SVM's shared pages). */
export function readGuest(hv: Hypervisor, vm: Vm, gpa: number, len: number): Uint8Array | undefined {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = gpa + done;
    const off = a % FRAME_SIZE;
    const n = Math.min(len - done, FRAME_SIZE - off);
    const f = vm.hostFrame(a);
    if (f === undefined) return undefined;
    out.set(hv.machine.host.read(f + off, n), done);
    done += n;
  }
  return out;
}

export function writeGuest(hv: Hypervisor, vm: Vm, gpa: number, data: Uint8Array): boolean {
  let done = 0;
  while (done < data.length) {
    const a = gpa + done;
    const off = a % FRAME_SIZE;
    const n = Math.min(data.length - done, FRAME_SIZE - off);
    const f = vm.hostFrame(a);
    if (f === undefined) return false;
    hv.machine.host.write(f + off, data.subarray(done, done + n));
    done += n;
  }
  return true;
}

export function* guestHcall(hv: Hypervisor, cpu: Cpu, v: Vcpu, num: number): Generator<Op, HcallOutcome, void> {
  const r = (n: number) => cpu.regs.getGpr(n);
  const rn = (n: number) => Number(BigInt.asUintN(53, cpu.regs.getGpr(n)));
  try {
    switch (num) {
      case HC.H_PUT_TERM_CHAR: return putTermChar(hv, v.vm, r(4), r(5), r(6), r(7));
      case HC.H_GET_TERM_CHAR: return ret(H.H_SUCCESS, [0n, 0n, 0n]);
      case HC.H_RANDOM: return ret(H.H_SUCCESS, [cpu.darn()]);
      case HC.H_REGISTER_VPA: return registerVpa(hv, v, r(4), rn(5), rn(6));
      case HC.H_CEDE: return { kind: 'cede' };
      case H_CONFER: return { kind: 'confer' };
      case HC.H_RTAS: return rtas(hv, v.vm, rn(4));
      case HC.H_LOGICAL_CI_LOAD: return ciLoad(hv, v.vm, rn(4), rn(5));
      case HC.H_LOGICAL_CI_STORE: return ciStore(hv, v.vm, rn(4), rn(5), r(6));
      case HC.H_SVM_INIT_START: return yield* hSvmInitStart(hv, cpu, v);
      case HC.H_SVM_INIT_DONE: return yield* hSvmInitDone(hv, cpu, v);
      case HC.H_SVM_INIT_ABORT: return yield* hSvmInitAbort(hv, cpu, v);
      case HC.H_SVM_PAGE_IN: return yield* hSvmPageIn(hv, cpu, v, rn(4), rn(5), rn(6));
      case HC.H_SVM_PAGE_OUT: return yield* hSvmPageOut(hv, cpu, v, rn(4), rn(5), rn(6));
      case HC.H_SVM_TPM_COMM: return yield* tpmComm(hv, cpu, v, rn(4), rn(5), rn(6), rn(7), rn(8));
      default: return ret(H.H_FUNCTION);
    }
  } catch (e) {
    if (e instanceof OutOfFrames) { hv.trace({ kind: 'hv-oom', vm: v.vm.name, what: e.message }); return ret(H.H_NO_MEM); }
    throw e;
  }
}

function putTermChar(hv: Hypervisor, vm: Vm, termno: bigint, len: bigint, c0: bigint, c1: bigint): HcallOutcome {
  if (termno !== 0n) return ret(H.H_PARAMETER);
  if (len > 16n) return ret(H.H_PARAMETER);
  // Bytes are packed big-endian in R6 and R7, as Linux's hvc_put_chars does.
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, c0);
  dv.setBigUint64(8, c1);
  hv.consoleWrite(vm, b.subarray(0, Number(len)));
  return ret(H.H_SUCCESS);
}

function registerVpa(hv: Hypervisor, v: Vcpu, flags: bigint, target: number, addr: number): HcallOutcome {
  const fn = (flags >> VPA_FUNC_SHIFT) & 7n;
  const t = v.vm.vcpus[target];
  if (!t) return ret(H.H_PARAMETER);
  if (fn === VPA_DEREGISTER) { t.vpa = undefined; return ret(H.H_SUCCESS); }
  if (fn !== VPA_REGISTER) return ret(H.H_PARAMETER);
  // The VPA must be guest memory the hypervisor can read: an SVM has to share it first.
  const head = readGuest(hv, v.vm, addr, 8);
  if (!head) return ret(H.H_PARAMETER);
  const size = (head[4]! << 8) | head[5]!;
  // PAPR: at least 640 bytes, not crossing a 4 KiB boundary.
  if (size < LPPACA_MIN_SIZE || (addr % 4096) + size > 4096) return ret(H.H_PARAMETER);
  t.vpa = addr;
  hv.trace({ kind: 'vpa', vm: v.vm.name, vcpu: target, gpa: '0x' + addr.toString(16) });
  return ret(H.H_SUCCESS);
}

/** Dispatch and preemption bump the VPA's yield count (odd while the vCPU is not running), as KVM does. */
export function bumpYieldCount(hv: Hypervisor, v: Vcpu): void {
  if (v.vpa === undefined) return;
  const at = v.vpa + LPPACA_YIELD_COUNT;
  const b = readGuest(hv, v.vm, at, 4);
  if (!b) { v.vpa = undefined; return; }
  const dv = new DataView(b.buffer);
  dv.setUint32(0, (dv.getUint32(0) + 1) >>> 0);
  writeGuest(hv, v.vm, at, b);
}

function rtas(hv: Hypervisor, vm: Vm, argsGpa: number): HcallOutcome {
  const raw = readGuest(hv, vm, argsGpa, 12 + 4 * 16);
  if (!raw) return ret(H.H_PARAMETER);
  const call = decodeRtasArgs(raw);
  if (typeof call === 'string') return ret(H.H_PARAMETER);
  const retsAt = argsGpa + 12 + 4 * call.args.length;
  const reply = (rets: number[]) => { writeGuest(hv, vm, retsAt, encodeRets(rets.slice(0, call.nret))); return ret(H.H_SUCCESS); };
  hv.trace({ kind: 'rtas', vm: vm.name, lpid: vm.lpid, call: call.name ?? `token 0x${call.token.toString(16)}`, args: call.args });
  switch (call.token) {
    case RTAS_TOKENS['power-off']:
      hv.stopVm(vm, { kind: 'power-off' });
      return { kind: 'stopped' };
    case RTAS_TOKENS['system-reboot']:
      hv.request(vm, 'reset');
      reply([RTAS_SUCCESS]);
      return { kind: 'cede' };
    case RTAS_TOKENS['ibm,os-term']: {
      const text = readGuest(hv, vm, call.args[0] ?? 0, 1024);
      const msg = text ? Buffer.from(text.subarray(0, text.indexOf(0) >= 0 ? text.indexOf(0) : text.length)).toString('utf8') : '(message not readable)';
      hv.stopVm(vm, { kind: 'os-term', message: msg });
      return { kind: 'stopped' };
    }
    case RTAS_TOKENS['display-character']:
      hv.consoleWrite(vm, Uint8Array.of((call.args[0] ?? 0) & 0xff));
      return reply([RTAS_SUCCESS]);
    case RTAS_TOKENS['start-cpu']: {
      // (cpu, start address, r3) -> status. A secure VM's start address is the ultravisor's cookie.
      const [id, start, r3] = call.args;
      const t = id === undefined ? undefined : vm.vcpus[id];
      if (call.args.length !== 3 || !t || t.state !== 'stopped') return reply([RTAS_PARAMETER_ERROR]);
      hv.startVcpu(t, start!, r3!);
      return reply([RTAS_SUCCESS]);
    }
    case RTAS_TOKENS['get-time-of-day']: {
      const d = new Date();
      return reply([RTAS_SUCCESS, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds() * 1e6]);
    }
    default:
      return reply([call.nret > 0 ? RTAS_HARDWARE_ERROR : RTAS_PARAMETER_ERROR]);
  }
}

const CI_SIZES = new Set([1, 2, 4, 8]);

function ciLoad(hv: Hypervisor, vm: Vm, size: number, addr: number): HcallOutcome {
  const d = hv.mmioDevice(vm, addr);
  if (!CI_SIZES.has(size) || !d || addr % size !== 0) return ret(H.H_PARAMETER);
  return ret(H.H_SUCCESS, [d.read(addr - d.base, size)]);
}

function ciStore(hv: Hypervisor, vm: Vm, size: number, addr: number, value: bigint): HcallOutcome {
  const d = hv.mmioDevice(vm, addr);
  if (!CI_SIZES.has(size) || !d || addr % size !== 0) return ret(H.H_PARAMETER);
  d.write(addr - d.base, size, value);
  return ret(H.H_SUCCESS);
}

/** Relay a TPM command for the ultravisor, through the shared bounce page it names. */
function* tpmComm(hv: Hypervisor, cpu: Cpu, v: Vcpu, op: number, cmdGpa: number, cmdLen: number, rspGpa: number, rspMax: number): Generator<Op, HcallOutcome, void> {
  if (!v.viaUltravisor) return ret(H.H_UNSUPPORTED);
  const tpm = hv.opts.tpm;
  if (!tpm) return ret(H.H_NOT_AVAILABLE);
  if (op === TPM_COMM_CLOSE) { yield* hv.awaitAsync(cpu, tpm.close?.()); return ret(H.H_SUCCESS); }
  if (op !== TPM_COMM_EXECUTE) return ret(H.H_PARAMETER);
  if (cmdLen < 10 || cmdLen > TPM_MAX) return ret(H.H_P3);
  const cmd = readGuest(hv, v.vm, cmdGpa, cmdLen);
  if (!cmd) return ret(H.H_P2);
  let rsp: Uint8Array;
  try {
    rsp = yield* hv.awaitAsync(cpu, tpm.transmit(cmd));
  } catch (e) {
    hv.trace({ kind: 'tpm-error', vm: v.vm.name, error: e instanceof Error ? e.message : String(e) });
    return ret(H.H_HARDWARE);
  }
  if (rsp.length > rspMax) return ret(H.H_P5);
  if (!writeGuest(hv, v.vm, rspGpa, rsp)) return ret(H.H_P4);
  return ret(H.H_SUCCESS, [BigInt(rsp.length)]);
}
