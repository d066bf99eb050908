// Every input format the project reads, as a fuzz target: how to make a case from valid samples
// or random bytes, what to run on it (the reader as its users call it), and which errors are
// the reader's own. Anything else escaping, or a call that takes too long, is a counterexample.
// Formats with a fuzz test of their own elsewhere (DTB, the ESM blob's parser, tar, LUKS2,
// init scripts, the unwrap client) are here too, fewer rounds, so that this one list states
// the rule for all of them.

import { createPublicKey, publicEncrypt, constants, randomBytes as cryptoRandom } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdtError, FdtView, parseFdt } from '../../../src/fdt/index.js';
import {
  buildEsmBlobWithKey, computeDigests, decryptDigests, decryptFile, EsmCryptoError, EsmFormatError, EsmInputError, findLockbox,
  generateRsaKeyPair, listFiles, parseEsmBlob, readPublicKeyPem, splitInitramfs, svmAdd,
} from '../../../src/esm/index.js';
import { CpioError, isCpioAt, parseCpio, writeCpio, S_IFDIR, S_IFREG, CPIO_HEADER_SIZE } from '../../../src/image/cpio.js';
import { ElfError, loadableImage, parseElf } from '../../../src/image/elf.js';
import { buildModelKernel, wrapElf } from '../../../src/image/kernel.js';
import { buildHelloProgram } from '../../../src/image/hello-elf.js';
import { createLuks2 } from '../../../src/image/luks2.js';
import { readLuks2Header } from '../../../src/image/luks2-header.js';
import { Luks2Error } from '../../../src/image/luks2-metadata.js';
import { readTar, TarError, writeTar } from '../../../src/image/tar.js';
import { InitScriptError, parseInitScript } from '../../../src/image/init-script.js';
import { SAMPLE_INIT, sampleInitramfs, sampleTree } from '../../../src/image/sample.js';
import { RTAS_TEXT } from '../../../src/image/rtas.js';
import {
  bootMachine, buildContainer, buildPayload, ContainerFormatError, createMachine, descriptor, ImageFormatError, parseContainer, parsePayload,
  SecureBootError, vendorKeyHash, vendorSigningKey, verifyContainer,
} from '../../../src/firmware/index.js';
import { openMachine } from '../../../src/firmware/machine-dir.js';
import { ops, runSync, TpmError, TpmParseError, TpmProtocolError, unwrapLockboxSync, type TpmDevice, type UltravisorHandoff } from '../../../src/tpm/index.js';
import { CheckFailed } from '../../../src/util/errors.js';
import { seedCorpus } from '../../fdt/helpers.js';
import { mutateGeneric, mutateLines, pick, putUint, randomBytes, value64, type Next } from './mutate.js';

export interface Case {
  /** The bytes to report if the call misbehaves (set late by targets whose input is made during the call). */
  input: Uint8Array;
  exec(record: (b: Uint8Array) => void): void | Promise<void>;
}

export interface Target {
  name: string;
  /** Rounds in the quick test (the long run multiplies them). */
  runs: number;
  /** The reader's own errors: nothing else may escape. */
  typed(e: unknown): boolean;
  setup(): Promise<(next: Next) => Case> | ((next: Next) => Case);
  teardown?(): void;
}

const enc = new TextEncoder();
const ONE_OF = (...cs: (new (...a: never[]) => Error)[]) => (e: unknown) => cs.some((c) => e instanceof c);

/** A byte-string reader: mutated samples, format-aware mutations, random bytes. */
function bytesTarget(name: string, runs: number, typed: Target['typed'], samples: () => Uint8Array[], parse: (b: Uint8Array) => void,
  o: { magic?: Uint8Array; aware?: (b: Uint8Array, next: Next) => Uint8Array } = {}): Target {
  return {
    name, runs, typed,
    setup() {
      const s = samples();
      return (next) => {
        const k = next() % 10;
        const input = k === 0 ? randomBytes(next, o.magic) : k <= 3 && o.aware ? o.aware(pick(next, s).slice(), next) : mutateGeneric(pick(next, s), next);
        return { input, exec: () => parse(input) };
      };
    },
  };
}

// ---- cpio ---------------------------------------------------------------------------------

function cpioHeaders(b: Uint8Array): number[] {
  const out: number[] = [];
  try { for (let off = 0; isCpioAt(b, off);) { const a = parseCpio(b, off); for (const e of a.entries) out.push(e.offset); off = Math.ceil(a.end / 512) * 512; } } catch { /* the sample is valid */ }
  return out.length ? out : [0];
}

/** Every archive in the buffer, as the kernel (and the guest model) unpacks an initramfs: archives back to back, zero padding between. */
function unpackAll(b: Uint8Array): void {
  let off = 0;
  while (off < b.length) {
    if (b[off] === 0) { off++; continue; }
    const a = parseCpio(b, off);
    for (const e of a.entries) void e.name.length;
    if (a.end <= off) throw new Error('the reader did not advance');
    off = a.end;
  }
}

const cpio = bytesTarget('cpio (newc initramfs)', 3000, ONE_OF(CpioError), () => {
  const crc = writeCpio([{ name: 'a', mode: S_IFREG | 0o644, data: enc.encode('crc'), check: 0x123 }]);
  crc.set(enc.encode('070702'), 0);
  return [sampleInitramfs(), writeCpio([{ name: 'x', mode: S_IFDIR | 0o755, data: new Uint8Array(0) }, { name: 'x/y', mode: S_IFREG | 0o600, data: new Uint8Array(300) }]), crc,
    new Uint8Array([...sampleInitramfs(), ...sampleInitramfs()])];
}, unpackAll, {
  magic: enc.encode('070701'),
  aware(b, next) {
    // A header field (13 of them, 8 hex digits each after the magic) set to a boundary value.
    const at = pick(next, cpioHeaders(b)) + 6 + 8 * (next() % 13);
    const v = next() % 3 === 0 ? value64(next, b.length) & 0xffffffffn : pick(next, [0n, 1n, 0x7fffffffn, 0xffffffffn, BigInt(b.length), BigInt(CPIO_HEADER_SIZE)]);
    if (at + 8 <= b.length) b.set(enc.encode(v.toString(16).padStart(8, '0').slice(-8)), at);
    return b;
  },
});

// ---- ELF ----------------------------------------------------------------------------------

/** Header, program header and section header fields: (offset from their table, size). */
const ELF_EH: [number, number][] = [[4, 1], [5, 1], [16, 2], [24, 8], [32, 8], [40, 8], [54, 2], [56, 2], [58, 2], [60, 2], [62, 2]];
const ELF_PH: [number, number][] = [[0, 4], [8, 8], [16, 8], [24, 8], [32, 8], [40, 8]];
const ELF_SH: [number, number][] = [[0, 4], [4, 4], [8, 8], [16, 8], [24, 8], [32, 8]];

const elf = bytesTarget('ELF64 (kernel, programs)', 3000, ONE_OF(ElfError), () => [
  buildModelKernel({ size: 8192 }),
  buildHelloProgram('fuzz\n'),
  wrapElf(new Uint8Array(4096).fill(7), { paddr: 0x400000n, vaddr: 0xc000000000400000n, entry: 0xc000000000400000n }),
], (b) => { const e = parseElf(b); loadableImage(e); }, {
  magic: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
  aware(b, next) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const phoff = b.length >= 64 ? Number(dv.getBigUint64(32, true) & 0xffffffn) : 0;
    const shoff = b.length >= 64 ? Number(dv.getBigUint64(40, true) & 0xffffffn) : 0;
    for (let n = 1 + (next() % 2); n > 0; n--) {
      const where = next() % 3;
      const [off, size] = pick(next, where === 0 ? ELF_EH : where === 1 ? ELF_PH : ELF_SH);
      const base = where === 0 ? 0 : where === 1 ? phoff : shoff + 64 * (next() % 3);
      const v = size === 2 ? pick(next, [0n, 1n, 2n, 55n, 56n, 63n, 64n, 0xffffn, 0xffffn]) : value64(next, b.length);
      putUint(b, base + off, size, v, true);
    }
    return b;
  },
});

// ---- ESM blobs, as the ultravisor opens them -------------------------------------------

const esm: Target = {
  name: 'ESM blob in an initramfs: split, open, find the lockbox, digests and files with a wrong or the right key',
  runs: 2000,
  typed: ONE_OF(CpioError, EsmFormatError, EsmCryptoError),
  setup() {
    const machine = generateRsaKeyPair('');
    const other = generateRsaKeyPair('');
    const initramfs = sampleInitramfs();
    const built = buildEsmBlobWithKey({
      origin: { pubPem: other.pub, comment: 'owner' }, recipients: [{ pubPem: machine.pub, comment: 'machine' }],
      digests: computeDigests({ kernelImage: new Uint8Array(4096), initramfs, bootargs: 'svm=on', rtas: RTAS_TEXT }),
      files: [{ name: 'rootd', data: enc.encode('a passphrase') }, { name: 'other', data: new Uint8Array(300) }],
    });
    const fp = readPublicKeyPem(machine.pub, 'machine').fingerprint;
    const samples = [built.bytes, svmAdd(initramfs, built.bytes, 'esmb.dtb')];
    return (next) => {
      const input = next() % 10 === 0 ? randomBytes(next, pick(next, [enc.encode('070701'), new Uint8Array([0xd0, 0x0d, 0xfe, 0xed])])) : mutateGeneric(pick(next, samples), next);
      const right = next() % 2 === 0;
      return {
        input,
        exec() {
          const split = splitInitramfs(input);
          const blob = parseEsmBlob(split ? split.blob : input);
          const lb = findLockbox(blob, fp);
          if (!lb) return;
          const key = right ? built.symkey : new Uint8Array(cryptoRandom(32));
          decryptDigests(blob, key);
          for (const f of listFiles(blob)) decryptFile(blob, key, f.name);
        },
      };
    };
  },
};

// ---- the rest of the byte formats ----------------------------------------------------------

const dtb = bytesTarget('DTB (flattened device tree, tree and lazy view)', 1000, ONE_OF(FdtError), seedCorpus, (b) => {
  parseFdt(b);
  const v = new FdtView(b);
  let budget = 5000;
  const visit = (n: number) => { for (const p of v.properties(n)) { if (budget-- <= 0) return; void p.value.length; } for (const c of v.children(n)) { if (budget-- <= 0) return; visit(c); } };
  visit(v.root);
}, { magic: new Uint8Array([0xd0, 0x0d, 0xfe, 0xed]) });

const tar = bytesTarget('tar (ustar root disk)', 1000, ONE_OF(TarError), () => [writeTar(sampleTree())], (b) => { readTar(b); });

const init = bytesTarget('init script (#!pef-init)', 1000, ONE_OF(InitScriptError), () => [enc.encode(SAMPLE_INIT)], (b) => { parseInitScript(new TextDecoder().decode(b)); }, {
  magic: enc.encode('#!pef-init\n'),
  aware: (b, next) => enc.encode(mutateLines(new TextDecoder().decode(b), next, ['echo', 'cat /etc/secret', 'exec /bin/hello', 'exit 300', 'write /a', 'sha256', '/../..', '\u0000', '\t\t', 'x'.repeat(5000)])),
});

const luks2: Target = {
  name: 'LUKS2 header (both copies, JSON metadata)', runs: 300, typed: ONE_OF(Luks2Error),
  setup() {
    const c = createLuks2({ passphrase: 'fuzz', dataOffset: 1 << 20 });
    const hdr = c.headerBytes;
    return (next) => {
      const input = next() % 10 === 0 ? randomBytes(next, enc.encode('LUKS\xba\xbe'), 0x10000) : mutateGeneric(hdr, next);
      return { input, exec: () => { readLuks2Header((o, l) => input.subarray(Math.min(o, input.length), Math.min(o + l, input.length))); } };
    };
  },
};

const container = bytesTarget('firmware container and stage payload (secure boot)', 1000, ONE_OF(ContainerFormatError, SecureBootError, ImageFormatError), () => {
  const key = vendorSigningKey();
  return (['hostboot', 'opal', 'ultravisor', 'hypervisor'] as const).map((s) => buildContainer(s, buildPayload(descriptor(s)), key));
}, (b) => {
  // The structure first (what the signature check reads), then the payload, then secure boot's verdict.
  const c = parseContainer(b);
  parsePayload(c.payload);
  verifyContainer(b, c.stage, vendorKeyHash());
}, { magic: new Uint8Array([0x17, 0x08, 0x20, 0x11]) });

const pem = bytesTarget('public key PEM (recipients, machine keys)', 1000, ONE_OF(EsmInputError), () => {
  const k = generateRsaKeyPair('');
  return [k.pub, k.sec, enc.encode('-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n')];
}, (b) => { readPublicKeyPem(b, 'key.pem'); }, {
  magic: enc.encode('-----BEGIN PUBLIC KEY-----\n'),
  aware: (b, next) => {
    // Many BEGIN lines and no END: the block search must not go quadratic.
    const head = enc.encode(`-----BEGIN ${pick(next, ['PUBLIC KEY', 'A', 'RSA PUBLIC KEY'])}-----\n`);
    const n = 1 + (next() % 4 === 0 ? next() % 20_000 : next() % 2000); // and the 200,000-line case of FINDINGS below
    const out = new Uint8Array(head.length * n + b.length);
    for (let i = 0; i < n; i++) out.set(head, i * head.length);
    out.set(b, head.length * n);
    return next() % 2 ? out.subarray(0, head.length * n) : out;
  },
});

// ---- esm make's YAML, through the command line ----------------------------------------------

const YAML_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';

/** Exit 2 with one line: the command line's refusal, named by what it refused. */
class Refused extends Error {
  readonly code: string;
  constructor(line: string) {
    super(line.trim());
    this.name = 'exit 2';
    this.code = /not valid YAML|invalid format|unexpected key|missing key|must be a string|must be a map|unknown entry|origin|digest|no such|directory|cannot read|PEM|passphrase|terminal|key|ELF|name/i.exec(line)?.[0] ?? 'other';
  }
}

let yamlDir: string | undefined;
const yaml: Target = {
  name: "esm make's YAML configuration, through the command line (exit 0 or 2, one line, no stack)",
  runs: 150,
  typed: ONE_OF(Refused),
  async setup() {
    // The whole command line loads in a second: only this target's worker pays for it.
    const { main } = await import('../../../src/cli/main.js');
    delete process.env.PEF_PASSPHRASE;
    delete process.env.PEF_DEBUG;
    const d = yamlDir = mkdtempSync(join(tmpdir(), 'pef-yaml-fuzz-'));
    const owner = generateRsaKeyPair(''), other = generateRsaKeyPair(''), locked = generateRsaKeyPair('secret');
    const files: Record<string, Uint8Array> = {
      'owner.pub': owner.pub, 'owner.sec': owner.sec, 'machine.pub': other.pub, 'locked.sec': locked.sec, 'locked.pub': locked.pub,
      'kernel.elf': buildModelKernel({ size: 16384 }), 'initrd.cpio': sampleInitramfs(), 'secret.txt': enc.encode('a disk passphrase\n'),
      'empty': new Uint8Array(0), 'junk': new Uint8Array(cryptoRandom(777)),
    };
    for (const [n, b] of Object.entries(files)) writeFileSync(join(d, n), b);
    mkdirSync(join(d, 'adir'));
    const p = (n: string) => join(d, n);
    const valid = [
      `- origin:\n    pubkey: ${p('owner.pub')}\n    seckey: ${p('owner.sec')}\n    comment: owner\n`,
      `- origin:\n    pubkey: ${p('owner.pub')}\n    seckey: ${p('owner.sec')}\n- recipient:\n    pubkey: ${p('machine.pub')}\n    comment: machine A\n` +
        `- digest:\n    args: "console=hvc0 svm=on"\n    initramfs: ${p('initrd.cpio')}\n    kernel: ${p('kernel.elf')}\n- file:\n    path: ${p('secret.txt')}\n    name: rootd\n`,
    ];
    const tokens = [
      ...Object.keys(files).map(p), p('adir'), p('missing'), '/dev/null', 'origin:', 'recipient:', 'digest:', 'file:', 'pubkey:', 'seckey:', 'args:', 'kernel:',
      'initramfs:', 'name:', 'path:', 'comment:', '-', '- ', '  ', '    ', '[', ']', '{', '}', '&a', '*a', '!!binary', '!!str', '? ', '|', '>', '"', "'", '%YAML 1.2', '---', '...', 'null', '~', '0x10', '1e400', 'rootd',
      'a-name-of-thirty-two-characters-xx', '\t', '#', ': :', '- - -',
    ];
    const out = p('out.esm');
    return (next) => {
      const k = next() % 12;
      const text = k === 0 ? YAML_BOMB : k === 1 ? new TextDecoder().decode(randomBytes(next, undefined, 300))
        : k <= 3 ? pick(next, valid) : k <= 7 ? mutateLines(pick(next, valid), next, tokens) : new TextDecoder('latin1').decode(mutateGeneric(enc.encode(pick(next, valid)), next));
      const input = enc.encode(text);
      return {
        input,
        async exec() {
          const cfg = p('config.yml');
          writeFileSync(cfg, input);
          let err = '';
          const code = await main(['esm', 'make', '-b', out, '-y', cfg, '-j', '1'], { out: () => {}, err: (s) => { err += s; } });
          if (code !== 0 && code !== 2) throw new Error(`exit ${code}: ${err.trim()}`);
          if (code === 2 && !/^pef: [^\n]+\n$/.test(err)) throw new Error(`exit 2 without a one-line error: ${JSON.stringify(err.slice(0, 300))}`);
          if (code === 0 && err !== '') throw new Error(`exit 0 with errors printed: ${JSON.stringify(err.slice(0, 300))}`);
          if (code === 2) throw new Refused(err);
        },
      };
    };
  },
  teardown() { if (yamlDir) rmSync(yamlDir, { recursive: true, force: true }); },
};

// ---- TPM responses, through a lying transport ------------------------------------------------

const TPM_TYPED = ONE_OF(TpmError, TpmProtocolError, TpmParseError);

/** A TPM whose `lie`-th response is replaced by `mangle(response)`; counts what passes. */
function lyingDevice(real: TpmDevice): TpmDevice & { lie: number; seen: number; mangle: (r: Uint8Array) => Uint8Array } {
  const d = {
    kind: real.kind, description: `${real.description} (lying)`, lie: -1, seen: 0, mangle: (r: Uint8Array) => r,
    powerCycle: () => real.powerCycle(), saveState: () => {}, close: () => {},
    transmit: (c: Uint8Array) => { const r = real.transmit(c); return d.seen++ === d.lie ? d.mangle(new Uint8Array(r)) : r; },
  };
  return d;
}

/** A response's structure: tag, size and code, the parameter size after a handle, lengths inside. */
function mangleResponse(r: Uint8Array, next: Next): Uint8Array {
  const b = next() % 3 === 0 ? mutateGeneric(r, next) : r;
  const at = pick(next, [0, 2, 6, 10, 14, 16, next() % Math.max(1, b.length)]);
  const size = at === 2 || at === 6 || at === 10 || at === 14 ? 4 : 2;
  putUint(b, at, size, at === 2 ? pick(next, [0n, 9n, 10n, BigInt(b.length - 1), BigInt(b.length + 1), 0xffffffffn]) : value64(next, b.length), false);
  return b;
}

let tpmDir: string | undefined;
async function tpmMachine(): Promise<{ dir: string; device: TpmDevice }> {
  tpmDir ??= mkdtempSync(join(tmpdir(), 'pef-tpm-fuzz-'));
  const dir = join(tpmDir, `m${Math.random().toString(36).slice(2)}`);
  await createMachine(dir, { memory: 64 << 20, secureMemory: 16 << 20, cpus: 1, tpm: { kind: 'embedded' } });
  return { dir, device: openMachine(dir).openTpm({ autosave: false }) };
}

const tpmBoot: Target = {
  name: "TPM responses to firmware's boot (Startup, PCR extends and reads, ReadPublic, the auth rotation)",
  runs: 150,
  typed: ONE_OF(TpmError, TpmProtocolError, TpmParseError, CheckFailed),
  async setup() {
    const { dir, device } = await tpmMachine();
    const lying = lyingDevice(device);
    bootMachine(dir, { device: lying }).close();
    const n = lying.seen;
    return (next) => {
      const c: Case = {
        input: new Uint8Array(0),
        exec(record) {
          lying.seen = 0;
          lying.lie = next() % n;
          lying.mangle = (r) => { const m = mangleResponse(r, next); record(m); return m; };
          bootMachine(dir, { device: lying }).close();
        },
      };
      return c;
    };
  },
};

const tpmUnwrap: Target = {
  name: "TPM responses to the ultravisor's unwrap (ReadPublic Name check, salted policy session, RSA_Decrypt)",
  runs: 400,
  typed: TPM_TYPED,
  async setup() {
    const { dir, device } = await tpmMachine();
    const b = bootMachine(dir, { device });
    const handoff: UltravisorHandoff = b.handoff;
    const secret = new Uint8Array(cryptoRandom(32));
    const ct = new Uint8Array(publicEncrypt({ key: createPublicKey(handoff.keyPem!), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
    const lying = lyingDevice(device);
    const n = (() => { lying.seen = 0; unwrapLockboxSync(lying, handoff, ct); return lying.seen; })();
    return (next) => ({
      input: new Uint8Array(0),
      exec(record) {
        device.powerCycle();
        runSync(ops.startup(true), device);
        lying.seen = 0;
        lying.lie = next() % n;
        lying.mangle = (r) => { const m = mangleResponse(r, next); record(m); return m; };
        const got = unwrapLockboxSync(lying, handoff, ct);
        if (Buffer.compare(got, secret) !== 0) throw new Error('a mangled exchange produced another key');
      },
    });
  },
  teardown() { if (tpmDir) rmSync(tpmDir, { recursive: true, force: true }); },
};

export const TARGETS: readonly Target[] = [cpio, elf, esm, dtb, tar, init, luks2, container, pem, yaml, tpmBoot, tpmUnwrap];


// ---- controls: readers that break the rule, to show the harness reports them ---------------

export const CONTROLS: readonly Target[] = [
  {
    name: 'control: a reader that throws TypeError on some inputs', runs: 200, typed: ONE_OF(RangeError),
    setup: () => (next) => { const input = randomBytes(next, undefined, 64); return { input, exec() { if (input.length % 7 === 3) throw new TypeError('not the reader\'s own error'); if (input.length % 2) throw new RangeError('its own'); } }; },
  },
  {
    name: 'control: a reader that never returns on some inputs', runs: 200, typed: () => true,
    setup: () => (next) => { const input = randomBytes(next, undefined, 64); return { input, exec() { if (input.length === 42) for (;;) { /* spin */ } } }; },
  },
];

// ---- findings, one case each (fixed; kept as regression tests) -----------------------------

export const FINDINGS: readonly Target[] = [
  {
    // PEM blocks were found with a lazy regular expression and a back-reference: on many
    // BEGIN lines and no END it went quadratic (16,000 lines, 432 KB: about 3 s). The reader
    // now makes one pass over the lines and takes well under a second on this 5.4 MB case; the
    // quadratic one took minutes, and the watchdog stopped it.
    name: 'finding: a public key file of 200,000 BEGIN lines and no END', runs: 1, typed: ONE_OF(EsmInputError),
    setup: () => () => {
      const input = enc.encode('-----BEGIN PUBLIC KEY-----\n'.repeat(200_000));
      return { input, exec: () => { readPublicKeyPem(input, 'key.pem'); } };
    },
  },
];
