// A whole system for the hypervisor's, the guest's and `pef run`'s tests: machine directories
// made by firmware (embedded TPM), booted with the real ultravisor and this hypervisor, and
// model images (normal, or converted to SVMs authorized for some machines' keys).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootMachine, createMachine, machinePublicKey } from '../../src/firmware/index.js';
import { createUltravisor, type Ultravisor } from '../../src/ultravisor/index.js';
import { Hypervisor, runMachine, type HypervisorOptions, type RunResult, type Vm, type VmImage } from '../../src/hypervisor/index.js';
import { GUEST_CODE } from '../../src/guest/index.js';
import { Machine, type Interpreter } from '../../src/hw/machine.js';
import type { CodeFactory } from '../../src/hw/cpu/software.js';
import { buildModelKernelImage, KERNEL_LOAD_ADDR } from '../../src/image/kernel.js';
import { RTAS_TEXT } from '../../src/image/rtas.js';
import { writeTar, type TarEntryInput } from '../../src/image/tar.js';
import { writeCpio, S_IFREG, type CpioEntry } from '../../src/image/cpio.js';
import { luksDisk, padDisk } from '../../src/system/images.js';
import { buildEsmBlob, computeDigests, svmAdd, type FileInput } from '../../src/esm/index.js';
import type { TpmTransport } from '../../src/tpm/index.js';

const enc = new TextEncoder();
const dirs: string[] = [];
export function tempDir(prefix = 'pef-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function cleanup(): void { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); }

export interface MachineSpec { memory?: number; secureMemory?: number; cpus?: number }

/** A machine directory with a freshly provisioned embedded TPM. */
export async function makeMachine(spec: MachineSpec = {}): Promise<{ dir: string; pem: Uint8Array; fingerprint: string }> {
  const dir = join(tempDir(), 'machine');
  await createMachine(dir, { memory: spec.memory ?? 512 << 20, secureMemory: spec.secureMemory ?? 128 << 20, cpus: spec.cpus ?? 2, tpm: { kind: 'embedded' } });
  const k = machinePublicKey(dir);
  return { dir, pem: enc.encode(k.pem), fingerprint: k.fingerprint };
}

export interface System {
  machine: Machine;
  hv: Hypervisor;
  uv: Ultravisor;
  tpm: TpmTransport | undefined;
  run(opts?: { until?: () => boolean; maxSteps?: number }): Promise<RunResult>;
  close(): void;
}

/** Secure and trusted boot of a machine directory with this project's ultravisor, hypervisor and guest code. */
export function bootSystem(dir: string, hvOpts: HypervisorOptions = {}, extraCode: CodeFactory[] = [], interpreter?: Interpreter): System {
  let hv: Hypervisor | undefined;
  let uv: Ultravisor | undefined;
  const relay: { tpm?: TpmTransport } = {};
  const b = bootMachine(dir, {
    loaders: {
      ultravisor: (_i, handoff, machine) => { uv = createUltravisor({ handoff, machineKey: { pem: handoff.keyPem! } }); uv.install(machine); },
      hypervisor: (_i, machine) => (hv = new Hypervisor(machine, { ...hvOpts, tpm: { transmit: (c) => relay.tpm!.transmit(c) } })),
    },
    beforeLock: (m) => { for (const c of [...GUEST_CODE, ...extraCode]) m.registerCode(c); if (interpreter) m.setInterpreter(interpreter); },
  });
  relay.tpm = b.tpm;
  return {
    machine: b.machine, hv: hv!, uv: uv!, tpm: b.tpm,
    run: (o = {}) => runMachine(b.machine, hv!, { maxSteps: 20_000_000, ...o }),
    close: () => b.close(),
  };
}

/** A machine without firmware or TPM (normal VMs only): the ultravisor knows no key. */
export function bareSystem(opts: { cpus?: number; memory?: number; secureMemory?: number; hv?: HypervisorOptions; code?: CodeFactory[]; interpreter?: Interpreter } = {}): System {
  const machine = new Machine({ cpus: opts.cpus ?? 1, controllers: [{ size: opts.memory ?? 256 << 20, secure: opts.secureMemory ?? 64 << 20 }] });
  for (const c of [...GUEST_CODE, ...(opts.code ?? [])]) machine.registerCode(c);
  if (opts.interpreter) machine.setInterpreter(opts.interpreter);
  const uv = createUltravisor({ machineKey: { fingerprint: new Uint8Array(32) } });
  uv.install(machine);
  const hv = new Hypervisor(machine, opts.hv);
  machine.installHypervisor(hv);
  machine.lockBoot();
  return { machine, hv, uv, tpm: undefined, run: (o = {}) => runMachine(machine, hv, { maxSteps: 20_000_000, ...o }), close: () => {} };
}

export interface ImageSpec {
  /** The /init script (with or without its #!pef-init line). */
  init?: string;
  files?: TarEntryInput[];
  bootargs?: string;
  /** Put /init in the initramfs instead of on the root disk. */
  initInInitramfs?: boolean;
  initramfsFiles?: CpioEntry[];
  noDisk?: boolean;
  kernelSize?: number;
}

export interface ModelImage { kernel: Uint8Array; initramfs: Uint8Array; bootargs: string; tar: Uint8Array; disk?: Uint8Array }

export function modelImage(s: ImageSpec = {}): ModelImage {
  const script = s.init === undefined ? '#!pef-init\necho hello\nexit 0\n' : (s.init.startsWith('#!') ? s.init : `#!pef-init\n${s.init}`);
  const files: TarEntryInput[] = [...(s.initInInitramfs ? [] : [{ path: 'init', data: script, mode: 0o755 }]), ...(s.files ?? [])];
  const tar = writeTar(files);
  const cpio: CpioEntry[] = [...(s.initInInitramfs ? [{ name: 'init', mode: S_IFREG | 0o755, data: enc.encode(script) }] : []), ...(s.initramfsFiles ?? [])];
  if (cpio.length === 0) cpio.push({ name: 'etc/initrd-release', mode: S_IFREG | 0o644, data: enc.encode('pef model initramfs\n') });
  return {
    kernel: buildModelKernelImage(s.kernelSize ? { size: s.kernelSize } : {}),
    initramfs: writeCpio(cpio),
    bootargs: s.bootargs ?? 'console=hvc0',
    tar,
    disk: s.noDisk ? undefined : padDisk(tar),
  };
}

export { padDisk, luksDisk };

export interface SvmSpec {
  /** Public key PEMs of the machines the SVM may run on (the first is the origin lockbox). */
  pems: Uint8Array[];
  passphrase?: string;
  files?: FileInput[];
}

/** Convert a model image into an SVM: svm=on, the ESM blob prepended to the initramfs, a LUKS2 root. */
export function svmImage(img: ModelImage, s: SvmSpec): ModelImage {
  const pass = s.passphrase ?? 'correct horse battery staple';
  const bootargs = /\bsvm=on\b/.test(img.bootargs) ? img.bootargs : `${img.bootargs} svm=on`;
  const blob = buildEsmBlob({
    origin: { pubPem: s.pems[0]!, comment: 'owner' },
    recipients: s.pems.slice(1).map((p, i) => ({ pubPem: p, comment: `machine ${i + 1}` })),
    digests: computeDigests({ kernelImage: img.kernel, initramfs: img.initramfs, bootargs, rtas: RTAS_TEXT }),
    files: s.files ?? [{ name: 'rootd', data: enc.encode(pass) }],
  });
  return { ...img, bootargs, initramfs: svmAdd(img.initramfs, blob, 'esmb.dtb'), disk: luksDisk(img.tar, pass) };
}

export function vmImage(img: ModelImage): VmImage {
  return { kernel: { paddr: KERNEL_LOAD_ADDR, bytes: img.kernel, entry: KERNEL_LOAD_ADDR }, initramfs: img.initramfs, bootargs: img.bootargs, rtas: RTAS_TEXT, disk: img.disk };
}

export function createVm(sys: System, name: string, img: ModelImage, o: { memBytes?: number; secureGuest?: boolean; iommuPlatform?: boolean } = {}): Vm {
  return sys.hv.createVm({ name, memBytes: o.memBytes ?? 64 << 20, secureGuest: o.secureGuest ?? true, image: vmImage(img), iommuPlatform: o.iommuPlatform });
}
