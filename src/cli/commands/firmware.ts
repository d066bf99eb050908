// `pef firmware build`: a firmware image in the model's signed container format, signed with the
// model's vendor key (or another key, or not at all) - for replacing a machine's stage.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { buildImage, isStage, KNOWN_VARIANTS, parseContainer, parsePayload, STAGES } from '../../firmware/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { InputError } from '../../util/errors.js';
import { readInputFile } from '../../util/input-file.js';

function readPrivateKey(file: string): KeyObject {
  const pem = Buffer.from(readInputFile(file, 'private key'));
  try { return createPrivateKey(pem); } catch (e) {
    throw new InputError(file, `not a private key (${e instanceof Error ? e.message : String(e)})`);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const fw = program.command('firmware').description('firmware images: build signed (or unsigned) containers for a machine\'s stages');
  fw.command('build').description('build a firmware image for a stage, signed with the model\'s firmware vendor key')
    .argument('<stage>', `one of ${STAGES.join(', ')}`)
    .requiredOption('-o, --output <file>', 'the image file to write')
    .option('--variant <name>', `implementation variant (${STAGES.map((s) => `${s}: ${KNOWN_VARIANTS[s].join('/')}`).join('; ')})`, 'genuine')
    .option('--version <v>', 'version string', '1.0.0')
    .option('--unsigned', 'no signature (secure boot must stop at this stage)')
    .option('--key <pem>', 'sign with this private key instead (an unknown key, unless the machine\'s SEEPROM trusts it)')
    .option('--json', 'report as JSON')
    .addHelpText('after', `
Examples:
  $ pef firmware build ultravisor -o uv.img
  $ pef firmware build ultravisor --variant rogue -o rogue.img     (signed: secure boot passes, the TPM refuses)
  $ pef firmware build ultravisor --unsigned -o unsigned.img       (secure boot stops)`)
    .action((stage: string, o: { output: string; variant: string; version: string; unsigned?: boolean; key?: string; json?: boolean }) => {
      if (!isStage(stage)) throw new InputError('stage', `'${stage}' is not one of ${STAGES.join(', ')}`);
      if (o.unsigned && o.key) throw new InputError('--key', 'cannot be used with --unsigned');
      let bytes: Uint8Array;
      try {
        bytes = buildImage(stage, { variant: o.variant, version: o.version, key: o.unsigned ? null : o.key ? readPrivateKey(o.key) : undefined });
      } catch (e) {
        if (e instanceof RangeError) throw new InputError('--variant/--version', e.message);
        throw e;
      }
      writeFileAtomic(o.output, bytes);
      const d = parsePayload(parseContainer(bytes).payload);
      if (o.json) ctx.out(JSON.stringify({ file: o.output, size: bytes.length, signed: !o.unsigned, ...d }) + '\n');
      else ctx.out(`wrote ${o.output}: ${d.stage} ${d.implementation} ${d.variant} ${d.version}, ${bytes.length} bytes, ${o.unsigned ? 'unsigned' : o.key ? `signed with ${o.key}` : 'signed with the model vendor key'}\n`);
    });
}
