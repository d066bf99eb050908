// Which PCR holds what (SHA-256 bank). Each stage has a PCR of its own, so the ultravisor's
// PCR holds exactly one measurement and its value is a function of the ultravisor alone; that
// value is what the machine key's policy names. The gate is a PCR that cannot be reset from
// software (PCR 16 can, at locality 0: swtpm allows TPM2_PCR_Reset(16)), so once firmware has
// extended it nothing can rotate or duplicate the key until the next platform reset.

export const PCR = {
  /** hostboot, measured by the self-boot engine (the root of trust for measurement). */
  HOSTBOOT: 0,
  /** The machine's configuration: memory, secure memory, threads. */
  CONFIG: 1,
  /** OPAL (skiboot). */
  OPAL: 2,
  /** The ultravisor, alone: the machine key's decrypt branch names this PCR. */
  ULTRAVISOR: 3,
  /** The hypervisor kernel (the boot kernel). */
  HYPERVISOR: 4,
  /** Secure-boot state: enforcing, and the SEEPROM's firmware-key hash. */
  SECURE_BOOT: 7,
  /** Gate: extended after the auth rotation; the key's changeAuth/duplicate branches need it at 0. */
  GATE: 11,
} as const;

export const MEASURED_PCRS = [PCR.HOSTBOOT, PCR.CONFIG, PCR.OPAL, PCR.ULTRAVISOR, PCR.HYPERVISOR, PCR.SECURE_BOOT, PCR.GATE];

export const STAGE_PCR = { hostboot: PCR.HOSTBOOT, opal: PCR.OPAL, ultravisor: PCR.ULTRAVISOR, hypervisor: PCR.HYPERVISOR } as const;
