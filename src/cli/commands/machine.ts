// `pef machine ...`: make a machine directory, boot it through secure and trusted boot, check
// it can unwrap what SVM owners wrap to it, and manage its key (rekey, duplicate-key).
import { existsSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import {
  bootMachine, createMachine, duplicateKey, formatSize, isStage, listFirmware, machinePublicKey, openMachine, parseContainer,
  parseSize, rekeyMachine, selftest, STAGES, type BootResult,
} from '../../firmware/index.js';
import { parseEndpoint, toHex } from '../../tpm/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { CheckFailed, InputError } from '../../util/errors.js';
import { readInputFile } from '../../util/input-file.js';

function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
}

function parseTpm(s: string): { kind: 'embedded' } | { kind: 'swtpm'; endpoint: ReturnType<typeof parseEndpoint> } {
  if (s === 'embedded') return { kind: 'embedded' };
  if (s.startsWith('swtpm:')) return { kind: 'swtpm', endpoint: parseEndpoint(s.slice(6), '--tpm') };
  throw new InputError('--tpm', `'${s}' is not embedded or swtpm:HOST:PORT[:CTRLPORT]`);
}

function readPublicKey(file: string): KeyObject {
  const pem = Buffer.from(readInputFile(file, 'public key'));
  try { return createPublicKey(pem); } catch (e) {
    throw new InputError(file, `not a public key (${e instanceof Error ? e.message : String(e)})`);
  }
}

function positiveInt(s: string, subject: string): number {
  if (!/^\d+$/.test(s)) throw new InputError(subject, `'${s}' is not a whole number`);
  return Number(s);
}

function bootReport(b: BootResult): Record<string, unknown> {
  return {
    stages: b.measurements.map((m) => ({ ...m.descriptor, pcr: m.pcr, digest: m.digest })),
    pcrs: Object.fromEntries([...b.pcrs].map(([k, v]) => [k, toHex(v)])),
    eventLog: b.eventLog.toJSON(),
    ultravisorMatchesKey: b.ultravisorMatchesKey,
    handoff: { keyHandle: `0x${b.handoff.keyHandle.toString(16)}`, keyName: toHex(b.handoff.keyName), pcrIndex: b.handoff.pcrIndex },
  };
}

export function register(program: Command, ctx: CliContext): void {
  const machine = program.command('machine').description('machines: create one, boot it (secure + trusted boot), check and manage its TPM-held key');
  examples(machine,
    'pef machine create m1 --memory 16G --secure-memory 8G --cpus 4',
    'pef machine create m2 --tpm swtpm:127.0.0.1:2321:2322',
    'pef machine boot m1',
    'pef machine selftest m1 --json',
    'pef machine pubkey m1 -o m1.pem',
    'pef machine duplicate-key --from m1 --to m2');

  examples(machine.command('create').description('make a machine directory: configuration, signed firmware, SEEPROM, a provisioned TPM')
    .argument('<dir>', 'the machine directory to create (must not exist)')
    .option('--memory <size>', 'memory (K/M/G/T)', '16G')
    .option('--secure-memory <size>', 'of which secure memory', '8G')
    .option('--cpus <n>', 'hardware threads', '4')
    .option('--controllers <n>', 'memory controllers (memory and secure memory split evenly)')
    .option('--tpm <kind>', 'embedded, or swtpm:HOST:PORT[:CTRLPORT]', 'embedded')
    .option('--firmware-key <pem>', 'trust this firmware-signing public key instead of the model vendor key')
    .option('--json', 'report as JSON'),
  'pef machine create m1', 'pef machine create m1 --memory 4G --secure-memory 1G --cpus 2 --tpm swtpm:127.0.0.1:2321')
    .action(async (dir: string, o: { memory: string; secureMemory: string; cpus: string; controllers?: string; tpm: string; firmwareKey?: string; json?: boolean }) => {
      if (existsSync(dir)) throw new InputError(dir, 'already exists');
      const cfg = await createMachine(dir, {
        memory: parseSize(o.memory, '--memory'), secureMemory: parseSize(o.secureMemory, '--secure-memory'), cpus: positiveInt(o.cpus, '--cpus'),
        ...(o.controllers ? { controllers: positiveInt(o.controllers, '--controllers') } : {}),
        tpm: parseTpm(o.tpm), ...(o.firmwareKey ? { firmwareKey: readPublicKey(o.firmwareKey) } : {}),
        log: (l) => { if (!o.json) ctx.err(l + '\n'); },
      });
      const k = cfg.machineKey;
      if (o.json) ctx.out(JSON.stringify({ machine: dir, fingerprint: k.fingerprint, keyName: k.name, tpm: cfg.tpm }) + '\n');
      else ctx.out(`created ${dir}: ${formatSize(cfg.memory)} memory (${formatSize(cfg.secureMemory)} secure), ${cfg.cpus} threads, TPM ${cfg.tpm.kind}\nmachine key fingerprint ${k.fingerprint}\n`);
    });

  examples(machine.command('show').description('print a machine\'s configuration, key and firmware')
    .argument('<dir>', 'machine directory').option('--json', 'print JSON'), 'pef machine show m1 --json')
    .action((dir: string, o: { json?: boolean }) => {
      const md = openMachine(dir);
      const c = md.config;
      const fw = listFirmware(dir);
      if (o.json) { ctx.out(JSON.stringify({ machine: dir, config: c, seeprom: toHex(md.seepromHash), firmware: fw }) + '\n'); return; }
      const k = c.machineKey;
      ctx.out([
        `machine ${dir}`,
        `  memory ${formatSize(c.memory)} (${formatSize(c.secureMemory)} secure) in ${c.controllers} controller(s), ${c.cpus} threads`,
        `  TPM ${c.tpm.kind === 'embedded' ? `embedded (${c.tpm.state})` : `swtpm ${c.tpm.endpoint}`}`,
        `  SEEPROM firmware-key hash ${toHex(md.seepromHash).slice(0, 32)}...`,
        `  machine key 0x${k.handle.toString(16)} name ${k.name}`,
        `    fingerprint ${k.fingerprint} (generation ${k.generation}, ${k.origin})`,
        `    bound to ultravisor ${k.ultravisor.implementation} ${k.ultravisor.variant} ${k.ultravisor.version} (PCR ${k.uvPcr} = ${k.uvPcrValue})`,
        '  firmware:',
        ...fw.map((f) => `    ${f.stage.padEnd(10)} ${f.descriptor ? `${f.descriptor.implementation} ${f.descriptor.variant} ${f.descriptor.version}` : '?'}  secure boot: ${f.secureBoot}${f.boundToKey === false ? '  (NOT the ultravisor the key is bound to)' : ''}`),
      ].join('\n') + '\n');
    });

  examples(machine.command('pubkey').description('the machine key\'s public part as PEM, read from the TPM (what SVM owners authorize)')
    .argument('<dir>', 'machine directory').option('-o, --output <file>', 'write to a file instead of standard output'),
  'pef machine pubkey m1 -o m1.pem')
    .action((dir: string, o: { output?: string }) => {
      const k = machinePublicKey(dir);
      if (o.output) { writeFileAtomic(o.output, k.pem); ctx.err(`wrote ${o.output} (fingerprint ${k.fingerprint})\n`); } else ctx.out(k.pem);
    });

  examples(machine.command('boot').description('secure and trusted boot: each stage verified and measured, the key\'s auth rotated; prints measurements and PCRs')
    .argument('<dir>', 'machine directory').option('--json', 'print JSON').option('--event-log <file>', 'write the TCG event log (binary, tpm2_eventlog reads it)'),
  'pef machine boot m1', 'pef machine boot m1 --event-log m1.log && tpm2_eventlog m1.log')
    .action((dir: string, o: { json?: boolean; eventLog?: string }) => {
      const b = bootMachine(dir, { log: (l) => { if (!o.json) ctx.out(l + '\n'); } });
      try {
        if (o.eventLog) writeFileAtomic(o.eventLog, b.eventLog.toTcg());
        if (o.json) { ctx.out(JSON.stringify({ machine: dir, ...bootReport(b) }) + '\n'); return; }
        ctx.out('PCRs (SHA-256):\n');
        for (const [i, v] of b.pcrs) ctx.out(`  ${String(i).padStart(2)}: ${toHex(v)}\n`);
        ctx.out(`booted: the ultravisor holds the machine key's auth value for this boot${b.ultravisorMatchesKey ? '' : ' (but it is not the ultravisor the key is bound to)'}\n`);
      } finally {
        b.close();
      }
    });

  examples(machine.command('selftest').description('boot, then have the booted ultravisor unwrap a test key wrapped to this machine\'s public key; ok or the TPM\'s refusal')
    .argument('<dir>', 'machine directory').option('--json', 'print JSON'), 'pef machine selftest m1')
    .action((dir: string, o: { json?: boolean }) => {
      const r = selftest(dir);
      if (o.json) ctx.out(JSON.stringify({ machine: dir, ...r }) + '\n');
      else {
        ctx.out(`ultravisor ${r.ultravisor.implementation} ${r.ultravisor.variant} ${r.ultravisor.version}; key bound to ${r.keyBoundTo.variant} ${r.keyBoundTo.version}\n`);
        ctx.out(`relay (hypervisor's view): ${r.relay.commands} commands, ${r.relay.bytes} bytes, key in clear: ${r.relay.keyInClear ? 'YES' : 'no'}\n`);
        ctx.out(r.ok ? `selftest ok: the ultravisor unwrapped a key wrapped to ${r.fingerprint}\n` : `selftest FAILED: ${r.refusal?.message ?? 'the key crossed the relay in clear'}\n`);
      }
      if (!r.ok) ctx.exitCode = 1;
    });

  examples(machine.command('firmware').description('list the firmware images or replace one (secure boot judges it at the next boot)')
    .argument('<dir>', 'machine directory')
    .option('--list', 'list the images with their signature status and measurement')
    .option('--replace <stage=file>', `replace one image (stages: ${STAGES.join(', ')})`)
    .option('--json', 'print JSON'),
  'pef machine firmware m1 --list', 'pef firmware build ultravisor --variant rogue -o rogue.img && pef machine firmware m1 --replace ultravisor=rogue.img')
    .action((dir: string, o: { list?: boolean; replace?: string; json?: boolean }) => {
      if (!o.list && !o.replace) throw new InputError('pef machine firmware', 'give --list or --replace STAGE=FILE');
      if (o.replace) {
        const m = /^([a-z]+)=(.+)$/.exec(o.replace);
        if (!m || !isStage(m[1]!)) throw new InputError('--replace', `'${o.replace}' is not STAGE=FILE with STAGE one of ${STAGES.join(', ')}`);
        const stage = m[1];
        const file = m[2]!;
        const bytes = readInputFile(file, 'firmware image');
        let c;
        try { c = parseContainer(bytes); } catch (e) { throw new InputError(file, e instanceof Error ? e.message : String(e)); }
        if (c.stage !== stage) throw new InputError(file, `is an image for stage '${c.stage}', not ${stage}`);
        const md = openMachine(dir);
        md.replaceFirmware(stage, bytes);
        if (!o.json) ctx.out(`replaced ${stage} of ${dir}\n`);
      }
      const fw = listFirmware(dir);
      if (o.json) { ctx.out(JSON.stringify({ machine: dir, firmware: fw }) + '\n'); return; }
      if (o.list || o.replace) {
        for (const f of fw) {
          ctx.out(`${f.stage.padEnd(10)} ${String(f.size).padStart(7)} B  ${f.descriptor ? `${f.descriptor.implementation} ${f.descriptor.variant} ${f.descriptor.version}` : '-'}\n`);
          ctx.out(`           secure boot: ${f.secureBoot}${f.digest ? `; measures ${f.digest}` : ''}${f.boundToKey === false ? '; not the ultravisor the machine key is bound to' : ''}\n`);
        }
      }
    });

  examples(machine.command('rekey').description('a new wrapping key (the machine changed hands): SVMs authorized for the old key no longer run here')
    .argument('<dir>', 'machine directory').option('--json', 'print JSON'), 'pef machine rekey m1')
    .action((dir: string, o: { json?: boolean }) => {
      const before = openMachine(dir).config.machineKey.fingerprint;
      const k = rekeyMachine(dir).machineKey;
      if (o.json) ctx.out(JSON.stringify({ machine: dir, previous: before, fingerprint: k.fingerprint, generation: k.generation }) + '\n');
      else ctx.out(`rekeyed ${dir}: fingerprint ${before} -> ${k.fingerprint}\n`);
    });

  examples(machine.command('duplicate-key').description('TPM2 Duplicate/Import: B takes A\'s key (same public key), still bound to B\'s measured ultravisor')
    .requiredOption('--from <dir>', 'machine A, whose key is copied')
    .requiredOption('--to <dir>', 'machine B, which takes it (its own key is replaced)')
    .option('--json', 'print JSON'), 'pef machine duplicate-key --from m1 --to m2')
    .action((o: { from: string; to: string; json?: boolean }) => {
      if (o.from === o.to) throw new InputError('--to', 'is the same machine as --from');
      const k = duplicateKey(o.from, o.to).machineKey;
      const a = openMachine(o.from).config.machineKey;
      if (a.fingerprint !== k.fingerprint) throw new CheckFailed('the key on B does not have A\'s fingerprint');
      if (o.json) ctx.out(JSON.stringify({ from: o.from, to: o.to, fingerprint: k.fingerprint }) + '\n');
      else ctx.out(`${o.to} now holds the key of ${o.from} (fingerprint ${k.fingerprint})\n`);
    });
}
