// Special-purpose registers: number, name and the lowest privilege that may read and write
// each. The CPU's mtspr/mfspr checks, the tests and docs/abi.md all come from this table.

/** Lowest privilege allowed: problem state, privileged (guest OS), hypervisor, ultravisor, or nobody. */
export type SprPriv = 'user' | 'priv' | 'hv' | 'uv' | 'none';

export interface SprDef {
  num: number;
  name: string;
  read: SprPriv;
  write: SprPriv;
  /** With this SMFCTRL bit set, 'hv' access (read and/or write) becomes ultravisor-only. */
  uvWhen?: { bit: 'E' | 'D'; read: boolean; write: boolean };
  desc: string;
}

export const SPRS: readonly SprDef[] = [
  { num: 1, name: 'XER', read: 'user', write: 'user', desc: 'fixed-point exception register' },
  { num: 8, name: 'LR', read: 'user', write: 'user', desc: 'link register' },
  { num: 9, name: 'CTR', read: 'user', write: 'user', desc: 'count register' },
  { num: 17, name: 'DSCR', read: 'priv', write: 'priv', desc: 'data stream control' },
  { num: 18, name: 'DSISR', read: 'priv', write: 'priv', desc: 'data storage interrupt status' },
  { num: 19, name: 'DAR', read: 'priv', write: 'priv', desc: 'data address register' },
  { num: 22, name: 'DEC', read: 'priv', write: 'priv', desc: 'decrementer' },
  { num: 26, name: 'SRR0', read: 'priv', write: 'priv', desc: 'save/restore 0' },
  { num: 27, name: 'SRR1', read: 'priv', write: 'priv', desc: 'save/restore 1' },
  { num: 28, name: 'CFAR', read: 'priv', write: 'priv', desc: 'come-from address' },
  { num: 29, name: 'AMR', read: 'priv', write: 'priv', desc: 'authority mask' },
  { num: 48, name: 'PIDR', read: 'priv', write: 'priv', desc: 'process id' },
  { num: 61, name: 'IAMR', read: 'priv', write: 'priv', desc: 'instruction authority mask' },
  { num: 153, name: 'FSCR', read: 'priv', write: 'priv', desc: 'facility status and control' },
  { num: 157, name: 'UAMOR', read: 'priv', write: 'priv', desc: 'user authority mask override' },
  { num: 176, name: 'DPDES', read: 'hv', write: 'hv', desc: 'directed privileged doorbell state' },
  { num: 180, name: 'DAWR0', read: 'hv', write: 'hv', uvWhen: { bit: 'D', read: true, write: true }, desc: 'data address watchpoint' },
  { num: 187, name: 'CIABR', read: 'hv', write: 'hv', uvWhen: { bit: 'D', read: true, write: true }, desc: 'completed instruction address breakpoint' },
  { num: 188, name: 'DAWRX0', read: 'hv', write: 'hv', uvWhen: { bit: 'D', read: true, write: true }, desc: 'data address watchpoint extension' },
  { num: 190, name: 'HFSCR', read: 'hv', write: 'hv', desc: 'hypervisor facility status and control' },
  { num: 256, name: 'VRSAVE', read: 'user', write: 'user', desc: 'VR save' },
  { num: 259, name: 'SPRG3U', read: 'user', write: 'none', desc: 'SPRG3, user read-only alias' },
  { num: 268, name: 'TB', read: 'user', write: 'none', desc: 'time base (read)' },
  { num: 269, name: 'TBU', read: 'user', write: 'none', desc: 'time base upper (read)' },
  { num: 272, name: 'SPRG0', read: 'priv', write: 'priv', desc: 'OS scratch 0' },
  { num: 273, name: 'SPRG1', read: 'priv', write: 'priv', desc: 'OS scratch 1' },
  { num: 274, name: 'SPRG2', read: 'priv', write: 'priv', desc: 'OS scratch 2' },
  { num: 275, name: 'SPRG3', read: 'priv', write: 'priv', desc: 'OS scratch 3' },
  { num: 284, name: 'TBL_W', read: 'none', write: 'hv', desc: 'time base lower (write)' },
  { num: 285, name: 'TBU_W', read: 'none', write: 'hv', desc: 'time base upper (write)' },
  { num: 287, name: 'PVR', read: 'priv', write: 'none', desc: 'processor version' },
  { num: 304, name: 'HSPRG0', read: 'hv', write: 'hv', desc: 'hypervisor scratch 0' },
  { num: 305, name: 'HSPRG1', read: 'hv', write: 'hv', desc: 'hypervisor scratch 1' },
  { num: 306, name: 'HDSISR', read: 'hv', write: 'hv', desc: 'hypervisor DSI status' },
  { num: 307, name: 'HDAR', read: 'hv', write: 'hv', desc: 'hypervisor data address' },
  { num: 310, name: 'HDEC', read: 'hv', write: 'hv', desc: 'hypervisor decrementer' },
  { num: 313, name: 'HRMOR', read: 'hv', write: 'hv', desc: 'hypervisor real mode offset' },
  { num: 314, name: 'HSRR0', read: 'hv', write: 'hv', desc: 'hypervisor save/restore 0' },
  { num: 315, name: 'HSRR1', read: 'hv', write: 'hv', desc: 'hypervisor save/restore 1' },
  { num: 318, name: 'LPCR', read: 'hv', write: 'hv', desc: 'logical partition control' },
  { num: 319, name: 'LPIDR', read: 'hv', write: 'hv', desc: 'logical partition id' },
  { num: 336, name: 'HMER', read: 'hv', write: 'hv', desc: 'hypervisor maintenance exception' },
  { num: 338, name: 'PCR', read: 'hv', write: 'hv', desc: 'processor compatibility' },
  { num: 339, name: 'HEIR', read: 'hv', write: 'hv', desc: 'hypervisor emulated instruction' },
  { num: 349, name: 'AMOR', read: 'hv', write: 'hv', desc: 'authority mask override' },
  { num: 464, name: 'PTCR', read: 'hv', write: 'hv', uvWhen: { bit: 'E', read: false, write: true }, desc: 'partition table control' },
  { num: 496, name: 'USPRG0', read: 'uv', write: 'uv', desc: 'ultravisor scratch 0' },
  { num: 497, name: 'USPRG1', read: 'uv', write: 'uv', desc: 'ultravisor scratch 1' },
  { num: 505, name: 'URMOR', read: 'uv', write: 'uv', desc: 'ultravisor real mode offset' },
  { num: 506, name: 'USRR0', read: 'uv', write: 'uv', desc: 'ultravisor save/restore 0' },
  { num: 507, name: 'USRR1', read: 'uv', write: 'uv', desc: 'ultravisor save/restore 1' },
  { num: 511, name: 'SMFCTRL', read: 'uv', write: 'uv', desc: 'secure memory facility control (E, D)' },
  { num: 799, name: 'IMC', read: 'hv', write: 'hv', uvWhen: { bit: 'E', read: false, write: true }, desc: 'in-memory collection counters' },
  { num: 816, name: 'ASDR', read: 'hv', write: 'hv', desc: 'access segment descriptor' },
  { num: 850, name: 'LDBAR', read: 'hv', write: 'hv', uvWhen: { bit: 'E', read: false, write: true }, desc: 'IMC LDBAR' },
  { num: 1023, name: 'PIR', read: 'priv', write: 'none', desc: 'processor id' },
];

export const SPR_BY_NUM: ReadonlyMap<number, SprDef> = new Map(SPRS.map((s) => [s.num, s]));
export const SPR_BY_NAME: ReadonlyMap<string, SprDef> = new Map(SPRS.map((s) => [s.name, s]));

export const SPR: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(SPRS.map((s) => [s.name, s.num])));

export function sprNum(name: string): number {
  const d = SPR_BY_NAME.get(name);
  if (!d) throw new Error(`no SPR named ${name}`);
  return d.num;
}

/** SMFCTRL bits (ISA bit 0 = E, bit 1 = D). */
export const SMFCTRL_E = 1n << 63n;
export const SMFCTRL_D = 1n << 62n;

/** SPRs the ultravisor saves and masks when reflecting an SVM's interrupt to the hypervisor. */
export const REFLECT_MASKED_SPRS: readonly string[] = [
  'DSCR', 'DSISR', 'DAR', 'SRR0', 'SRR1', 'CFAR', 'AMR', 'PIDR', 'IAMR', 'FSCR', 'UAMOR',
  'VRSAVE', 'SPRG0', 'SPRG1', 'SPRG2', 'SPRG3', 'DEC', 'XER', 'LR', 'CTR', 'HDAR', 'HDSISR',
  'ASDR', 'HEIR', 'DAWR0', 'DAWRX0', 'CIABR', 'AMOR', 'TB',
];
