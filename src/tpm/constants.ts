// TPM 2.0 numbers (TCG TPM 2.0 Library, Part 2), as they appear on the wire. One table each,
// used by the engine, the client, the tests and the error messages.

export const ST = { NO_SESSIONS: 0x8001, SESSIONS: 0x8002, CREATION: 0x8021 } as const;

export const CC = {
  EvictControl: 0x120,
  HierarchyChangeAuth: 0x129,
  PCR_Reset: 0x13d,
  CreatePrimary: 0x131,
  Startup: 0x144,
  Shutdown: 0x145,
  Duplicate: 0x14b,
  ObjectChangeAuth: 0x150,
  Create: 0x153,
  Import: 0x156,
  Load: 0x157,
  RSA_Decrypt: 0x159,
  FlushContext: 0x165,
  LoadExternal: 0x167,
  PolicyAuthValue: 0x16b,
  PolicyCommandCode: 0x16c,
  PolicyOR: 0x171,
  ReadPublic: 0x173,
  RSA_Encrypt: 0x174,
  StartAuthSession: 0x176,
  GetRandom: 0x17b,
  PCR_Read: 0x17e,
  PolicyPCR: 0x17f,
  PolicyRestart: 0x180,
  PCR_Extend: 0x182,
  PolicyGetDigest: 0x189,
  PolicyPassword: 0x18c,
} as const;

export const CC_NAME: Record<number, string> = Object.fromEntries(Object.entries(CC).map(([k, v]) => [v, k]));

/** Response codes. Format-1 codes (bit 7 set) carry a handle, parameter or session number. */
export const RC = {
  SUCCESS: 0x000,
  // format 0
  BAD_TAG: 0x01e,
  INITIALIZE: 0x100,
  FAILURE: 0x101,
  SEQUENCE: 0x103,
  DISABLED: 0x120,
  AUTH_TYPE: 0x124,
  AUTH_MISSING: 0x125,
  POLICY: 0x126,
  PCR: 0x127,
  PCR_CHANGED: 0x128,
  AUTH_UNAVAILABLE: 0x12f,
  COMMAND_SIZE: 0x142,
  COMMAND_CODE: 0x143,
  AUTHSIZE: 0x144,
  AUTH_CONTEXT: 0x145,
  NV_DEFINED: 0x14c,
  NO_RESULT: 0x154,
  SENSITIVE: 0x155,
  // format 1
  ASYMMETRIC: 0x081,
  ATTRIBUTES: 0x082,
  HASH: 0x083,
  VALUE: 0x084,
  HIERARCHY: 0x085,
  KEY_SIZE: 0x087,
  MODE: 0x089,
  TYPE: 0x08a,
  HANDLE: 0x08b,
  RANGE: 0x08d,
  AUTH_FAIL: 0x08e,
  NONCE: 0x08f,
  SCHEME: 0x092,
  SIZE: 0x095,
  SYMMETRIC: 0x096,
  TAG: 0x097,
  SELECTOR: 0x098,
  INSUFFICIENT: 0x09a,
  KEY: 0x09c,
  POLICY_FAIL: 0x09d,
  INTEGRITY: 0x09f,
  BAD_AUTH: 0x0a2,
  POLICY_CC: 0x0a4,
  BINDING: 0x0a5,
  // warnings
  OBJECT_MEMORY: 0x902,
  SESSION_MEMORY: 0x903,
  LOCALITY: 0x907,
  YIELDED: 0x908,
  TESTING: 0x90a,
  REFERENCE_H0: 0x910,
  REFERENCE_S0: 0x918,
  LOCKOUT: 0x921,
  RETRY: 0x922,
} as const;

/** Format-1 modifiers: which handle, parameter or session an error is about. */
export const RC_H = 0x000;
export const RC_P = 0x040;
export const RC_S = 0x800;
export const rcN = (n: number): number => (n & 0xf) << 8;

/** Warnings a caller should answer by sending the same command again (TPM.md). */
export const RETRY_CODES: ReadonlySet<number> = new Set([RC.RETRY, RC.YIELDED, RC.TESTING]);

export const ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CFB: 0x0043,
} as const;

/** Permanent handles and handle types (the top byte). */
export const RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const;

export const HT = { PCR: 0x00, HMAC_SESSION: 0x02, POLICY_SESSION: 0x03, PERMANENT: 0x40, TRANSIENT: 0x80, PERSISTENT: 0x81 } as const;
export const handleType = (h: number): number => h >>> 24;

/** Persistent handle ranges: the owner's and the platform's (TCG handle registry). */
export const PERSISTENT_OWNER = { first: 0x81000000, last: 0x817fffff } as const;
export const PERSISTENT_PLATFORM = { first: 0x81800000, last: 0x81ffffff } as const;

/** TPMA_OBJECT bits. */
export const OA = {
  fixedTPM: 0x2,
  stClear: 0x4,
  fixedParent: 0x10,
  sensitiveDataOrigin: 0x20,
  userWithAuth: 0x40,
  adminWithPolicy: 0x80,
  noDA: 0x400,
  encryptedDuplication: 0x800,
  restricted: 0x10000,
  decrypt: 0x20000,
  sign: 0x40000,
} as const;

/** TPMA_SESSION bits. */
export const SA = { continueSession: 0x01, auditExclusive: 0x02, auditReset: 0x04, decrypt: 0x20, encrypt: 0x40, audit: 0x80 } as const;

export const SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;
export const SU = { CLEAR: 0x0000, STATE: 0x0001 } as const;

export const PCR_COUNT = 24;
/** Largest command or response the TPM accepts (swtpm's TPM_BUFFER_MAX). */
export const MAX_COMMAND_SIZE = 4096;
