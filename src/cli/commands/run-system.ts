// The wiring `pef run` and `pef bench run` share: boot a machine directory (secure and trusted
// boot) with this project's ultravisor and hypervisor, register the guest's code kinds and the
// machine's interpreter before the boot lock, and turn image directories into VMs. Only the
// command layer may import every layer; the layers themselves talk only through the ABI.

import { readFileSync } from 'node:fs';
import { createMachineInterpreter } from '../../hw/cpu/isa/machine.js';
import { bootMachine, type BootResult } from '../../firmware/index.js';
import { createUltravisor, type Ultravisor } from '../../ultravisor/index.js';
import { Hypervisor, type HypervisorOptions, type TpmRelay, type Vm, type VmImage } from '../../hypervisor/index.js';
import { GUEST_CODE } from '../../guest/index.js';
import { readImageDir, type ImageDir } from '../../image/image-dir.js';
import { loadableImage, PT_LOAD } from '../../image/elf.js';
import { RTAS_TEXT } from '../../image/rtas.js';
import { ESM_REASON, esmReasonText } from '../../abi/ultracalls.js';
import type { Interpreter, Machine } from '../../hw/machine.js';
import type { TraceEvent } from '../../hw/trace.js';
import type { CodeFactory, Software } from '../../hw/cpu/software.js';
import { InputError } from '../../util/errors.js';

export interface RunImage {
  dir: string;
  name: string;
  info: ImageDir;
  image: VmImage;
  memBytes: number;
  vcpus: number;
}

/** Read an image directory and what the hypervisor loads from it (the kernel's loadable image at its physical address). */
export function loadRunImage(dir: string): RunImage {
  const info = readImageDir(dir);
  const { image, lma } = loadableImage(info.kernel.elf);
  const paddr = Number(lma);
  // The entry point as a physical address: the loader enters the kernel in real mode.
  let entry = paddr;
  for (const s of info.kernel.elf.segments) {
    if (s.type === PT_LOAD && info.kernel.entry >= s.vaddr && info.kernel.entry < s.vaddr + s.memsz) { entry = Number(s.paddr + (info.kernel.entry - s.vaddr)); break; }
  }
  let disk: Uint8Array;
  try { disk = new Uint8Array(readFileSync(info.disk.path)); } catch (e) { throw new InputError(info.disk.path, `cannot read the root disk (${(e as NodeJS.ErrnoException).code})`); }
  return {
    dir, name: info.config.name, info, memBytes: info.config.memory, vcpus: info.config.vcpus,
    image: { kernel: { paddr, bytes: image, entry }, initramfs: info.initramfs.bytes, bootargs: info.bootargs, rtas: RTAS_TEXT, disk },
  };
}

/** The machine's interpreter for guest machine code (ppc64le ELF programs), from the ISA layer. */
export function machineInterpreter(): Interpreter & { retired: number } {
  return createMachineInterpreter();
}

export interface System {
  boot: BootResult;
  machine: Machine;
  /** The honest hypervisor (its VMs, its bookkeeping), even when something else runs in its place. */
  hv: Hypervisor;
  /** What runs in hypervisor mode. */
  hypervisor: Software;
  uv: Ultravisor;
  /** SHA-256 fingerprint of the machine key (hex). */
  fingerprint: string;
  close(): void;
}

export interface StartSystemOptions {
  /** Options of the honest hypervisor (spy, secure budget, console callback...). */
  hv?: HypervisorOptions;
  /** What runs in hypervisor mode, given the honest hypervisor (default: the honest one itself). */
  hypervisor?: (honest: Hypervisor, machine: Machine) => Software;
  /** Wrap the TPM relay the hypervisor gets (H_SVM_TPM_COMM goes through it). */
  tpmRelay?: (relay: TpmRelay) => TpmRelay;
  /** Guest code kinds registered before the standard ones (so their magic is matched first). */
  code?: readonly CodeFactory[];
  /** Every trace event from the moment the ultravisor is installed. */
  trace?: (e: TraceEvent) => void;
  /** Boot-progress lines from firmware. */
  log?: (line: string) => void;
}

/**
 * Secure and trusted boot of a machine directory; `trace` sees every event from the moment the
 * firmware installs the ultravisor (the earlier stage measurements are in boot.measurements).
 */
export function startSystem(machineDir: string, opts: StartSystemOptions = {}): System {
  let hv: Hypervisor | undefined;
  let hypervisor: Software | undefined;
  let uv: Ultravisor | undefined;
  const boot = bootMachine(machineDir, {
    log: opts.log,
    loaders: {
      ultravisor: (image, handoff, machine) => {
        if (opts.trace) machine.trace.subscribe(opts.trace);
        uv = createUltravisor({ variant: image.descriptor.variant === 'rogue' ? 'rogue' : 'genuine', handoff, machineKey: { pem: handoff.keyPem! } });
        uv.install(machine);
      },
      hypervisor: (_image, machine, tpm) => {
        const relay: TpmRelay = { transmit: (c) => tpm.transmit(c) };
        hv = new Hypervisor(machine, { ...opts.hv, tpm: opts.tpmRelay ? opts.tpmRelay(relay) : relay });
        hypervisor = opts.hypervisor ? opts.hypervisor(hv, machine) : hv;
        return hypervisor;
      },
    },
    beforeLock: (m) => {
      for (const c of [...(opts.code ?? []), ...GUEST_CODE]) m.registerCode(c);
      m.setInterpreter(machineInterpreter());
    },
  });
  return { boot, machine: boot.machine, hv: hv!, hypervisor: hypervisor!, uv: uv!, fingerprint: boot.config.machineKey.fingerprint, close: () => boot.close() };
}

export function createRunVm(sys: System, img: RunImage, name = img.name): Vm {
  return sys.hv.createVm({ name, memBytes: img.memBytes, vcpus: img.vcpus, secureGuest: true, image: img.image });
}

/**
 * Why a VM did not end cleanly, naming the layer: the guest's os-term message (a failed UV_ESM
 * names the ultravisor's reason, and for a missing lockbox the machine key's fingerprint),
 * a crash the hypervisor or ultravisor saw, a run that never ended. Undefined when it powered off.
 */
export function describeFailure(vm: Vm, fingerprint: string): string | undefined {
  const e = vm.exit;
  if (!e) return 'still running when the run ended';
  if (e.kind === 'power-off') return undefined;
  if (e.kind === 'crash') return `${e.layer}: ${e.message}`;
  if (e.message.startsWith('UV_ESM failed: ')) {
    return e.message === `UV_ESM failed: ${esmReasonText(ESM_REASON.NO_LOCKBOX!)}` ? `${e.message} (fingerprint ${fingerprint})` : e.message;
  }
  return `guest kernel: ${e.message}`;
}
