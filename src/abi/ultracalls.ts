// Ultracalls: `sc 2` with R3 = number, R4.. = arguments; R3 = status and R4.. = outputs on
// return. The ultravisor's dispatcher, the generated caller x error tests and docs/abi.md all
// read this one table.

/**
 * Who may issue the call (PEF.md section 4):
 * - hv: the hypervisor (HV=1, PR=0, S=0)
 * - vm-kernel: a VM's kernel not yet secure (S=0, HV=0, PR=0, LPIDR != 0)
 * - svm-kernel: an SVM's kernel (S=1, HV=0, PR=0)
 * - svm: anything running in an SVM, kernel or user space (S=1, HV=0)
 */
export type UcallCaller = 'hv' | 'vm-kernel' | 'svm-kernel' | 'svm';

export interface UcallDef {
  name: string;
  number: number;
  caller: UcallCaller;
  args: readonly string[];
  outputs: readonly string[];
  /** Numbered outside IBM's range: this project's own addition. */
  extension?: boolean;
  notes: string;
}

export const ULTRACALLS: readonly UcallDef[] = [
  { name: 'UV_WRITE_PATE', number: 0xF104, caller: 'hv', args: ['lpid', 'dw0', 'dw1'], outputs: [], notes: 'set a partition-table entry; an SVM\'s entry stays the ultravisor\'s' },
  { name: 'UV_RESTRICTED_SPR_WRITE', number: 0xF108, caller: 'hv', args: ['spr', 'value'], outputs: [], notes: 'only DAWR0, DAWRX0, CIABR, LDBAR, IMC; others U_PARAMETER' },
  { name: 'UV_RESTRICTED_SPR_READ', number: 0xF10C, caller: 'hv', args: ['spr'], outputs: ['pad', 'value'], notes: 'value in R5' },
  { name: 'UV_ESM', number: 0xF110, caller: 'vm-kernel', args: ['kbase', 'fdt'], outputs: [], notes: 'enter secure mode; never returns on success' },
  { name: 'UV_READ_SCOM', number: 0xF114, caller: 'hv', args: ['chip', 'address'], outputs: ['value'], notes: 'checked against a black/white list' },
  { name: 'UV_WRITE_SCOM', number: 0xF118, caller: 'hv', args: ['chip', 'address', 'value'], outputs: [], notes: 'same list' },
  { name: 'UV_RETURN', number: 0xF11C, caller: 'hv', args: [], outputs: [], notes: 'R0 = hcall status, R2 = SRR1 of an injected interrupt, R31 = cookie' },
  { name: 'UV_REGISTER_MEM_SLOT', number: 0xF120, caller: 'hv', args: ['lpid', 'start_gpa', 'size', 'flags', 'slotid'], outputs: [], notes: '64 KiB aligned, no overlap, slotid < 512' },
  { name: 'UV_UNREGISTER_MEM_SLOT', number: 0xF124, caller: 'hv', args: ['lpid', 'slotid'], outputs: [], notes: 'U_STATE unless the SVM is aborting (no hot-unplug of secure memory)' },
  { name: 'UV_PAGE_IN', number: 0xF128, caller: 'hv', args: ['lpid', 'hv_page_ra', 'gpa', 'flags', 'shift'], outputs: [], notes: 'shift must be 16' },
  { name: 'UV_PAGE_OUT', number: 0xF12C, caller: 'hv', args: ['lpid', 'hv_page_ra', 'gpa', 'flags', 'shift'], outputs: [], notes: 'encrypts a secure page into the hypervisor page' },
  { name: 'UV_SHARE_PAGE', number: 0xF130, caller: 'svm-kernel', args: ['gfn', 'npages'], outputs: [], notes: 'zeroed when shared' },
  { name: 'UV_UNSHARE_PAGE', number: 0xF134, caller: 'svm-kernel', args: ['gfn', 'npages'], outputs: [], notes: 'zeroed when unshared' },
  { name: 'UV_PAGE_INVAL', number: 0xF138, caller: 'hv', args: ['lpid', 'gpa', 'shift'], outputs: [], notes: 'shared pages only' },
  { name: 'UV_SVM_TERMINATE', number: 0xF13C, caller: 'hv', args: ['lpid'], outputs: [], notes: 'zero and release every secure page, forget the SVM' },
  { name: 'UV_UNSHARE_ALL_PAGES', number: 0xF140, caller: 'svm-kernel', args: [], outputs: [], notes: 'explicit shares only (before kexec)' },
  { name: 'UV_READ_MEM', number: 0xF144, caller: 'hv', args: ['buffer', 'handle', 'offset', 'size'], outputs: [], notes: 'whitelisted firmware memory' },
  { name: 'UV_WRITE_MEM', number: 0xF148, caller: 'hv', args: ['buffer', 'handle', 'offset', 'size'], outputs: [], notes: 'whitelisted firmware memory' },
  { name: 'UV_ESMB_GET_FILE', number: 0xF14C, caller: 'svm', args: ['offset', 'name0', 'name1', 'name2', 'name3'], outputs: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'], notes: 'up to 64 bytes of an attached file; R3 = byte count' },
  { name: 'UV_SEND_SBE_COMMAND', number: 0xF150, caller: 'hv', args: ['chip', 'opcode', 'input'], outputs: [], notes: 'self-boot engine command' },
  { name: 'UV_SVM_KEY_FINGERPRINT', number: 0xF200, caller: 'svm', args: [], outputs: ['fp0', 'fp1', 'fp2', 'fp3'], extension: true, notes: 'SHA-256 fingerprint of the machine key whose lockbox was opened (32 bytes, big-endian in R4..R7)' },
  { name: 'UV_ESM_REASON', number: 0xF204, caller: 'vm-kernel', args: [], outputs: ['reason'], extension: true, notes: 'why this partition\'s last UV_ESM failed (a code of the ESM reason table); 0 if it did not' },
];

export const UCALL_BY_NUM: ReadonlyMap<number, UcallDef> = new Map(ULTRACALLS.map((u) => [u.number, u]));

export const UV = Object.freeze(Object.fromEntries(ULTRACALLS.map((u) => [u.name, u.number]))) as Readonly<Record<
  'UV_WRITE_PATE' | 'UV_RESTRICTED_SPR_WRITE' | 'UV_RESTRICTED_SPR_READ' | 'UV_ESM' | 'UV_READ_SCOM' |
  'UV_WRITE_SCOM' | 'UV_RETURN' | 'UV_REGISTER_MEM_SLOT' | 'UV_UNREGISTER_MEM_SLOT' | 'UV_PAGE_IN' |
  'UV_PAGE_OUT' | 'UV_SHARE_PAGE' | 'UV_UNSHARE_PAGE' | 'UV_PAGE_INVAL' | 'UV_SVM_TERMINATE' |
  'UV_UNSHARE_ALL_PAGES' | 'UV_READ_MEM' | 'UV_WRITE_MEM' | 'UV_ESMB_GET_FILE' | 'UV_SEND_SBE_COMMAND' |
  'UV_SVM_KEY_FINGERPRINT' | 'UV_ESM_REASON', number>>;

/** SPRs UV_RESTRICTED_SPR_READ/WRITE accept (PEF.md section 4). */
export const RESTRICTED_SPRS: readonly number[] = [0xB4, 0xBC, 0xBB, 0x352, 0x31F];

/** Why a UV_ESM failed: readable by the guest (UV_ESM_REASON) and the operator, never secret. */
export const ESM_REASONS: readonly { code: number; name: string; text: string }[] = [
  { code: 0, name: 'NONE', text: 'no failure' },
  { code: 1, name: 'NO_BLOB', text: 'no ESM blob found (neither /chosen nor the initramfs)' },
  { code: 2, name: 'MALFORMED_BLOB', text: 'the ESM blob is malformed' },
  { code: 3, name: 'NO_LOCKBOX', text: "no lockbox for this machine's key" },
  { code: 4, name: 'TPM_REFUSED', text: 'the TPM refused to unwrap the key' },
  { code: 5, name: 'DIGESTS_CORRUPT', text: 'the digests do not decrypt with the unwrapped key' },
  { code: 6, name: 'KERNEL_MISMATCH', text: 'kernel digest mismatch' },
  { code: 7, name: 'INITRD_MISMATCH', text: 'initramfs digest mismatch' },
  { code: 8, name: 'BOOTARGS_MISMATCH', text: 'boot arguments digest mismatch' },
  { code: 9, name: 'RTAS_MISMATCH', text: 'RTAS digest mismatch' },
  { code: 10, name: 'NO_SECURE_MEMORY', text: 'out of secure memory' },
  { code: 11, name: 'HV_REFUSED', text: 'the hypervisor refused or failed the transition' },
  { code: 12, name: 'BAD_FDT', text: 'the device tree is malformed' },
  { code: 13, name: 'TPM_KEY_MISMATCH', text: "the TPM key's Name is not the one firmware reported" },
];

export const ESM_REASON = Object.freeze(Object.fromEntries(ESM_REASONS.map((r) => [r.name, r.code]))) as Readonly<Record<string, number>>;
export function esmReasonText(code: number): string {
  return ESM_REASONS.find((r) => r.code === code)?.text ?? `unknown reason ${code}`;
}
