// vm.json: what the hypervisor needs to create the VM. {"name", "memory", "vcpus"}; memory is
// a byte count or a string with a binary suffix ("512M", "2G"), a whole number of 64 KiB pages.

import { InputError } from '../util/errors.js';

export interface VmConfig {
  name: string;
  /** Bytes. */
  memory: number;
  vcpus: number;
}

export const VM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const GUEST_PAGE = 64 * 1024;
export const MIN_MEMORY = 64 * 1024 * 1024;
export const MAX_MEMORY = 1024 * 1024 * 1024 * 1024;
export const MAX_VCPUS = 256;

const SUFFIX: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "512M" -> 536870912; a number is taken as bytes. Undefined when it is not a size. */
export function parseMemory(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^([0-9]{1,15})([KMGT]?)(i?B)?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * SUFFIX[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The shortest exact spelling: 536870912 -> "512M". */
export function formatMemory(bytes: number): string {
  for (const s of ['T', 'G', 'M', 'K']) if (bytes % SUFFIX[s]! === 0 && bytes >= SUFFIX[s]!) return `${bytes / SUFFIX[s]!}${s}`;
  return String(bytes);
}

/** Parse and check vm.json; `subject` names the file in errors. */
export function parseVmConfig(text: string, subject: string): VmConfig {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new InputError(subject, `not JSON (${(e as Error).message})`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(subject, 'not a JSON object');
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['name', 'memory', 'vcpus'].includes(k));
  if (unknown.length) throw new InputError(subject, `unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (have: name, memory, vcpus)`);
  if (typeof o.name !== 'string' || !VM_NAME_RE.test(o.name)) throw new InputError(subject, `"name" must match ${VM_NAME_RE.source}`);
  const memory = parseMemory(o.memory);
  if (memory === undefined) throw new InputError(subject, `"memory" must be bytes or a size like "512M", not ${JSON.stringify(o.memory)}`);
  if (memory < MIN_MEMORY || memory > MAX_MEMORY || memory % GUEST_PAGE !== 0) throw new InputError(subject, `"memory" ${memory} must be a multiple of 64 KiB from 64M to 1T`);
  if (typeof o.vcpus !== 'number' || !Number.isInteger(o.vcpus) || o.vcpus < 1 || o.vcpus > MAX_VCPUS) throw new InputError(subject, `"vcpus" must be an integer from 1 to ${MAX_VCPUS}`);
  return { name: o.name, memory, vcpus: o.vcpus };
}

export function formatVmConfig(c: VmConfig): string {
  return JSON.stringify({ name: c.name, memory: formatMemory(c.memory), vcpus: c.vcpus }, null, 2) + '\n';
}
