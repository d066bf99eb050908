// `pef svm add`: svm-tools' way to ship an ESM blob with an SVM: a cpio newc archive holding
// opt/ibm/pef/<blob's file name>, prepended to the initramfs, where the ultravisor looks.
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { svmAdd, PEF_CPIO_DIR } from '../../esm/index.js';
import { esmAction, openBlob, readInput } from './esm-io.js';

export function registerSvmAdd(svm: Command, ctx: CliContext): void {
  svm.command('add')
    .description(`write OUT: a cpio archive holding ${PEF_CPIO_DIR}/<blob name>, then the initramfs`)
    .requiredOption('-i, --initramfs <file>', 'the SVM\'s initramfs')
    .requiredOption('-b, --blob <file>', 'ESM blob (checked before it is added)')
    .requiredOption('-f, --file <file>', 'initramfs to write')
    .option('--json', 'report as JSON')
    .addHelpText('after', '\nExamples:\n  $ pef svm add -i initrd.img -b svm.esm -f esmb-initrd.img')
    .action((o: { initramfs: string; blob: string; file: string; json?: boolean }) => esmAction(o.blob, () => {
      const blob = openBlob(o.blob);
      const out = svmAdd(readInput(o.initramfs, 'initramfs'), blob.bytes, basename(o.blob));
      writeFileAtomic(o.file, out);
      if (o.json) ctx.out(JSON.stringify({ file: o.file, size: out.length, path: `${PEF_CPIO_DIR}/${basename(o.blob)}` }) + '\n');
    }));
}
