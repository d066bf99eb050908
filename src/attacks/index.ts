// The attack suite: every scenario, in the order. Add one import and one entry per
// scenario (src/attacks/scenarios/NN-name.ts exporting `scenario`).
import type { AttackScenario } from './types.js';
import { scenario as readSecurePage } from './scenarios/01-read-secure-page.js';
import { scenario as writeSecurePage } from './scenarios/02-write-secure-page.js';
import { scenario as dmaSecurePage } from './scenarios/03-dma-secure-page.js';
import { scenario as redirectPate } from './scenarios/04-redirect-pate.js';
import { scenario as hrfidSecure } from './scenarios/05-hrfid-secure.js';
import { scenario as forgeCookie } from './scenarios/06-forge-cookie.js';
import { scenario as readRegisters } from './scenarios/07-read-registers.js';
import { scenario as injectInvalid } from './scenarios/08-inject-invalid-vector.js';
import { scenario as replayPage } from './scenarios/09-replay-page.js';
import { scenario as swapPages } from './scenarios/10-swap-pages.js';
import { scenario as flipBit } from './scenarios/11-flip-bit.js';
import { scenario as otherSvmPage } from './scenarios/12-page-from-other-svm.js';
import { scenario as chosenRandom } from './scenarios/13-chosen-random.js';
import { scenario as tamperAtRest } from './scenarios/14-tamper-at-rest.js';
import { scenario as unauthorizedMachine } from './scenarios/15-unauthorized-machine.js';
import { scenario as tpmSubstitution } from './scenarios/16-tpm-substitution.js';
import { scenario as rogueUltravisor } from './scenarios/17-rogue-ultravisor.js';
import { scenario as lieInPageIn } from './scenarios/18-lie-page-in.js';
import { scenario as unshareBehindBack } from './scenarios/19-unshare-behind-back.js';
import { scenario as bounceAfterUnshare } from './scenarios/20-bounce-after-unshare.js';
import { scenario as transactionalMemory } from './scenarios/21-transactional-memory.js';
import { scenario as wrongCaller } from './scenarios/22-wrong-caller.js';
import { scenario as exhaustSecureMemory } from './scenarios/23-exhaust-secure-memory.js';
import { scenario as killMidEsm } from './scenarios/24-kill-mid-esm.js';
import { scenario as dumpMemory } from './scenarios/25-dump-memory.js';

export const SCENARIOS: readonly AttackScenario[] = [
  readSecurePage,
  writeSecurePage,
  dmaSecurePage,
  redirectPate,
  hrfidSecure,
  forgeCookie,
  readRegisters,
  injectInvalid,
  replayPage,
  swapPages,
  flipBit,
  otherSvmPage,
  chosenRandom,
  tamperAtRest,
  unauthorizedMachine,
  tpmSubstitution,
  rogueUltravisor,
  lieInPageIn,
  unshareBehindBack,
  bounceAfterUnshare,
  transactionalMemory,
  wrongCaller,
  exhaustSecureMemory,
  killMidEsm,
  dumpMemory,
].sort((a, b) => a.number - b.number);

export function findScenario(key: string): AttackScenario | undefined {
  return SCENARIOS.find((s) => s.name === key || String(s.number) === key || String(s.number).padStart(2, '0') === key);
}

export { AttackContext, CANARY_INIT, type AttackSystem, type BootAttackOptions } from './context.js';
export { Canary, CanaryWatch, PROBE_SPRS, type Sighting, type ProbeReport } from './canary.js';
export { MaliciousHypervisor, preserving, restoreHv, saveHv, sc2, ultracall, type Tamper, type Gen } from './malicious.js';
export { probeKernelCode, probeKernelImage, PROBE_KERNEL_MAGIC } from './probe-kernel.js';
export { runAttacks, runScenario, suitePassed } from './suite.js';
export { OwnPartition, CODE_GPA, DATA_GPA, type GuestRun } from './own-partition.js';
export { PageHistory, pageInTamper, reclaimTamper, pageInAttack, type Forge, type PageIn } from './page-tamper.js';
export { strikeOnce, attempt, shortWhy, poweredOff, ending, readCanaryIntact, countEvents, locate, hex, sha256hex } from './helpers.js';
export { verdict, type AttackScenario, type AttackResult, type AttackReport, type Outcome, type ControlOutcome } from './types.js';
