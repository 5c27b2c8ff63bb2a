// HTML-to-text on hostile pages (the corpus of testing/hostile-html.ts) and on an ordinary page, in s per MiB
// (the target: ≤ 1 s per MiB for every page) and as a ratio against a baseline measured in the same run on the
// same input: an indexOf scan that visits every "<" and "&" (the least a tag and entity scanner has to do).
//   bun bench/html-to-text.ts [--mb 1] [--runs 3]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { hostileHtmlCorpus, ordinaryHtml } from "../testing/hostile-html.ts";
import { htmlToText } from "../tools/html-to-text.ts";

const { values } = parseArgs({ options: { mb: { type: "string", default: "1" }, runs: { type: "string", default: "3" } } });
const length = Math.round(Number(values.mb) * 1024 * 1024);
const runs = Number(values.runs);

function baseline(input: string): number {
  let count = 0;
  for (const needle of ["<", "&"]) {
    for (let at = input.indexOf(needle); at >= 0; at = input.indexOf(needle, at + 1)) count += 1;
  }
  return count;
}

function median(work: () => unknown): number {
  work();
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const inputs: [string, string][] = [["ordinary page", ordinaryHtml(length)], ...hostileHtmlCorpus(length)];
console.log(`html-to-text benchmark: ${values.mb} MiB pages, median of ${runs} runs, ${availableParallelism()} cores (nproc), Bun ${Bun.version}`);
console.log(`${"page".padEnd(40)} ${"s/MiB".padStart(8)} ${"baseline".padStart(10)}  ${"ratio".padStart(7)}  target`);
let worst = 0;
for (const [label, input] of inputs) {
  const mib = input.length / (1024 * 1024);
  const convertMs = median(() => htmlToText(input));
  const baselineMs = median(() => baseline(input));
  const perMib = convertMs / 1000 / mib;
  worst = Math.max(worst, perMib);
  console.log(
    `${label.padEnd(40)} ${perMib.toFixed(4).padStart(8)} ` +
      `${(baselineMs / 1000 / mib).toFixed(4).padStart(10)}  ` +
      `${(convertMs / Math.max(baselineMs, 0.001)).toFixed(1).padStart(6)}×  ${perMib <= 1 ? "ok" : "OVER"}`,
  );
}
console.log(`worst: ${worst.toFixed(4)} s per MiB (target ≤ 1)`);
if (worst > 1) process.exitCode = 1;
