// Return codes. U_* mirror the H_* of the same name (PEF.md section 4); the values are the
// real ones so traces read like a real system's.

export interface RetCode { name: string; value: number; meaning: string }

export const H_CODES: readonly RetCode[] = [
  { name: 'H_SUCCESS', value: 0, meaning: 'success' },
  { name: 'H_BUSY', value: 1, meaning: 'busy, try again' },
  { name: 'H_CLOSED', value: 2, meaning: 'resource closed' },
  { name: 'H_NOT_AVAILABLE', value: 3, meaning: 'not available' },
  { name: 'H_HARDWARE', value: -1, meaning: 'hardware error' },
  { name: 'H_FUNCTION', value: -2, meaning: 'unknown or unsupported function' },
  { name: 'H_PRIVILEGE', value: -3, meaning: 'caller not privileged' },
  { name: 'H_PARAMETER', value: -4, meaning: 'bad parameter' },
  { name: 'H_BAD_MODE', value: -5, meaning: 'bad mode' },
  { name: 'H_NOT_FOUND', value: -7, meaning: 'not found' },
  { name: 'H_NO_MEM', value: -9, meaning: 'out of memory' },
  { name: 'H_AUTHORITY', value: -10, meaning: 'not authorized (e.g. secure guest capability off)' },
  { name: 'H_PERMISSION', value: -11, meaning: 'permission denied' },
  { name: 'H_P2', value: -55, meaning: 'bad parameter 2' },
  { name: 'H_P3', value: -56, meaning: 'bad parameter 3' },
  { name: 'H_P4', value: -57, meaning: 'bad parameter 4' },
  { name: 'H_P5', value: -58, meaning: 'bad parameter 5' },
  { name: 'H_UNSUPPORTED', value: -67, meaning: 'unsupported in this context' },
  { name: 'H_STATE', value: -75, meaning: 'wrong state' },
];

export const U_CODES: readonly RetCode[] = [
  { name: 'U_SUCCESS', value: 0, meaning: 'success' },
  { name: 'U_BUSY', value: 1, meaning: 'busy, try again' },
  { name: 'U_NOT_AVAILABLE', value: 3, meaning: 'not available' },
  { name: 'U_FUNCTION', value: -2, meaning: 'unknown ultracall' },
  { name: 'U_PARAMETER', value: -4, meaning: 'bad parameter' },
  { name: 'U_RETRY', value: -5, meaning: 'retry (e.g. an SVM already exists for the lpid)' },
  { name: 'U_PERMISSION', value: -11, meaning: 'wrong caller' },
  { name: 'U_P2', value: -55, meaning: 'bad parameter 2' },
  { name: 'U_P3', value: -56, meaning: 'bad parameter 3' },
  { name: 'U_P4', value: -57, meaning: 'bad parameter 4' },
  { name: 'U_P5', value: -58, meaning: 'bad parameter 5' },
  { name: 'U_BAD_MODE', value: -59, meaning: 'transactional memory active' },
  { name: 'U_STATE', value: -75, meaning: 'wrong state (e.g. aborted SVM)' },
];

const byName = (t: readonly RetCode[]) => Object.freeze(Object.fromEntries(t.map((c) => [c.name, c.value])));

export const H = byName(H_CODES) as Readonly<Record<
  'H_SUCCESS' | 'H_BUSY' | 'H_CLOSED' | 'H_NOT_AVAILABLE' | 'H_HARDWARE' | 'H_FUNCTION' | 'H_PRIVILEGE' |
  'H_PARAMETER' | 'H_BAD_MODE' | 'H_NOT_FOUND' | 'H_NO_MEM' | 'H_AUTHORITY' | 'H_PERMISSION' | 'H_P2' |
  'H_P3' | 'H_P4' | 'H_P5' | 'H_UNSUPPORTED' | 'H_STATE', number>>;

export const U = byName(U_CODES) as Readonly<Record<
  'U_SUCCESS' | 'U_BUSY' | 'U_NOT_AVAILABLE' | 'U_FUNCTION' | 'U_PARAMETER' | 'U_RETRY' | 'U_PERMISSION' |
  'U_P2' | 'U_P3' | 'U_P4' | 'U_P5' | 'U_BAD_MODE' | 'U_STATE', number>>;

/** A return code as the 64-bit register value software sees (two's complement). */
export function rc64(v: number): bigint { return BigInt.asUintN(64, BigInt(v)); }
/** A register value read back as a signed return code. */
export function rcOf(r: bigint): number { return Number(BigInt.asIntN(64, r)); }

export function retName(v: number, prefix: 'H' | 'U' = 'H'): string {
  const t = prefix === 'H' ? H_CODES : U_CODES;
  return t.find((c) => c.value === v)?.name ?? `${prefix}_${v}`;
}
