// Interrupt vectors: offset, name, which save/restore pair the hardware fills and whether
// the interrupt is directed to the hypervisor (PEF routes those to the ultravisor when MSR[S]=1).

export type InterruptClass = 'os' | 'hv' | 'machine';

export interface VectorDef { vector: number; name: string; cls: InterruptClass; desc: string }

export const VECTORS: readonly VectorDef[] = [
  { vector: 0x100, name: 'SRESET', cls: 'machine', desc: 'system reset' },
  { vector: 0x200, name: 'MCE', cls: 'machine', desc: 'machine check (also: refused secure-memory access)' },
  { vector: 0x300, name: 'DSI', cls: 'os', desc: 'data storage' },
  { vector: 0x380, name: 'DSEGI', cls: 'os', desc: 'data segment' },
  { vector: 0x400, name: 'ISI', cls: 'os', desc: 'instruction storage' },
  { vector: 0x480, name: 'ISEGI', cls: 'os', desc: 'instruction segment' },
  { vector: 0x500, name: 'EXT', cls: 'hv', desc: 'external (LPES=0: to the hypervisor)' },
  { vector: 0x600, name: 'ALIGN', cls: 'os', desc: 'alignment' },
  { vector: 0x700, name: 'PROGRAM', cls: 'os', desc: 'program (illegal, privileged, trap)' },
  { vector: 0x800, name: 'FPU', cls: 'os', desc: 'floating-point unavailable' },
  { vector: 0x900, name: 'DEC', cls: 'os', desc: 'decrementer' },
  { vector: 0x980, name: 'HDEC', cls: 'hv', desc: 'hypervisor decrementer' },
  { vector: 0xA00, name: 'DOORBELL', cls: 'os', desc: 'directed privileged doorbell' },
  { vector: 0xC00, name: 'SC', cls: 'os', desc: 'system call (level in SRR1; sc 1 to the hypervisor, sc 2 to the ultravisor)' },
  { vector: 0xD00, name: 'TRACE', cls: 'os', desc: 'trace' },
  { vector: 0xE00, name: 'HDSI', cls: 'hv', desc: 'hypervisor data storage' },
  { vector: 0xE20, name: 'HISI', cls: 'hv', desc: 'hypervisor instruction storage' },
  { vector: 0xE40, name: 'HEAI', cls: 'hv', desc: 'hypervisor emulation assistance' },
  { vector: 0xE60, name: 'HMI', cls: 'hv', desc: 'hypervisor maintenance' },
  { vector: 0xE80, name: 'HDOORBELL', cls: 'hv', desc: 'directed hypervisor doorbell' },
  { vector: 0xEA0, name: 'HVIRT', cls: 'hv', desc: 'hypervisor virtualization' },
  { vector: 0xF00, name: 'PERFMON', cls: 'os', desc: 'performance monitor' },
  { vector: 0xF20, name: 'VMX', cls: 'os', desc: 'vector unavailable' },
  { vector: 0xF40, name: 'VSXU', cls: 'os', desc: 'VSX unavailable' },
  { vector: 0xF60, name: 'FAC', cls: 'os', desc: 'facility unavailable' },
  { vector: 0xF80, name: 'HFAC', cls: 'hv', desc: 'hypervisor facility unavailable (TM in an SVM)' },
];

export const VECTOR_BY_NUM: ReadonlyMap<number, VectorDef> = new Map(VECTORS.map((v) => [v.vector, v]));

export const VEC = Object.freeze(Object.fromEntries(VECTORS.map((v) => [v.name, v.vector]))) as Readonly<Record<string, number>>;

export function isValidVector(v: number): boolean { return VECTOR_BY_NUM.has(v); }
