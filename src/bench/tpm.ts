// `pef bench tpm`: the ultravisor's unwrap (ReadPublic, salted policy session, four policy
// commands, RSA_Decrypt with response encryption, FlushContext) against the embedded TPM and
// swtpm, and the embedded engine's RSA_Decrypt rate. Limits measured in the same run: node's
// raw OAEP privateDecrypt (the engine's work is that private operation plus parsing and
// authorization), and for swtpm its own round trips (two private operations, six light commands).
import { constants, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import type { Bench } from './index.js';
import { ratioMetric, plainMetric, type Metric } from './report.js';
import {
  ALG, EmbeddedTpm, OA, RH, SRK_HANDLE, SRK_TEMPLATE, SYM_NULL, SwtpmDevice, WRAPPING_KEY_HANDLE, ops, parseEndpoint, passwordAuth, runSync,
  startPrivateSwtpm, swtpmAvailable, unwrapLockboxSync, type PrivateSwtpm, type TpmDevice, type UltravisorHandoff,
} from '../tpm/index.js';
import { rsaPrivateKeyFromPrime } from '../tpm/crypto.js';
import { provisionWrappingKey, rotateAuth } from '../firmware/provision.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));

/** A machine key as firmware leaves it after boot, and a lockbox wrapped to it. */
function bootedKey(d: TpmDevice): { handoff: UltravisorHandoff; ct: Uint8Array } {
  d.powerCycle();
  runSync(ops.startup(), d);
  const uv = rand(32);
  const p = runSync(provisionWrappingKey(uv), d);
  runSync(ops.pcrExtend(3, uv), d);
  const authValue = rand(16);
  runSync(rotateAuth(p.key.name, p.policy.branches, authValue), d);
  const ct = new Uint8Array(publicEncrypt({ key: p.key.pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, rand(32)));
  return {
    handoff: { keyHandle: WRAPPING_KEY_HANDLE, keyName: p.key.name, authValue, policyDigests: p.policy.branches, pcrIndex: 3, saltKeyHandle: SRK_HANDLE, saltKeyPublic: p.srk.public },
    ct,
  };
}

/**
 * Milliseconds per call of `fn`: the best of `rounds` rounds of at least `minMs` each, after a
 * warm-up. With `cpu`, process CPU time instead of wall time: for work done entirely in this
 * process it is the same on an idle machine, and it does not count other processes' turns.
 */
function meanMs(fn: () => void, minMs = 200, rounds = 3, cpu = false): number {
  const now = cpu ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => Number(process.hrtime.bigint()) / 1e6;
  const w0 = Date.now();
  while (Date.now() - w0 < minMs / 2) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = now();
    const wall0 = Date.now();
    while (Date.now() - wall0 < minMs || n < 5) { fn(); n++; }
    best = Math.min(best, (now() - t0) / n);
  }
  return best;
}

/** A plain decryption key (password authorization) loaded in the TPM, and its node:crypto twin. */
function plainKey(d: TpmDevice): { handle: { handle: number; name: Uint8Array }; ct: Uint8Array } {
  const srk = runSync(ops.createPrimary(RH.NULL, SRK_TEMPLATE), d);
  const t = { ...SRK_TEMPLATE, objectAttributes: 0x00020072 | OA.noDA, symmetric: SYM_NULL, scheme: { scheme: ALG.OAEP, hashAlg: ALG.SHA256 } };
  const k = runSync(ops.create(srk, t), d);
  const h = runSync(ops.load(srk, k.private, k.public), d);
  runSync(ops.flushContext(srk.handle), d);
  const ct = new Uint8Array(publicEncrypt({ key: { kty: 'RSA', n: Buffer.from(k.public.unique).toString('base64url'), e: 'AQAB' } as never, format: 'jwk', padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as never, rand(32)));
  return { handle: h, ct };
}

export const tpmBench: Bench = {
  description: 'unwrap latency (embedded, swtpm) and the engine\'s RSA_Decrypt rate vs node:crypto privateDecrypt',
  async run(ctx) {
    const metrics: Metric[] = [];
    const notes: string[] = [];

    // The engine's RSA_Decrypt rate against node's raw OAEP privateDecrypt with the same key.
    const emb = new EmbeddedTpm();
    runSync(ops.startup(), emb);
    const pk = plainKey(emb);
    const obj = emb.engine.objects.get(pk.handle.handle)!;
    const key = rsaPrivateKeyFromPrime(obj.pub.unique, obj.pub.exponent, obj.sensitive!.sensitive)!;
    const cmd = ops.rsaDecrypt(pk.handle, pk.ct, passwordAuth()).next().value as Uint8Array;
    const check = emb.engine.execute(cmd);
    if (new DataView(check.buffer).getUint32(6) !== 0) throw new Error('the engine refused the benchmark command');
    const opts = { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
    let sink = 0;
    // Interleaved rounds, best of each, in CPU time: both sides see the same machine.
    let rawMs = Infinity;
    let engMs = Infinity;
    for (let round = 0; round < 5; round++) {
      rawMs = Math.min(rawMs, meanMs(() => { sink ^= privateDecrypt(opts, pk.ct)[0]!; }, 150, 1, true));
      engMs = Math.min(engMs, meanMs(() => { sink ^= emb.engine.execute(cmd)[9]!; }, 150, 1, true));
    }
    const limit = 1000 / rawMs;
    const engine = 1000 / engMs;
    metrics.push(ratioMetric('embedded RSA_Decrypt (OAEP-SHA256, RSA-2048, password session)', engine, 'ops/s', limit, 0.8, 'higher'));
    ctx.log(`engine RSA_Decrypt ${engine.toFixed(0)}/s, node privateDecrypt ${limit.toFixed(0)}/s`);

    // Unwrap on the embedded TPM: its floor is two private operations (the salt, the key).
    const eb = bootedKey(emb);
    let embMs = Infinity;
    let twoOps = Infinity;
    for (let round = 0; round < 4; round++) {
      twoOps = Math.min(twoOps, meanMs(() => { sink ^= privateDecrypt(opts, pk.ct)[0]! ^ privateDecrypt(opts, pk.ct)[0]!; }, 150, 1, true));
      embMs = Math.min(embMs, meanMs(() => { unwrapLockboxSync(emb, eb.handoff, eb.ct); }, 250, 1, true));
    }
    metrics.push(ratioMetric('unwrap latency, embedded TPM', embMs, 'ms', twoOps, 2, 'lower'));
    emb.close();

    // Unwrap on swtpm.
    let priv: PrivateSwtpm | undefined;
    let endpoint = process.env.PEF_SWTPM ? parseEndpoint(process.env.PEF_SWTPM, 'PEF_SWTPM') : undefined;
    if (!endpoint && swtpmAvailable()) { priv = await startPrivateSwtpm(); endpoint = priv.endpoint; notes.push('swtpm: a private instance on loopback'); }
    if (endpoint) {
      const sw = new SwtpmDevice(endpoint);
      try {
        const sb = bootedKey(sw);
        const swMs = meanMs(() => { unwrapLockboxSync(sw, sb.handoff, sb.ct); }, 400, 3);
        // Floor in the same run: swtpm's own round trips for two RSA_Decrypts and six light commands.
        const spk = plainKey(sw);
        const dec = ops.rsaDecrypt(spk.handle, spk.ct, passwordAuth()).next().value as Uint8Array;
        const rsaMs = meanMs(() => { sw.transmit(dec); }, 300, 3);
        const rnd = ops.getRandom(8).next().value as Uint8Array;
        const lightMs = meanMs(() => { sw.transmit(rnd); }, 200, 3);
        metrics.push(ratioMetric('unwrap latency, swtpm', swMs, 'ms', 2 * rsaMs + 6 * lightMs, 1.5, 'lower'));
        notes.push(`swtpm: RSA_Decrypt round trip ${rsaMs.toFixed(3)} ms, a light command ${lightMs.toFixed(3)} ms`);
        runSync(ops.flushContext(spk.handle.handle), sw);
      } finally {
        sw.close();
        await priv?.stop();
      }
    } else {
      metrics.push(plainMetric('unwrap latency, swtpm', NaN, 'ms', 'swtpm not available (set PEF_SWTPM or install swtpm)', false, 'lower'));
    }
    if (sink === 0x12345) ctx.log('');
    notes.push('limit for the engine: node:crypto privateDecrypt (OAEP-SHA256) with the same key; best of five interleaved rounds each');
    notes.push('embedded figures are process CPU time (the same as wall time on an idle machine); swtpm figures are wall time');
    notes.push('limit for the embedded unwrap: two raw private operations (the session salt and the key), interleaved rounds');
    return { bench: 'tpm', metrics, notes };
  },
};
