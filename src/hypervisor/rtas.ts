// RTAS as the hypervisor serves it (H_RTAS, as QEMU's spapr does): the guest passes the real
// address of an rtas_args block (big-endian: token, nargs, nret, args..., rets...). Tokens are
// published in /rtas. ibm,os-term and power-off end the VM; system-reboot resets it; start-cpu
// (cpu, start address, r3) starts a stopped vCPU there. For an SVM the start address is a
// cookie the ultravisor put in its place: the vCPU is started with UV_RETURN and that cookie.

export const RTAS_TOKENS = {
  'display-character': 0x2001,
  'get-time-of-day': 0x2002,
  'start-cpu': 0x2007,
  'power-off': 0x2004,
  'system-reboot': 0x2005,
  'ibm,os-term': 0x2010,
} as const;

export const RTAS_TOKEN_NAME: ReadonlyMap<number, string> = new Map(Object.entries(RTAS_TOKENS).map(([k, v]) => [v, k]));

/** RTAS status words. */
export const RTAS_SUCCESS = 0;
export const RTAS_HARDWARE_ERROR = -1;
export const RTAS_PARAMETER_ERROR = -3;

export const RTAS_ARGS_MAX = 16;

export interface RtasCall { token: number; name: string | undefined; args: number[]; nret: number }

/** Decode an rtas_args block (first 12 + 4*16 bytes). */
export function decodeRtasArgs(b: Uint8Array): RtasCall | string {
  if (b.length < 12) return 'rtas_args shorter than its header';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const token = dv.getUint32(0), nargs = dv.getUint32(4), nret = dv.getUint32(8);
  if (nargs + nret > RTAS_ARGS_MAX) return `nargs ${nargs} + nret ${nret} exceed ${RTAS_ARGS_MAX}`;
  if (b.length < 12 + 4 * (nargs + nret)) return 'rtas_args shorter than nargs + nret';
  const args: number[] = [];
  for (let i = 0; i < nargs; i++) args.push(dv.getUint32(12 + 4 * i));
  return { token, name: RTAS_TOKEN_NAME.get(token), args, nret };
}

/** The bytes of the return words, at offset 12 + 4*nargs of rtas_args. */
export function encodeRets(rets: number[]): Uint8Array {
  const b = new Uint8Array(4 * rets.length);
  const dv = new DataView(b.buffer);
  rets.forEach((r, i) => dv.setInt32(4 * i, r | 0));
  return b;
}
