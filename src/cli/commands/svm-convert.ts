// `pef svm convert`: turn a VM image into an SVM image (see src/image/convert.ts).
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { InputError } from '../../util/errors.js';
import { getPassphrase } from '../../util/passphrase.js';
import { progress, type Progress } from '../../util/progress.js';
import { convertToSvm } from '../../image/convert.js';
import { readInputFile } from '../../image/image-dir.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface Opts {
  output: string; ownerPub: string; ownerSec: string; ownerComment?: string;
  authorize: string[]; attach: string[]; diskPassphraseFile?: string; json?: boolean; quiet?: boolean;
}

function attachments(list: string[]): { name: string; path: string }[] {
  return list.map((a) => {
    const i = a.indexOf('=');
    if (i <= 0 || i === a.length - 1) throw new InputError(`--attach ${a}`, 'expected NAME=FILE');
    return { name: a.slice(0, i), path: a.slice(i + 1) };
  });
}

function diskPassphrase(o: Opts): Uint8Array | undefined {
  if (o.diskPassphraseFile) return readInputFile(o.diskPassphraseFile, 'disk passphrase file');
  const env = process.env.PEF_DISK_PASSPHRASE;
  return env === undefined ? undefined : new TextEncoder().encode(env);
}

export function registerSvmConvert(svm: Command, ctx: CliContext): void {
  svm.command('convert')
    .description('turn a VM image into an SVM image: LUKS2 root disk, svm=on, digests, ESM blob in front of the initramfs')
    .argument('<vm-dir>', 'the VM image directory')
    .requiredOption('-o, --output <svm-dir>', 'the SVM image directory to create (must not exist)')
    .requiredOption('--owner-pub <pem>', 'the owner\'s public key (origin lockbox)')
    .requiredOption('--owner-sec <pem>', 'the owner\'s secret key (checked against --owner-pub; PEF_PASSPHRASE if encrypted)')
    .option('--owner-comment <text>', 'comment of the origin lockbox', 'owner')
    .option('--authorize <pem>', 'a machine public key the SVM may run on (repeat for more machines)', collect, [])
    .option('--attach <name=file>', 'attach a file to the ESM blob (repeatable; "rootd" is the disk passphrase)', collect, [])
    .option('--disk-passphrase-file <file>', 'for a disk that is already LUKS2: the passphrase that opens it (or PEF_DISK_PASSPHRASE)')
    .option('--quiet', 'no progress')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', `
A plain root disk is encrypted into LUKS2 (aes-xts-plain64, 512-bit key, pbkdf2/sha256
keyslot) under a fresh random passphrase that only the ESM blob carries (as "rootd").
Nothing is written under the output name unless the whole image is complete.

Examples:
  $ pef image sample vm1
  $ pef esm generate -p owner.pem -s owner.sec
  $ pef svm convert vm1 -o svm1 --owner-pub owner.pem --owner-sec owner.sec --authorize m1.pem --authorize m2.pem
  $ pef svm convert luksvm -o svm2 --owner-pub owner.pem --owner-sec owner.sec --authorize m1.pem --disk-passphrase-file pw --attach app-key=app.key`)
    .action(async (vmDir: string, o: Opts) => {
      let bar: Progress | undefined;
      let last = 0;
      const r = await convertToSvm({
        vmDir, outDir: o.output, ownerPub: o.ownerPub, ownerSec: o.ownerSec, ownerComment: o.ownerComment,
        authorize: o.authorize, attach: attachments(o.attach), diskPassphrase: diskPassphrase(o),
        keyPassphrase: () => getPassphrase(`Enter passphrase for key '${o.ownerSec}': `, o.ownerSec),
        onStart: (total) => { bar = progress('disk.img', total, { quiet: o.json || o.quiet }); },
        onProgress: (done) => { bar?.tick(done - last); last = done; },
      });
      bar?.done();
      if (o.json) { ctx.out(JSON.stringify(r) + '\n'); return; }
      ctx.out(`wrote SVM image ${r.outDir}\n`);
      ctx.out(`  disk.img   ${r.encryptedDisk ? 'encrypted into' : 'kept as'} LUKS2 ${r.diskUuid}; passphrase attached as rootd\n`);
      ctx.out(`  bootargs   ${r.bootargs}\n`);
      for (const l of r.lockboxes) ctx.out(`  ${l.name.padEnd(15)} ${l.fingerprint}  ${l.comment}\n`);
      ctx.out(`  attached   ${r.attachments.join(', ')}\n`);
      ctx.out(`  ESM blob   ${r.blobBytes} bytes, in front of the initramfs and in esm.blob\n`);
    });
}
