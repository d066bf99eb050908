// `pef svm inspect`: what an image holds (see src/image/inspect.ts).
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { CheckFailed, InputError } from '../../util/errors.js';
import { getPassphrase } from '../../util/passphrase.js';
import { EsmInputError, EsmRefused, loadSecretKey } from '../../esm/index.js';
import { formatImageReport, inspectImage } from '../../image/inspect.js';
import { readInputFile } from '../../image/image-dir.js';

export function registerSvmInspect(svm: Command, ctx: CliContext): void {
  svm.command('inspect')
    .description('show what an SVM (or VM) image holds: keys it is authorized for, attachments, digests, the LUKS2 header')
    .argument('<svm-dir>', 'the image directory')
    .option('--key <sec>', 'an authorized secret key: open the blob and compare its sealed digests with the files (exit 1 on a mismatch)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  $ pef svm inspect svm1\n  $ pef svm inspect svm1 --key owner.sec --json')
    .action(async (dir: string, o: { key?: string; json?: boolean }) => {
      let secret;
      if (o.key) {
        const path = o.key;
        try {
          secret = { key: await loadSecretKey(readInputFile(path, 'secret key'), path, () => getPassphrase(`Enter passphrase for key '${path}': `, path)), subject: path };
        } catch (e) {
          if (e instanceof EsmInputError) throw new InputError(e.subject, e.message.slice(e.subject.length + 2));
          throw e;
        }
      }
      let r;
      try { r = inspectImage(dir, secret); } catch (e) {
        if (e instanceof EsmRefused) throw new CheckFailed(e.message);
        throw e;
      }
      ctx.out(o.json ? JSON.stringify(r) + '\n' : formatImageReport(r));
      if (r.sealedDigests.opened) {
        const bad = Object.entries(r.sealedDigests.checks).filter(([, v]) => v !== 'match').map(([k]) => k);
        if (bad.length) throw new CheckFailed(`${dir}: the sealed digests do not match the image's ${bad.join(', ')}`);
      }
    });
}
