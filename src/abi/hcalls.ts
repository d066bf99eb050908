// Hypercalls: `sc 1` with R3 = number. inRegs and outRegs count R3, so H_RANDOM (no
// arguments, one value back in R4) is in 1, out 2. The ultravisor's reflection passes exactly
// inRegs registers to the hypervisor and copies back exactly outRegs on UV_RETURN.

/** guest: a VM's kernel calls it; uv: the ultravisor calls it for a VM it is making secure. */
export type HcallSource = 'guest' | 'uv';

export interface HcallDef {
  name: string;
  number: number;
  inRegs: number;
  outRegs: number;
  source: HcallSource;
  args: readonly string[];
  desc: string;
}

export const HCALLS: readonly HcallDef[] = [
  { name: 'H_GET_TERM_CHAR', number: 0x54, inRegs: 2, outRegs: 4, source: 'guest', args: ['termno'], desc: 'read up to 16 console bytes (R4 = count, R5..R6 = bytes)' },
  { name: 'H_PUT_TERM_CHAR', number: 0x58, inRegs: 5, outRegs: 1, source: 'guest', args: ['termno', 'len', 'chars0_7', 'chars8_15'], desc: 'write up to 16 console bytes' },
  { name: 'H_LOGICAL_CI_LOAD', number: 0x3C, inRegs: 3, outRegs: 2, source: 'guest', args: ['size', 'addr'], desc: 'cache-inhibited load (MMIO); value in R4' },
  { name: 'H_LOGICAL_CI_STORE', number: 0x40, inRegs: 4, outRegs: 1, source: 'guest', args: ['size', 'addr', 'value'], desc: 'cache-inhibited store (MMIO)' },
  { name: 'H_REGISTER_VPA', number: 0xDC, inRegs: 4, outRegs: 1, source: 'guest', args: ['flags', 'cpu', 'addr'], desc: 'register the virtual processor area' },
  { name: 'H_CEDE', number: 0xE0, inRegs: 1, outRegs: 1, source: 'guest', args: [], desc: 'give up the processor until an interrupt' },
  { name: 'H_CONFER', number: 0xE4, inRegs: 3, outRegs: 1, source: 'guest', args: ['proc', 'dispatch'], desc: 'give the rest of the time slice to another vCPU (voluntary preemption)' },
  { name: 'H_RANDOM', number: 0x300, inRegs: 1, outRegs: 2, source: 'guest', args: [], desc: '64 random bits in R4 (the ultravisor answers it for an SVM)' },
  { name: 'H_RTAS', number: 0xF000, inRegs: 2, outRegs: 1, source: 'guest', args: ['rtas_args'], desc: 'RTAS call (display-character, get-time-of-day, start-cpu, power-off, system-reboot, ibm,os-term)' },
  { name: 'H_SVM_PAGE_IN', number: 0xEF00, inRegs: 4, outRegs: 1, source: 'uv', args: ['gpa', 'flags', 'shift'], desc: 'the ultravisor asks for a page' },
  { name: 'H_SVM_PAGE_OUT', number: 0xEF04, inRegs: 4, outRegs: 1, source: 'uv', args: ['gpa', 'flags', 'shift'], desc: 'the ultravisor gives a page back (overcommit)' },
  { name: 'H_SVM_INIT_START', number: 0xEF08, inRegs: 1, outRegs: 1, source: 'uv', args: [], desc: 'a VM begins its transition to secure' },
  { name: 'H_SVM_INIT_DONE', number: 0xEF0C, inRegs: 1, outRegs: 1, source: 'uv', args: [], desc: 'the transition is done: migrate every remaining page' },
  { name: 'H_SVM_TPM_COMM', number: 0xEF10, inRegs: 6, outRegs: 2, source: 'uv', args: ['op', 'cmd_gpa', 'cmd_len', 'rsp_gpa', 'rsp_max'], desc: 'relay a TPM command (op 1 execute, 2 close); R4 = response length' },
  { name: 'H_SVM_INIT_ABORT', number: 0xEF14, inRegs: 1, outRegs: 1, source: 'uv', args: [], desc: 'the transition failed: page everything back out' },
];

export const HCALL_BY_NUM: ReadonlyMap<number, HcallDef> = new Map(HCALLS.map((h) => [h.number, h]));

export const HC = Object.freeze(Object.fromEntries(HCALLS.map((h) => [h.name, h.number]))) as Readonly<Record<
  'H_GET_TERM_CHAR' | 'H_PUT_TERM_CHAR' | 'H_LOGICAL_CI_LOAD' | 'H_LOGICAL_CI_STORE' | 'H_REGISTER_VPA' |
  'H_CEDE' | 'H_CONFER' | 'H_RANDOM' | 'H_RTAS' | 'H_SVM_PAGE_IN' | 'H_SVM_PAGE_OUT' | 'H_SVM_INIT_START' |
  'H_SVM_INIT_DONE' | 'H_SVM_TPM_COMM' | 'H_SVM_INIT_ABORT', number>>;

/** Unknown hypercalls are reflected conservatively: every argument register in, R3 alone out. */
export const UNKNOWN_HCALL = { inRegs: 10, outRegs: 1 } as const;

/** The secure-guest capability (KVM_CAP_PPC_SECURE_GUEST). */
export const KVM_CAP_PPC_SECURE_GUEST = 181;
