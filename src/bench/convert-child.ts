// The measured side of `pef bench convert`, run in a child process so that its peak resident
// memory is the conversion's alone: convert the image given in argv[2] (JSON options), then
// print {seconds, maxRssBytes} as one JSON line.
import { convertToSvm, type ConvertOptions } from '../image/convert.js';

const o = JSON.parse(process.argv[2] ?? '{}') as ConvertOptions;
const t0 = process.hrtime.bigint();
await convertToSvm(o);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
