// `pef run IMAGE_DIR... --on MACHINE_DIR`: boot the machine (secure and trusted boot), start
// each image as a VM (it asks to become an SVM itself when its boot arguments say svm=on),
// stream each console prefixed with the VM's name, and exit 0 only when every VM powered off
// cleanly. A failure names the layer and the reason. --trace writes every transition as JSON
// lines.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { runMachine, type Vm } from '../../hypervisor/index.js';
import type { TraceEvent } from '../../hw/trace.js';
import { InputError } from '../../util/errors.js';
import { tempNameFor } from '../../util/atomic.js';
import { createRunVm, describeFailure, loadRunImage, startSystem, type RunImage } from './run-system.js';

/** JSON lines written to a temporary file and renamed into place when the run ends. */
class TraceFile {
  readonly #tmp: string;
  readonly #fd: number;
  #buf: string[] = [];
  #size = 0;
  events = 0;
  constructor(readonly path: string) {
    this.#tmp = tempNameFor(path);
    try { this.#fd = openSync(this.#tmp, 'w', 0o644); } catch (e) { throw new InputError(path, `cannot write the trace (${(e as NodeJS.ErrnoException).code})`); }
  }
  write(e: TraceEvent): void {
    const line = JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    this.#buf.push(line);
    this.#size += line.length + 1;
    this.events++;
    if (this.#size > 1 << 16) this.#flush();
  }
  #flush(): void {
    if (this.#buf.length === 0) return;
    writeSync(this.#fd, this.#buf.join('\n') + '\n');
    this.#buf = [];
    this.#size = 0;
  }
  finish(): void { this.#flush(); fsyncSync(this.#fd); closeSync(this.#fd); renameSync(this.#tmp, this.path); }
  abandon(): void { try { closeSync(this.#fd); } catch { /* already closed */ } rmSync(this.#tmp, { force: true }); }
}

interface Options { on?: string; json?: boolean; trace?: string; timeout?: string }

export function register(program: Command, ctx: CliContext): void {
  program.command('run')
    .description('boot a machine and run VM images on it, side by side (an image whose boot arguments say svm=on becomes an SVM)')
    .argument('<image...>', 'image directories (kernel, initramfs, bootargs, disk.img, vm.json)')
    .requiredOption('--on <machine>', 'the machine directory to boot')
    .option('--json', 'print one JSON object when the run ends (consoles included) instead of streaming')
    .option('--trace <file>', 'write every transition (interrupts, ultracalls, hypercalls, page states) as JSON lines')
    .option('--timeout <seconds>', 'stop VMs still running after this long (wall clock)')
    .addHelpText('after', `
Examples:
  $ pef image sample vm1 && pef run vm1 --on m1
  $ pef svm convert vm1 -o svm1 --owner-pub owner.pem --owner-sec owner.sec --authorize m1.pem
  $ pef run svm1 vm1 --on m1                  an SVM and a normal VM side by side
  $ pef run svm1 --on m1 --trace run.jsonl --json

Exit status: 0 when every VM powered off cleanly, 1 when one failed (its reason is printed as
NAME: LAYER: REASON), 2 for bad input.`)
    .action(async (images: string[], o: Options) => {
      const machineDir = o.on!;
      const timeout = o.timeout === undefined ? undefined : Number(o.timeout);
      if (timeout !== undefined && !(timeout > 0)) throw new InputError('--timeout', `'${o.timeout}' is not a positive number of seconds`);
      const loaded: RunImage[] = images.map((d) => loadRunImage(d));
      const names = uniqueNames(loaded.map((l) => l.name));
      const trace = o.trace ? new TraceFile(o.trace) : undefined;
      try {
        const sys = startSystem(machineDir, {
          trace: trace ? (e) => trace.write(e) : undefined,
          hv: { onConsole: o.json ? undefined : (vm, line) => ctx.out(`${vm.name}: ${line}\n`) },
        });
        try {
          if (!o.json) ctx.err(`pef run: booted ${machineDir} (machine key ${sys.fingerprint.slice(0, 16)}...), starting ${loaded.length} VM${loaded.length === 1 ? '' : 's'}\n`);
          const vms: Vm[] = loaded.map((img, i) => createRunVm(sys, img, names[i]));
          const deadline = timeout === undefined ? undefined : Date.now() + timeout * 1000;
          const r = await runMachine(sys.machine, sys.hv, { until: deadline === undefined ? undefined : () => Date.now() > deadline });
          const report = vms.map((vm, i) => {
            let failure = describeFailure(vm, sys.fingerprint);
            if (!vm.exit) failure = r.reason === 'stalled' ? 'hypervisor: hung (every vCPU waits for an interrupt that will not come)' : deadline !== undefined && Date.now() > deadline ? `timed out after ${timeout} s` : failure;
            return { vm, image: loaded[i]!, failure };
          });
          const ok = report.every((x) => x.failure === undefined);
          if (o.json) {
            ctx.out(JSON.stringify({
              machine: machineDir, fingerprint: sys.fingerprint, ok,
              vms: report.map(({ vm, image, failure }) => ({
                name: vm.name, image: image.dir, svmImage: image.info.svm, secure: vm.secureEntries > 0,
                exit: vm.exit?.kind ?? 'running', ...(failure ? { failure } : {}),
                firstLineMs: vm.firstLineAt === undefined ? null : Math.round(vm.firstLineAt), console: vm.console,
              })),
              ...(trace ? { trace: { file: trace.path, events: trace.events } } : {}),
            }) + '\n');
          } else {
            for (const { vm, failure } of report) if (failure) ctx.err(`${vm.name}: ${failure}\n`);
          }
          if (!ok) ctx.exitCode = 1;
        } finally {
          sys.close();
        }
        trace?.finish();
      } catch (e) {
        trace?.abandon();
        throw e;
      }
    });
}

/** VM names as their images give them; a repeated name gets -2, -3, ... */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}-${k}`;
  });
}
