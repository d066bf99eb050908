// `pef svm ...`: SVM image tools. Each subcommand registers itself from its own file.
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { registerSvmAdd } from './svm-add.js';

export function register(program: Command, ctx: CliContext): void {
  const svm = program.command('svm').description('SVM images: add an ESM blob to an initramfs')
    .addHelpText('after', '\nExamples:\n  $ pef svm add -i initrd.img -b svm.esm -f esmb-initrd.img');
  registerSvmAdd(svm, ctx);
}
