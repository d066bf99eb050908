// 17. Boot a rogue ultravisor that passes secure boot, and an unsigned one. A rogue
// administrator flashes, on copies of this machine, an ultravisor signed with the vendor key
// but built to leak every SVM master key it unwraps into memory the hypervisor reads, and one
// with no signature. Secure boot must stop the unsigned one before anything runs; trusted boot
// measures the signed rogue into PCR 3, so the machine key's policy (bound to the genuine
// ultravisor's measurement) makes the TPM refuse it the key. Controls: the genuine ultravisor
// boots the SVM; and a machine whose key was provisioned bound to the rogue build (the
// protection turned off) does hand the rogue the key, which it then leaks where the
// hypervisor finds it.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, createMachine, SecureBootError } from '../../firmware/index.js';
import { openMachine } from '../../firmware/machine-dir.js';
import { AttackContext, type AttackSystem } from '../context.js';
import type { Canary } from '../canary.js';
import { verdict, type AttackScenario } from '../types.js';
import { countEvents, ending, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome, whereIs } from '../esm-outcome.js';

interface Booted { sys?: AttackSystem; error?: string; esm?: string; canary?: boolean; leaks?: number; key?: ReturnType<typeof whereIs>; variant?: string; matches?: boolean }

async function bootSvm(ctx: AttackContext, cs: Canary): Promise<Booted> {
  let sys: AttackSystem;
  try {
    sys = ctx.boot({ canaries: [cs] });
  } catch (e) {
    if (e instanceof SecureBootError) return { error: e.message };
    throw e;
  }
  try {
    const img = ctx.svm(cs);
    // Where the master key is the moment a rogue build leaks it (the next TPM command overwrites the page).
    let atLeak: ReturnType<typeof whereIs> | undefined;
    const stop = sys.machine.trace.subscribe((e) => { if (e.kind === 'uv-rogue-leak') atLeak ??= whereIs(sys.machine, img.secrets!.symkey); });
    const vm = sys.createVm('svm', img);
    await sys.runToEnd();
    stop();
    const after = whereIs(sys.machine, img.secrets!.symkey);
    const uv = sys.boot.measurements.find((m) => m.stage === 'ultravisor')!;
    return {
      esm: describeEsm(esmOutcome(sys.events, vm)) + `; the VM ${readCanaryIntact(vm, cs) ? 'read its canary' : ending(vm)}`,
      canary: readCanaryIntact(vm, cs) && poweredOff(vm), leaks: countEvents(sys.events, 'uv-rogue-leak'),
      key: atLeak ?? after, variant: uv.descriptor.variant, matches: sys.boot.ultravisorMatchesKey,
    };
  } finally {
    sys.close();
  }
}

export const scenario: AttackScenario = {
  name: 'rogue-ultravisor',
  number: 17,
  tried: 'boot, on this machine, an ultravisor that passes secure boot but leaks every master key it unwraps, and an unsigned one',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const root = mkdtempSync(join(tmpdir(), 'pef-attack-rogue-'));
    try {
      const copy = (name: string, uv: Uint8Array) => {
        const dir = join(root, name);
        cpSync(ctx.machineDir, dir, { recursive: true });
        openMachine(dir).replaceFirmware('ultravisor', uv);
        return new AttackContext(dir);
      };
      const rogue = await bootSvm(copy('rogue', buildImage('ultravisor', { variant: 'rogue' })), cs);
      const unsigned = await bootSvm(copy('unsigned', buildImage('ultravisor', { key: null })), cs);
      const genuine = await bootSvm(ctx, cs);
      // The protection turned off: a machine whose key is bound to the rogue build's measurement.
      const cfg = openMachine(ctx.machineDir).config;
      const boundDir = join(root, 'bound-to-rogue');
      await createMachine(boundDir, { memory: cfg.memory, secureMemory: cfg.secureMemory, cpus: cfg.cpus, controllers: cfg.controllers, tpm: { kind: 'embedded' }, images: { ultravisor: buildImage('ultravisor', { variant: 'rogue' }) } });
      const bound = await bootSvm(new AttackContext(boundDir), cs);

      const leaked = !!rogue.canary || (rogue.leaks ?? 0) > 0 || (rogue.key?.normal ?? 0) > 0 || (rogue.key?.secure ?? 0) > 0 || unsigned.error === undefined;
      const controlOk = !!genuine.canary && (genuine.key?.normal ?? 1) === 0 && (bound.leaks ?? 0) > 0 && (bound.key?.normal ?? 0) > 0;
      const evidence = `the signed rogue ultravisor passed secure boot and was measured as "${rogue.variant}" (the machine key is bound to another measurement: ${rogue.matches ? 'NO' : 'yes'}): ${rogue.esm}; ` +
        `it leaked ${rogue.leaks} master keys, and the SVM's master key was found in ${rogue.key?.normal} normal and ${rogue.key?.secure} secure frames. ` +
        `The unsigned ultravisor: ${unsigned.error ?? `BOOTED: ${unsigned.esm}`}. ` +
        `Control: the genuine ultravisor: ${genuine.esm?.replace("WENT SECURE", "went secure")} (master key in ${genuine.key?.normal} normal frames); ` +
        `on a machine whose key is bound to the rogue build, the rogue ${(bound.leaks ?? 0) > 0 ? `was given the key and leaked it: the master key is in ${bound.key?.normal} normal frame${bound.key?.normal === 1 ? '' : 's'} (first at ${bound.key?.first})` : `leaked nothing (${bound.esm})`}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

