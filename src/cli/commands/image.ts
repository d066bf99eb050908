// `pef image ...`: VM images (a directory of kernel, initramfs, bootargs, disk.img, vm.json).
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { InputError } from '../../util/errors.js';
import { writeSampleImage } from '../../image/sample.js';
import { existsSync } from 'node:fs';
import { parseMemory, formatMemory, formatVmConfig, parseVmConfig } from '../../image/vm-config.js';
import { IMAGE_FILES } from '../../image/image-dir.js';

function size(v: string, flag: string): number {
  const n = parseMemory(v);
  if (n === undefined || n <= 0) throw new InputError(flag, `'${v}' is not a size (bytes, or a number with K, M or G)`);
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('VM images: directories of kernel, initramfs, bootargs, disk.img and vm.json')
    .addHelpText('after', '\nExamples:\n  $ pef image sample vm1\n  $ pef svm convert vm1 -o svm1 --owner-pub owner.pem --owner-sec owner.sec --authorize m1.pem');
  image.command('sample')
    .description('write a small sample VM image into DIR (which must not exist): model kernel, initramfs, a root disk with /init, a secret and files to serve')
    .argument('<dir>', 'the image directory to create')
    .option('--name <name>', 'VM name in vm.json', 'sample')
    .option('--disk-size <size>', 'root disk size (multiple of 512, at least 1M)', '4M')
    .option('--kernel-size <size>', 'size of the model kernel\'s loadable image', '2M')
    .option('--memory <size>', 'guest memory', '512M')
    .option('--vcpus <n>', 'virtual CPUs', '1')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExamples:\n  $ pef image sample vm1\n  $ pef image sample big --disk-size 64M --memory 1G\n  $ tar tvf vm1/disk.img')
    .action(async (dir: string, o: { name: string; diskSize: string; kernelSize: string; memory: string; vcpus: string; json?: boolean }) => {
      const diskSize = size(o.diskSize, '--disk-size');
      if (diskSize % 512 !== 0 || diskSize < 1024 * 1024) throw new InputError('--disk-size', `${diskSize} must be a multiple of 512 and at least 1M`);
      const kernelSize = size(o.kernelSize, '--kernel-size');
      if (kernelSize < 4096 || kernelSize > 256 * 1024 * 1024) throw new InputError('--kernel-size', 'must be from 4K to 256M');
      const vcpus = Number(o.vcpus);
      if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 256) throw new InputError('--vcpus', `'${o.vcpus}' is not an integer from 1 to 256`);
      const memory = size(o.memory, '--memory');
      parseVmConfig(formatVmConfig({ name: o.name, memory, vcpus }), '--name/--memory/--vcpus');
      if (existsSync(dir)) throw new InputError(dir, 'already exists (the image directory must be new)');
      const cfg = await writeSampleImage(dir, { name: o.name, diskSize, kernelSize, memory, vcpus });
      if (o.json) ctx.out(JSON.stringify({ dir, files: Object.values(IMAGE_FILES).filter((f) => f !== IMAGE_FILES.esm), name: cfg.name, memory: cfg.memory, vcpus: cfg.vcpus, diskBytes: diskSize }) + '\n');
      else ctx.out(`wrote sample VM image ${dir} (${cfg.name}, ${formatMemory(cfg.memory)}, ${cfg.vcpus} vCPU, ${formatMemory(diskSize)} root disk)\n`);
    });
}
