// `pef bench convert`: convert a VM image with a 1 GiB root disk into an SVM image, in a child
// process, and compare the throughput with `openssl speed -evp aes-256-xts -bytes 65536` (one
// core) measured in the same run (aim: at least 50%); report the child's peak resident memory
// (aim: under 200 MB, i.e. the disk streams). The disk holds real data, not a hole. The time
// covers everything convert does, fsync included. The images live in memory (/dev/shm, or
// PEF_BENCH_DIR) so that the figure is the conversion's, not the storage device's: a disk
// that writes 250 MB/s would cap any converter at that.
// Also measured in the same run, to show where the limits are: the same 1 GiB streamed with
// no cipher at all (read, write, fsync: what the I/O alone costs here), and the cipher alone
// in memory, on one thread and on every thread. Before anything is timed, 1 GiB is written to
// memory and removed (touchMemory), so that neither figure pays for memory the machine never
// used before. dd copying the same disk (conv=fsync) gives the copy limit: no converter, however
// fast its cipher, writes the encrypted disk faster than dd copies the plain one.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchContext } from './index.js';
import { plainMetric, ratioMetric, type BenchReport, type Metric } from './report.js';
import { sampleDiskTree, writeSampleImage } from '../image/sample.js';
import { IMAGE_FILES } from '../image/image-dir.js';
import { generateRsaKeyPair } from '../esm/index.js';
import { DISK_CHUNK } from '../image/luks2-file.js';

export const CONVERT_DISK_BYTES = 1024 * 1024 * 1024;
const MB = 1e6;

/**
 * AES-256-XTS bytes per second from `openssl speed` at 64 KiB blocks, or null without openssl.
 * -elapsed: wall-clock time, as the conversion is timed (openssl's default divides by CPU time,
 * which would flatter it whenever the machine is busy).
 */
export function opensslXtsSpeed(seconds = 3): number | null {
  const r = spawnSync('openssl', ['speed', '-elapsed', '-evp', 'aes-256-xts', '-bytes', '65536', '-seconds', String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const line = r.stdout.split('\n').find((l) => /^AES-256-XTS\s/i.test(l.trim()));
  const m = line && /([0-9.]+)k\s*$/.exec(line.trim());
  return m ? Number(m[1]) * 1000 : null;
}

/**
 * Write a file of `size` bytes and remove it. In a virtual machine whose host backs guest memory
 * lazily, the first write to memory the guest has never used is slow (1 GiB took 2 s on the
 * development VM, against 0.2 to 0.4 s into memory used before); tmpfs reuses the pages a
 * removed file gave back, so after this the conversion's output, like the I/O floor's, lands
 * on memory used before.
 */
function touchMemory(dir: string, size: number): void {
  const path = join(dir, 'warm-up');
  const fd = openSync(path, 'w');
  try {
    const chunk = new Uint8Array(4 * 1024 * 1024).fill(0x5a);
    for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off), off);
  } finally { closeSync(fd); rmSync(path, { force: true }); }
}

/** Fill the disk after its file tree with incompressible data, so nothing is a hole. */
function fillDisk(path: string, from: number, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    const chunk = randomBytes(4 * 1024 * 1024);
    for (let off = Math.ceil(from / 4096) * 4096; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off), off);
  } finally { closeSync(fd); }
}

/**
 * `dd bs=1M conv=fsync` of `path` to a new file beside it: bytes per second (wall clock), or
 * null without dd. The copy every converter must at least make, by a program that does nothing
 * else: with the cipher perfectly overlapped on another core, no conversion can beat it.
 */
export function ddCopySpeed(path: string): number | null {
  const out = `${path}.dd`;
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('dd', [`if=${path}`, `of=${out}`, 'bs=1M', 'conv=fsync'], { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) return null;
    return CONVERT_DISK_BYTES / seconds;
  } finally { rmSync(out, { force: true }); }
}

function childEntry(): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  return { script: join(here, '..', `convert-child${extname(here)}`), execArgv: process.execArgv.filter((a) => !a.startsWith('--test')) };
}

async function runChild<T>(mode: 'convert' | 'floor' | 'cipher', arg: unknown): Promise<T> {
  const { script, execArgv } = childEntry();
  const child = spawn(process.execPath, [...execArgv, script, mode, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`convert bench child (${mode}) failed (${code}): ${err.split('\n').find((l) => /Error/.test(l)) ?? err.trim().split('\n').pop()}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export const convertBench: Bench = {
  description: 'pef svm convert of a 1 GiB disk vs openssl speed aes-256-xts; peak RSS of the conversion',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const base = process.env.PEF_BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
    const dir = mkdtempSync(join(base, 'pef-bench-convert-'));
    try {
      ctx.log('convert bench: writing a sample image with a 1 GiB disk of random data');
      await writeSampleImage(join(dir, 'vm'), { diskSize: CONVERT_DISK_BYTES });
      fillDisk(join(dir, 'vm', IMAGE_FILES.disk), sampleDiskTree(CONVERT_DISK_BYTES).length, CONVERT_DISK_BYTES);
      touchMemory(dir, CONVERT_DISK_BYTES + 32 * 1024 * 1024);
      const owner = generateRsaKeyPair('');
      const machine = generateRsaKeyPair('');
      writeFileSync(join(dir, 'owner.pem'), owner.pub);
      writeFileSync(join(dir, 'owner.sec'), owner.sec);
      writeFileSync(join(dir, 'm1.pem'), machine.pub);
      // openssl runs just before and just after the conversion, and the limit is their mean, so
      // that a machine whose load changes during the run is compared with itself.
      ctx.log('convert bench: openssl speed -elapsed -evp aes-256-xts -bytes 65536');
      const before = opensslXtsSpeed(2);
      ctx.log('convert bench: converting in a child process');
      const r = await runChild<{ seconds: number; maxRssBytes: number; jobs: number; userSeconds: number; systemSeconds: number; minorFaults: number }>('convert', { vmDir: join(dir, 'vm'), outDir: join(dir, 'svm'), ownerPub: join(dir, 'owner.pem'), ownerSec: join(dir, 'owner.sec'), authorize: [join(dir, 'm1.pem')] });
      const after = opensslXtsSpeed(2);
      rmSync(join(dir, 'svm'), { recursive: true, force: true });
      ctx.log('convert bench: the same disk streamed with no cipher; the cipher alone in memory');
      const floor = (await runChild<{ bytesPerSecond: number }>('floor', join(dir, 'vm', IMAGE_FILES.disk))).bytesPerSecond / MB;
      ctx.log('convert bench: dd of the same disk (the copy limit)');
      const ddBytes = ddCopySpeed(join(dir, 'vm', IMAGE_FILES.disk));
      const dd = ddBytes === null ? null : ddBytes / MB;
      const limit = before === null || after === null ? null : (before + after) / 2;
      const throughput = CONVERT_DISK_BYTES / r.seconds / MB;
      const cipher = await runChild<{ oneThread: number; allThreads: number | null; threads: number }>('cipher', null);
      const mem = cipher.oneThread / MB;
      const pool = cipher.allThreads;
      const metrics: Metric[] = [];
      if (limit === null) {
        metrics.push(plainMetric('convert throughput (1 GiB disk)', throughput, 'MB/s', 'ratio to openssl speed: openssl not found', false));
      } else {
        metrics.push(ratioMetric('convert throughput (1 GiB disk)', throughput, 'MB/s', limit / MB, 0.5, 'higher'));
        metrics.push(ratioMetric('same disk streamed, no cipher (I/O floor)', floor, 'MB/s', limit / MB, 0, 'higher'));
        if (dd !== null) metrics.push(ratioMetric('dd of the same disk, no cipher (copy limit)', dd, 'MB/s', limit / MB, 0, 'higher'));
        metrics.push(ratioMetric('aes-xts-plain64 in memory, one thread (no I/O)', mem, 'MB/s', limit / MB, 0.5, 'higher'));
        if (pool !== null) metrics.push(ratioMetric(`aes-xts-plain64 in memory, ${cipher.threads} threads (no I/O)`, pool / MB, 'MB/s', limit / MB, 0, 'higher'));
      }
      metrics.push(ratioMetric('convert throughput against the I/O floor', throughput, 'MB/s', floor, 0, 'higher'));
      if (dd !== null) metrics.push(ratioMetric('convert throughput against dd', throughput, 'MB/s', dd, 0, 'higher'));
      const rssMB = r.maxRssBytes / MB;
      metrics.push(plainMetric('peak RSS of the conversion (child)', rssMB, 'MB', '< 200 MB', rssMB < 200, 'lower'));
      return {
        bench: 'convert',
        metrics,
        notes: [
          `limit: openssl speed -elapsed -evp aes-256-xts -bytes 65536 on one thread (the mean of a run just before and one just after the conversion)${limit === null ? ' (not available)' : `: ${(before! / MB).toFixed(0)} and ${(after! / MB).toFixed(0)} MB/s`}`,
          `conversion took ${r.seconds.toFixed(2)} s for ${CONVERT_DISK_BYTES} bytes in ${base}, fsync included (CPU: ${r.userSeconds.toFixed(2)} s user, ${r.systemSeconds.toFixed(2)} s system; ${r.minorFaults} page faults); LUKS2 with 4096-byte sectors, ${DISK_CHUNK / 1024 / 1024} MiB chunks; the cipher ran on ${r.jobs === 1 ? 'one thread' : `${r.jobs} threads (this one and worker threads, sharing 64 KiB pieces)`} of ${availableParallelism()} CPUs`,
          'I/O floor: the same disk read and written to a new file beside it in the same chunks, no cipher, fsync included; 1 GiB written and removed before the timed runs, so that both write to memory used before',
          `copy limit: dd if=disk of=copy bs=1M conv=fsync in the same directory${dd === null ? ' (dd not found)' : ''}; a conversion reads, encrypts and writes, so even with the cipher free or on another core it cannot exceed dd's ratio`,
          'aes-xts-plain64 in memory: WebAssembly tweak mask + node:crypto AES-256-ECB, 16 KiB per ECB call; one thread copies through its own memory, the threads work in place',
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
