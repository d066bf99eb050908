// The measured side of `pef bench convert`, run in a child process so that its peak resident
// memory is the conversion's alone, and so that every figure comes from a process like the one
// that converts (a small heap: node's allocator behaves differently in a large one).
// argv[2] is the mode, argv[3] its JSON argument; prints one JSON line:
//   convert OPTIONS   convert the image: {seconds, maxRssBytes, jobs, userSeconds, systemSeconds, minorFaults}
//   floor PATH        stream the file into a new one beside it with no cipher: {bytesPerSecond}
//   cipher            aes-xts-plain64 in memory: {oneThread, allThreads, threads} (bytes per second)
import { convertToSvm, type ConvertOptions } from '../image/convert.js';
import { defaultCipherJobs } from '../image/luks2-file.js';
import { copyFloor, xtsInMemory, xtsPoolInMemory } from './convert-cipher.js';
import { raiseMallocThresholds } from '../util/malloc-thresholds.js';

// As in `pef` itself (bin/pef.js), so that the figures are the command's.
raiseMallocThresholds();

const [mode, arg] = [process.argv[2], process.argv[3] ?? '{}'];
let result: object;
if (mode === 'convert') {
  const o = JSON.parse(arg) as ConvertOptions;
  const r0 = process.resourceUsage();
  const t0 = process.hrtime.bigint();
  await convertToSvm(o);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const r1 = process.resourceUsage();
  result = {
    seconds, maxRssBytes: r1.maxRSS * 1024, jobs: defaultCipherJobs(),
    userSeconds: (r1.userCPUTime - r0.userCPUTime) / 1e6, systemSeconds: (r1.systemCPUTime - r0.systemCPUTime) / 1e6, minorFaults: r1.minorPageFault - r0.minorPageFault,
  };
} else if (mode === 'floor') {
  result = { bytesPerSecond: await copyFloor(JSON.parse(arg) as string) };
} else if (mode === 'cipher') {
  result = { oneThread: xtsInMemory(), ...await xtsPoolInMemory() };
} else {
  throw new Error(`convert-child: unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify(result) + '\n');
