// `pef image sample`: a small VM image to turn into an SVM. Its root disk is a ustar tree with
// /init (a pef-init script), a secret, a tiny real ppc64le program and a few files to serve.

import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDirAtomic } from '../util/atomic.js';
import { syncFile, writeFileSynced as writeFile } from './fsutil.js';
import { writeCpio, S_IFDIR, S_IFREG } from './cpio.js';
import { buildHelloProgram } from './hello-elf.js';
import { IMAGE_FILES, MIN_DISK, SECTOR } from './image-dir.js';
import { buildModelKernel, DEFAULT_KERNEL_SIZE } from './kernel.js';
import { writeTar, type TarEntryInput } from './tar.js';
import { formatVmConfig, type VmConfig } from './vm-config.js';

export const SAMPLE_BOOTARGS = 'console=hvc0 root=/dev/vda ro';
export const SAMPLE_SECRET = 'the sample SVM secret: only an authorized machine reads this line\n';

export const SAMPLE_INIT = `#!pef-init
# /init of the sample VM: say where it runs, show the secret the encrypted disk keeps, hash
# what it serves, run a real ppc64le program, and leave a mark.
echo pef sample VM: init started
status
cat /etc/secret
sha256 /srv/www/index.html
exec /bin/hello
write /run/ready booted
echo pef sample VM: done
exit 0
`;

export interface SampleOptions {
  name?: string;
  /** Root disk size in bytes: a multiple of 512, at least 1 MiB (default 4 MiB). */
  diskSize?: number;
  kernelSize?: number;
  memory?: number;
  vcpus?: number;
}

export function sampleTree(): TarEntryInput[] {
  const html = '<!doctype html>\n<title>pef sample</title>\n<h1>Served from inside a secure VM</h1>\n';
  return [
    { path: 'init', data: SAMPLE_INIT, mode: 0o755 },
    { path: 'bin', type: 'dir' },
    { path: 'bin/hello', data: buildHelloProgram('hello from ppc64le user space\n'), mode: 0o755 },
    { path: 'etc', type: 'dir' },
    { path: 'etc/hostname', data: 'pef-sample\n' },
    { path: 'etc/secret', data: SAMPLE_SECRET, mode: 0o600 },
    { path: 'run', type: 'dir' },
    { path: 'srv', type: 'dir' },
    { path: 'srv/www', type: 'dir' },
    { path: 'srv/www/index.html', data: html },
    { path: 'srv/www/style.css', data: 'body { font-family: sans-serif; }\n' },
    { path: 'srv/www/robots.txt', data: 'User-agent: *\nDisallow: /\n' },
  ];
}

/** The root disk's content: the tree, to be put at offset 0 of a zero-filled disk of `size` bytes. */
export function sampleDiskTree(size = 4 * MIN_DISK): Uint8Array {
  if (size % SECTOR !== 0 || size < MIN_DISK) throw new RangeError(`disk size ${size} must be a multiple of 512 and at least 1 MiB`);
  const tar = writeTar(sampleTree());
  if (tar.length > size) throw new RangeError(`disk size ${size} cannot hold the ${tar.length}-byte tree`);
  return tar;
}

export function sampleInitramfs(): Uint8Array {
  const empty = new Uint8Array(0);
  return writeCpio([
    { name: '.', mode: S_IFDIR | 0o755, data: empty, nlink: 3 },
    { name: 'etc', mode: S_IFDIR | 0o755, data: empty, nlink: 2 },
    { name: 'etc/initramfs-release', mode: S_IFREG | 0o644, data: new TextEncoder().encode('pef sample initramfs 1\n') },
  ]);
}

/** Write the sample image to `dir` (which must not exist), all or nothing. */
export async function writeSampleImage(dir: string, o: SampleOptions = {}): Promise<VmConfig> {
  const config: VmConfig = { name: o.name ?? 'sample', memory: o.memory ?? 512 * 1024 * 1024, vcpus: o.vcpus ?? 1 };
  const diskSize = o.diskSize ?? 4 * MIN_DISK;
  const tree = sampleDiskTree(diskSize);
  const kernel = buildModelKernel({ size: o.kernelSize ?? DEFAULT_KERNEL_SIZE });
  await buildDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, IMAGE_FILES.kernel), kernel);
    await writeFile(join(tmp, IMAGE_FILES.initramfs), sampleInitramfs());
    await writeFile(join(tmp, IMAGE_FILES.bootargs), SAMPLE_BOOTARGS);
    // The rest of the disk is a hole: zeros that cost nothing to write, whatever the size.
    await writeFile(join(tmp, IMAGE_FILES.disk), tree);
    await truncate(join(tmp, IMAGE_FILES.disk), diskSize);
    await syncFile(join(tmp, IMAGE_FILES.disk));
    await writeFile(join(tmp, IMAGE_FILES.vm), formatVmConfig(config));
  });
  return config;
}
