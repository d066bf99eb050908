// What a scenario works with: the machine directory it attacks, an owner key made on the fly,
// images of the sample VM with canaries planted (as a normal VM, and converted into an SVM
// authorized for this machine's key), and fresh boots of the machine with the real ultravisor
// and the honest hypervisor wrapped by whatever tampers the scenario brings.

import { machinePublicKey } from '../firmware/index.js';
import { generateRsaKeyPair } from '../esm/index.js';
import type { HypervisorOptions, RunResult, TpmRelay, Vm } from '../hypervisor/index.js';
import type { CodeFactory } from '../hw/cpu/software.js';
import type { TraceEvent } from '../hw/trace.js';
import { bootSystem, convertImage, sampleImage, SAMPLE_INIT, SMALL_KERNEL, type SampleSpec, type System, type SystemImage } from '../system/index.js';
import { Canary, CanaryWatch } from './canary.js';
import { MaliciousHypervisor, type Tamper } from './malicious.js';
import { probeKernelCode, probeKernelImage } from './probe-kernel.js';
import { strikeOnce } from './helpers.js';

const enc = new TextEncoder();

/**
 * The sample's /init, also hashing the canary file (so it is read into memory, never printed).
 * Without the sample's ppc64le program: it loads at 256 MiB, and attack VMs are small so that
 * several fit in a small machine's secure memory.
 */
export const CANARY_INIT = SAMPLE_INIT.replace(/^exec \/bin\/hello\n/m, '').replace(/\nexit 0\n$/, '\nsha256 /etc/canary\necho canary read\nexit 0\n');
/** Guest memory of attack VMs: an SVM's must fit in secure memory whole (UV_ESM brings every page in). */
export const ATTACK_VM_MEMORY = 32 * 1024 * 1024;

export interface BootAttackOptions {
  tampers?: Tamper[];
  hv?: HypervisorOptions;
  /** Canaries of the images this boot will run (their probe kernels are registered). */
  canaries?: Canary[];
  code?: CodeFactory[];
  tpmRelay?: (relay: TpmRelay) => TpmRelay;
}

export interface AttackSystem extends System {
  malicious: MaliciousHypervisor;
  watch: CanaryWatch;
  /** Trace events of interest: refusals, everything the ultravisor reports (uv-*), VM lifecycle. */
  events: TraceEvent[];
  /** Run until every VM has stopped (or the step limit). */
  runToEnd(maxSteps?: number): Promise<RunResult>;
}

const RECORDED = new Set(['refused', 'hrfid-s-dropped', 'spr-refused', 'hv-lost', 'vm', 'hcall']);

export class AttackContext {
  readonly machinePem: Uint8Array;
  readonly fingerprint: string;
  readonly owner: { pub: Uint8Array; sec: Uint8Array };

  constructor(readonly machineDir: string) {
    const k = machinePublicKey(machineDir);
    this.machinePem = enc.encode(k.pem);
    this.fingerprint = k.fingerprint;
    this.owner = generateRsaKeyPair('');
  }

  canary(id: string): Canary { return new Canary(id); }

  /** The sample VM with canary `c` planted: /etc/canary on its root disk, read by /init; the probe kernel. */
  vm(c: Canary, spec: SampleSpec = {}): SystemImage {
    return sampleImage({
      name: c.id,
      init: CANARY_INIT,
      memBytes: ATTACK_VM_MEMORY,
      kernel: probeKernelImage(c.id, spec.kernelSize ?? SMALL_KERNEL),
      ...spec,
      files: [{ path: 'etc/canary', data: c.file, mode: 0o600 }, ...(spec.files ?? [])],
    });
  }

  /** The same, converted into an SVM authorized for this machine (the canary also attached to its ESM blob). */
  svm(c: Canary, spec: SampleSpec = {}, authorize: Uint8Array[] = [this.machinePem]): SystemImage {
    return convertImage(this.vm(c, spec), { ownerPub: this.owner.pub, authorize, attachments: [{ name: 'canary', data: c.attachment }] });
  }

  /** Boot the machine directory with the real ultravisor and the honest hypervisor under `tampers`. */
  boot(o: BootAttackOptions = {}): AttackSystem {
    const watch = new CanaryWatch(o.canaries ?? []);
    let malicious: MaliciousHypervisor | undefined;
    const events: TraceEvent[] = [];
    // As soon as each probe has planted its canary, dump all normal memory once.
    const planted = (o.canaries ?? []).map((c) => strikeOnce(() => c.report.pc !== undefined, () => { watch.scanNormalMemory(sys.machine); }));
    const userConsole = o.hv?.onConsole;
    const userSpy = o.hv?.spy;
    const sys = bootSystem(this.machineDir, {
      hv: {
        ...o.hv,
        onConsole: (vm, line) => {
          watch.console(vm, line);
          // The canary file has just been read: the moment to dump what the hypervisor can.
          if (line === 'canary read') watch.scanNormalMemory(sys.machine);
          userConsole?.(vm, line);
        },
        spy: {
          frame: (vm, v, g) => { watch.spy.frame!(vm, v, g); userSpy?.frame?.(vm, v, g); },
          pageOut: (vm, gpa, b) => { watch.spy.pageOut!(vm, gpa, b); userSpy?.pageOut?.(vm, gpa, b); },
        },
      },
      hypervisor: (honest) => (malicious = new MaliciousHypervisor(honest, ...(o.tampers ?? []), ...planted)),
      tpmRelay: (r) => watch.relay(o.tpmRelay ? o.tpmRelay(r) : r),
      code: [probeKernelCode(o.canaries ?? []), ...(o.code ?? [])],
      trace: (e) => { if (RECORDED.has(e.kind) || e.kind.startsWith('uv-')) events.push(e); },
    });
    const createVm = (name: string, img: SystemImage, vo?: { secureGuest?: boolean; memBytes?: number }): Vm => {
      watch.scanBlob(`${name}'s root disk as the hypervisor holds it`, img.image.disk ?? new Uint8Array(0));
      watch.scanBlob(`${name}'s initramfs as the hypervisor holds it`, img.image.initramfs ?? new Uint8Array(0));
      return sys.createVm(name, img, vo);
    };
    return {
      ...sys, createVm, malicious: malicious!, watch, events,
      runToEnd: (maxSteps = 2_000_000) => sys.run({ maxSteps }),
    };
  }
}
