// Page-level states of an SVM's guest frames in the ultravisor (PEF.md section 8), and the
// hypervisor's view (KVM uvmem). Frames are 64 KiB on both sides of every page ultracall.

export const PAGE_SHIFT = 16;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export const GPF_STATES = [
  { name: 'SECURE', value: 0, meaning: 'in a secure page' },
  { name: 'PAGEDOUT', value: 1, meaning: 'given to the hypervisor encrypted' },
  { name: 'SHARED', value: 2, meaning: 'explicitly shared by the SVM' },
  { name: 'SHARED_INV', value: 3, meaning: 'shared, hypervisor invalidated its mapping' },
  { name: 'SHARED_IMPLICIT', value: 4, meaning: "shared by the ultravisor for its own bounce buffers" },
  { name: 'SHARED_IMPLICIT_INV', value: 5, meaning: 'implicitly shared, invalidated' },
  { name: 'HV_SHARING', value: 6, meaning: 'share requested, hypervisor not yet answered' },
  { name: 'HV_SHARED', value: 7, meaning: 'hypervisor supplied the page, not committed' },
  { name: 'HV_SHARED_INV', value: 8, meaning: 'supplied, invalidated' },
  { name: 'HV_UNSHARING', value: 9, meaning: 'unshare requested' },
  { name: 'HV_UNSHARING_INV', value: 10, meaning: 'unshare requested, invalidated' },
  { name: 'HV_UNSHARED', value: 11, meaning: 'hypervisor acknowledged the unshare, not committed' },
  { name: 'PSEUDO_SHARED', value: 12, meaning: 'secure page stays mapped, the hypervisor holds a copy' },
  { name: 'PSEUDO_SHARED_INV', value: 13, meaning: 'pseudo-shared, invalidated' },
] as const;

export type GpfStateName = (typeof GPF_STATES)[number]['name'];
export const GPF = Object.freeze(Object.fromEntries(GPF_STATES.map((s) => [s.name, s.value]))) as Readonly<Record<GpfStateName, number>>;
export function gpfName(v: number): string { return GPF_STATES.find((s) => s.value === v)?.name ?? `GPF_${v}`; }

/** The hypervisor's view of a guest page (uvmem). */
export const UVMEM_STATES = ['normal', 'secure', 'paged-out', 'shared'] as const;
export type UvmemState = (typeof UVMEM_STATES)[number];

/** H_SVM_PAGE_IN flags. */
export const H_PAGE_IN_SHARED = 1;
/** H_SVM_TPM_COMM operations. */
export const TPM_COMM_EXECUTE = 1;
export const TPM_COMM_CLOSE = 2;
