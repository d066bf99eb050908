// The machine directory (docs/machine-dir.md): what a physical machine keeps across power
// cycles. machine.json is the commit record: a change that spans several files (a new TPM
// state and the key record that describes it) writes the new files first under fresh names,
// then replaces machine.json atomically; a crash at any point leaves the old machine or the
// new one. Files machine.json does not name are leftovers and are removed on the next change.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedTpm, SwtpmDevice, parseEndpoint, fromHex, type TpmDevice } from '../tpm/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { InputError } from '../util/errors.js';
import { STAGES, type Stage } from './images.js';

export const MACHINE_FORMAT = 'pef-machine/1';
export const MACHINE_JSON = 'machine.json';
export const SEEPROM_FILE = 'seeprom.bin';
export const firmwareFile = (stage: Stage): string => `firmware/${stage}.img`;

export interface MachineKeyRecord {
  handle: number;
  /** TPM Name of the wrapping key, hex. */
  name: string;
  /** TPM2B_PUBLIC of the wrapping key, hex. */
  public: string;
  pem: string;
  /** SHA-256 of the PEM file's bytes, hex. */
  fingerprint: string;
  srk: { handle: number; name: string; public: string };
  /** The ultravisor the key is bound to: SHA-256 of its payload, and what it is. */
  ultravisor: { digest: string; implementation: string; variant: string; version: string };
  uvPcr: number;
  gatePcr: number;
  uvPcrValue: string;
  policy: { branches: string[]; digest: string };
  /** Bumped by every rekey and duplicate-key. */
  generation: number;
  origin: string;
}

export type TpmConfig = { kind: 'embedded'; state: string } | { kind: 'swtpm'; endpoint: string };

export interface MachineConfig {
  format: typeof MACHINE_FORMAT;
  memory: number;
  secureMemory: number;
  cpus: number;
  controllers: number;
  tpm: TpmConfig;
  machineKey: MachineKeyRecord;
}

const FRAME = 64 * 1024;

/** "16G", "512M", "65536" (bytes); K/M/G/T are powers of 1024. */
export function parseSize(s: string, subject: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s.trim());
  if (!m) throw new InputError(subject, `'${s}' is not a size (e.g. 16G, 512M)`);
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new InputError(subject, `'${s}' is too large`);
  return v;
}

export function formatSize(n: number): string {
  for (const [u, m] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) if (n % m === 0 && n >= m) return `${n / m}${u}`;
  return `${n}`;
}

/** Check memory, secure memory, threads and controllers against what the hardware model accepts. */
export function checkGeometry(g: { memory: number; secureMemory: number; cpus: number; controllers: number }, subject: string): void {
  if (!Number.isInteger(g.cpus) || g.cpus < 1 || g.cpus > 256) throw new InputError(`${subject}: cpus`, `${g.cpus} is not 1..256`);
  if (!Number.isInteger(g.controllers) || g.controllers < 1 || g.controllers > 16) throw new InputError(`${subject}: controllers`, `${g.controllers} is not 1..16`);
  const per = g.memory / g.controllers;
  const perSecure = g.secureMemory / g.controllers;
  if (!(g.memory > 0) || !Number.isInteger(per) || per % FRAME !== 0) throw new InputError(`${subject}: memory`, `${g.memory} bytes does not split into ${g.controllers} controllers of whole 64 KiB frames`);
  if (g.memory >= 2 ** 48) throw new InputError(`${subject}: memory`, 'larger than 256 TiB');
  if (!(g.secureMemory >= 0) || !Number.isInteger(perSecure) || perSecure % FRAME !== 0) throw new InputError(`${subject}: secure memory`, `${g.secureMemory} bytes does not split into ${g.controllers} controllers of whole 64 KiB frames`);
  if (g.secureMemory >= g.memory) throw new InputError(`${subject}: secure memory`, 'must be smaller than the memory (the hypervisor needs normal memory)');
}

// ---- validation -----------------------------------------------------------------------

const isHex = (v: unknown): v is string => typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v);
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function checkKeyRecord(k: Record<string, unknown>, subject: string): void {
  const bad = (f: string) => new InputError(subject, `machineKey.${f} is missing or malformed`);
  if (!isU32(k.handle)) throw bad('handle');
  for (const f of ['name', 'public', 'fingerprint', 'uvPcrValue'] as const) if (!isHex(k[f]) || (k[f] as string).length === 0) throw bad(f);
  if (typeof k.pem !== 'string' || !k.pem.includes('BEGIN PUBLIC KEY')) throw bad('pem');
  const srk = k.srk as Record<string, unknown> | undefined;
  if (!srk || !isU32(srk.handle) || !isHex(srk.name) || !isHex(srk.public)) throw bad('srk');
  const uv = k.ultravisor as Record<string, unknown> | undefined;
  if (!uv || !isHex(uv.digest) || uv.digest.length !== 64 || typeof uv.implementation !== 'string' || typeof uv.variant !== 'string' || typeof uv.version !== 'string') throw bad('ultravisor');
  if (!isU32(k.uvPcr) || k.uvPcr > 23 || !isU32(k.gatePcr) || k.gatePcr > 23) throw bad('uvPcr/gatePcr');
  const pol = k.policy as Record<string, unknown> | undefined;
  if (!pol || !Array.isArray(pol.branches) || pol.branches.length < 2 || !pol.branches.every((b) => isHex(b) && b.length === 64) || !isHex(pol.digest)) throw bad('policy');
  if (!isU32(k.generation)) throw bad('generation');
  if (typeof k.origin !== 'string') throw bad('origin');
}

export function parseMachineConfig(text: string, subject: string): MachineConfig {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) {
    throw new InputError(subject, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.format !== MACHINE_FORMAT) throw new InputError(subject, `not a machine description (format is not ${MACHINE_FORMAT})`);
  for (const f of ['memory', 'secureMemory', 'cpus', 'controllers'] as const) {
    if (typeof o[f] !== 'number' || !Number.isSafeInteger(o[f])) throw new InputError(subject, `${f} is missing or not an integer`);
  }
  checkGeometry(o as unknown as MachineConfig, subject);
  const t = o.tpm as Record<string, unknown> | undefined;
  if (!t || (t.kind !== 'embedded' && t.kind !== 'swtpm')) throw new InputError(subject, 'tpm.kind must be embedded or swtpm');
  if (t.kind === 'embedded' && (typeof t.state !== 'string' || !/^tpm\/state-\d+\.json$/.test(t.state))) throw new InputError(subject, 'tpm.state must name tpm/state-N.json');
  if (t.kind === 'swtpm') {
    if (typeof t.endpoint !== 'string') throw new InputError(subject, 'tpm.endpoint is missing');
    parseEndpoint(t.endpoint, `${subject}: tpm.endpoint`);
  }
  if (!o.machineKey || typeof o.machineKey !== 'object') throw new InputError(subject, 'machineKey is missing');
  checkKeyRecord(o.machineKey as Record<string, unknown>, subject);
  return o as unknown as MachineConfig;
}

export function loadMachineConfig(dir: string): MachineConfig {
  const p = join(dir, MACHINE_JSON);
  if (!existsSync(p)) throw new InputError(dir, existsSync(dir) ? 'not a machine directory (no machine.json)' : 'no such machine directory');
  return parseMachineConfig(readFileSync(p, 'utf8'), p);
}

export function serializeMachineConfig(c: MachineConfig): string {
  return JSON.stringify(c, null, 2) + '\n';
}

/** An open machine directory: its configuration, firmware, SEEPROM and TPM. */
export class MachineDir {
  constructor(readonly dir: string, public config: MachineConfig) {}

  get seepromHash(): Uint8Array {
    const p = join(this.dir, SEEPROM_FILE);
    if (!existsSync(p)) throw new InputError(p, 'missing');
    const b = new Uint8Array(readFileSync(p));
    if (b.length !== 64) throw new InputError(p, `holds ${b.length} bytes, not a SHA-512`);
    return b;
  }

  firmwarePath(stage: Stage): string { return join(this.dir, firmwareFile(stage)); }

  readFirmware(stage: Stage): Uint8Array {
    const p = this.firmwarePath(stage);
    if (!existsSync(p)) throw new InputError(p, 'missing');
    return new Uint8Array(readFileSync(p));
  }

  replaceFirmware(stage: Stage, bytes: Uint8Array): void {
    writeFileAtomic(this.firmwarePath(stage), bytes);
  }

  /**
   * The machine's TPM. The embedded one loads its NV state from the file machine.json names;
   * with autosave it writes that file back (atomically) whenever the NV changes.
   */
  openTpm(opts: { autosave?: boolean } = {}): TpmDevice {
    const t = this.config.tpm;
    if (t.kind === 'swtpm') return new SwtpmDevice(parseEndpoint(t.endpoint));
    const path = join(this.dir, t.state);
    if (!existsSync(path)) throw new InputError(path, 'the TPM state file is missing');
    return new EmbeddedTpm({ state: new Uint8Array(readFileSync(path)), save: (s) => writeFileAtomic(path, s, 0o600), autosave: opts.autosave ?? true });
  }

  /**
   * Commit a change: the embedded TPM's new NV state (if given) goes to a new file first, then
   * machine.json switches to it in one rename. The old state file is removed afterwards.
   */
  commit(config: MachineConfig, tpmState?: Uint8Array): void {
    let next = config;
    const old = this.config.tpm.kind === 'embedded' ? this.config.tpm.state : undefined;
    if (tpmState && config.tpm.kind === 'embedded') {
      const gen = Number(/state-(\d+)\.json$/.exec(config.tpm.state)?.[1] ?? '0') + 1;
      const name = `tpm/state-${gen}.json`;
      writeFileAtomic(join(this.dir, name), tpmState, 0o600);
      next = { ...config, tpm: { kind: 'embedded', state: name } };
    }
    writeFileAtomic(join(this.dir, MACHINE_JSON), serializeMachineConfig(next));
    this.config = next;
    if (old && next.tpm.kind === 'embedded' && old !== next.tpm.state) rmSync(join(this.dir, old), { force: true });
    this.cleanup();
  }

  /** Remove what a crash may have left: temporary files and TPM states machine.json does not name. */
  cleanup(): void {
    for (const sub of ['', 'tpm', 'firmware']) {
      const d = join(this.dir, sub);
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) {
        const rel = sub ? `${sub}/${f}` : f;
        const stale = /\.tmp-\d+-[0-9a-f]+$/.test(f) || (sub === 'tpm' && /^state-\d+\.json$/.test(f) && !(this.config.tpm.kind === 'embedded' && this.config.tpm.state === rel));
        if (stale) rmSync(join(d, f), { force: true });
      }
    }
  }

  keyName(): Uint8Array { return fromHex(this.config.machineKey.name); }
}

export function openMachine(dir: string): MachineDir {
  return new MachineDir(dir, loadMachineConfig(dir));
}

export const ALL_STAGES: readonly Stage[] = STAGES;
