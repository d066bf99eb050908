// `pef svm ...`: SVM image tools. Each subcommand registers itself from its own file.
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { registerSvmAdd } from './svm-add.js';
import { registerSvmConvert } from './svm-convert.js';
import { registerSvmInspect } from './svm-inspect.js';

export function register(program: Command, ctx: CliContext): void {
  const svm = program.command('svm').description('SVM images: convert a VM image, inspect one, add an ESM blob to an initramfs')
    .addHelpText('after', '\nExamples:\n  $ pef svm convert vm1 -o svm1 --owner-pub owner.pem --owner-sec owner.sec --authorize m1.pem\n  $ pef svm inspect svm1\n  $ pef svm add -i initrd.img -b svm.esm -f esmb-initrd.img');
  registerSvmAdd(svm, ctx);
  registerSvmConvert(svm, ctx);
  registerSvmInspect(svm, ctx);
}
