// The lookup index: one lockbox read and O(log n) index reads per lookup, a scan without it,
// and no wrong answer when svm-tools (which ignores the index) has edited the blob since.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FdtEditor, fdtNode } from '../../src/fdt/index.js';
import * as esm from '../../src/esm/index.js';

function manyLockboxes(n: number, index: boolean) {
  const entries: esm.LockboxEntry[] = [];
  for (let i = n - 1; i >= 0; i--) entries.push({ number: i, comment: `machine ${i}`, fingerprint: new Uint8Array(randomBytes(32)), encryptedSymkey: randomBytes(256) });
  const bytes = esm.applyEsmEdit(esm.parseEsmBlob(esm.emptyEsmBlob()), { addLockboxes: entries, index });
  return { bytes, fps: entries.map((e) => e.fingerprint) };
}

const N = 5000;
const { bytes: indexed, fps } = manyLockboxes(N, true);

test('with the index a lookup reads one lockbox and about log2(n) index entries; without it, a scan', () => {
  const blob = esm.parseEsmBlob(indexed);
  assert.ok(blob.index, blob.indexProblem);
  const bound = Math.ceil(Math.log2(N)) + 3;
  for (const i of [0, 1, 2500, N - 1]) {
    const s = esm.newStats();
    const lb = esm.findLockbox(blob, fps[i]!, s);
    assert.deepEqual(lb?.fingerprint, fps[i]);
    assert.equal(s.lockboxesTouched, 1);
    assert.ok(s.indexProbes <= bound, `${s.indexProbes} probes for ${N} entries`);
    assert.ok(!s.scanned);
  }
  const miss = esm.newStats();
  assert.equal(esm.findLockbox(blob, randomBytes(32), miss), undefined);
  assert.equal(miss.lockboxesTouched, 0);
  // control: the same lockboxes without the index are scanned, in blob order
  const plain = esm.parseEsmBlob(manyLockboxes(N, false).bytes);
  const s = esm.newStats();
  const last = [...esm.lockboxes(plain)].at(-1)!;
  assert.equal(esm.findLockbox(plain, last.fingerprint, s)?.name, last.name);
  assert.equal(s.lockboxesTouched, N);
  assert.ok(s.scanned);
});

/** What svm-tools' authorize does to a blob: a new lockbox first under /lockboxes, index untouched. */
function svmToolsAuthorize(bytes: Uint8Array, fp: Uint8Array, name: string, comment: string): Uint8Array {
  const blob = esm.parseEsmBlob(bytes);
  const ed = new FdtEditor(blob.view);
  const first = blob.view.firstChild(blob.lockboxesNode);
  ed.insert(first, ed.encodeNode(fdtNode(name, [['encrypted-symkey', randomBytes(256)], ['untrusted-comment', comment]],
    [fdtNode('pubkey-fingerprint', [['hash', fp], ['algorithm', 'SHA256']])])));
  return ed.finish();
}

/** svm-tools' revoke: the node deleted in place. */
function svmToolsRevoke(bytes: Uint8Array, fp: Uint8Array): Uint8Array {
  const blob = esm.parseEsmBlob(bytes);
  const lb = [...esm.lockboxes(blob)].find((l) => Buffer.compare(l.fingerprint, fp) === 0)!;
  const ed = new FdtEditor(blob.view);
  ed.replace(lb.offset, blob.view.nodeEnd(lb.offset));
  return ed.finish();
}

test('after svm-tools edits the blob the stale index is noticed and the new lockbox is still found', () => {
  const small = manyLockboxes(4, true); // origin, lockbox-1..3
  // revoke lockbox-2 then authorize one with a same-length name and comment: the structure size is unchanged
  const newFp = new Uint8Array(randomBytes(32));
  const edited = svmToolsAuthorize(svmToolsRevoke(small.bytes, small.fps[1]!), newFp, 'lockbox-4', 'machine 4');
  const before = esm.parseEsmBlob(small.bytes);
  const blob = esm.parseEsmBlob(edited);
  assert.equal(blob.view.header.sizeDtStruct, before.view.header.sizeDtStruct, 'the edit kept the structure size');
  assert.equal(blob.index, undefined);
  assert.match(blob.indexProblem!, /first lockbox/);
  const s = esm.newStats();
  assert.equal(esm.findLockbox(blob, newFp, s)?.name, 'lockbox-4');
  assert.ok(s.scanned);
  assert.equal(esm.findLockbox(blob, small.fps[1]!), undefined);
  // a write by the library brings the index back
  const rewritten = esm.parseEsmBlob(esm.applyEsmEdit(blob, {}));
  assert.ok(rewritten.index);
  assert.equal(esm.findLockbox(rewritten, newFp)?.name, 'lockbox-4');
});

test('an index entry that points at the wrong lockbox makes the lookup scan rather than miss', () => {
  const { bytes, fps: f } = manyLockboxes(8, true);
  const blob = esm.parseEsmBlob(bytes);
  // swap the offsets of two entries: each now points at another lockbox
  const v = blob.index!.value;
  const a = v.slice(40 + 8, 40 + 12);
  v.copyWithin(40 + 8, 40 + 12 + 8, 40 + 12 + 12);
  v.set(a, 40 + 12 + 8);
  const reopened = esm.parseEsmBlob(bytes);
  for (const fp of f) {
    const s = esm.newStats();
    assert.deepEqual(esm.findLockbox(reopened, fp, s)?.fingerprint, fp);
  }
});

test('authorize, revoke, attach and digest keep the index exact', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const pem = () => new Uint8Array(Buffer.from(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string));
  const owner = pem();
  const ms = [pem(), pem(), pem()];
  const { bytes, symkey } = esm.createEsmBlob(owner);
  let blob = esm.parseEsmBlob((await esm.authorizeRecipients(esm.parseEsmBlob(bytes), symkey, ms.map((p) => ({ pubPem: p })), { jobs: 2 })).bytes);
  blob = esm.parseEsmBlob(esm.attachFile(blob, symkey, { name: 'rootd', data: new Uint8Array(100) }));
  blob = esm.parseEsmBlob(esm.setDigests(blob, symkey, esm.computeDigests({ kernelImage: new Uint8Array(1), initramfs: new Uint8Array(1), bootargs: '' })));
  blob = esm.parseEsmBlob(esm.revokeRecipients(blob, [{ pem: ms[1]!, subject: 'm' }]).bytes);
  assert.ok(blob.index, blob.indexProblem);
  assert.equal(blob.index.header.count, 3);
  for (const p of [owner, ms[0]!, ms[2]!]) {
    const s = esm.newStats();
    assert.ok(esm.findLockbox(blob, esm.fingerprintOfPem(p), s));
    assert.equal(s.lockboxesTouched, 1);
  }
  assert.equal(esm.findLockbox(blob, esm.fingerprintOfPem(ms[1]!)), undefined);
});
