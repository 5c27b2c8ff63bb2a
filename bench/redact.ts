// The redactor: its speed on 1 MB of tool output (knowing no secret, one, and a room's whole set of 40) and streamed in
// model-sized deltas, each against a linear pass over the same text in the same run (lowercasing it); then the
// redactor's properties (`testing/redactor-properties.ts`) at many more runs than the suite gives them, so that a
// counterexample is found here before a user finds it. Exits 1 when a property fails, printing its seed and path.
//   bun bench/redact.ts [--runs 20] [--property-runs 20000] [--seed N] [--speed-only] [--properties-only]
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { redact } from "../security/redact.ts";
import { StreamRedactor } from "../security/stream-redactor.ts";
import { REDACTOR_PROPERTIES } from "../testing/redactor-properties.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    "property-runs": { type: "string", default: "20000" },
    seed: { type: "string" },
    "speed-only": { type: "boolean", default: false },
    "properties-only": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const propertyRuns = Number(values["property-runs"]);
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(2)} ms`;

console.log(`cores ${availableParallelism()}, load average ${loadavg()[0]?.toFixed(1)}`);

function timed(work: () => unknown): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

if (!values["properties-only"]) {
  const line = `build step 42 ok ${"x".repeat(40)} 4b825dc642cb6eb9a060e54bf8d69288fbee4904 path/to/file.ts:12 token count 7\n`;
  const megabyte = line.repeat(Math.ceil(1_000_000 / line.length));
  const roomSet = Array.from({ length: 40 }, (_, index) => `room-secret-${index}-Zx81Kq02Lm93`);
  const cases: [string, () => unknown][] = [
    ["redact 1 MB, no known secret", () => redact(megabyte)],
    ["redact 1 MB, one known secret", () => redact(megabyte, ["org-bench-secret-Zx81Kq02"])],
    ["redact 1 MB, 40 known secrets", () => redact(megabyte, roomSet)],
    [
      "stream 1 MB in 24-char deltas, one secret",
      () => {
        const redactor = new StreamRedactor(["org-bench-secret-Zx81Kq02"]);
        for (let at = 0; at < megabyte.length; at += 24) redactor.push(megabyte.slice(at, at + 24));
        redactor.flush();
      },
    ],
  ];
  const baseline: number[] = [];
  const samples = new Map<string, number[]>(cases.map(([label]) => [label, []]));
  // Interleaved, so that the machine's load weighs on each the same.
  for (let run = 0; run < runs; run += 1) {
    baseline.push(timed(() => megabyte.toLowerCase()));
    for (const [label, work] of cases) samples.get(label)?.push(timed(work));
  }
  const base = quantile(
    baseline.sort((a, b) => a - b),
    0.5,
  );
  console.log(`  ${"a linear pass (toLowerCase) over 1 MB".padEnd(44)} median ${ms(base)}`);
  for (const [label, times] of samples) {
    const sorted = times.sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    console.log(`  ${label.padEnd(44)} median ${ms(median)}   p90 ${ms(quantile(sorted, 0.9))}   ${(median / base).toFixed(1)}× the pass`);
  }
}

if (!values["speed-only"]) {
  let failed = 0;
  for (const { name, check, runs: suiteRuns } of REDACTOR_PROPERTIES) {
    const started = performance.now();
    const details = check({ numRuns: propertyRuns, ...(values.seed ? { seed: Number(values.seed) } : {}) });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (details.failed) {
      failed += 1;
      console.log(`✗ ${name}: ${propertyRuns} runs (the suite's ${suiteRuns}), failed after ${details.numRuns} in ${seconds} s`);
      console.log(`    seed ${details.seed}, path "${details.counterexamplePath}": ${fc.stringify(details.counterexample)}`);
      console.log(`    ${String(details.errorInstance).split("\n").slice(0, 6).join("\n    ")}`);
    } else console.log(`✓ ${name}: ${propertyRuns} runs (the suite's ${suiteRuns}) in ${seconds} s`);
  }
  if (failed > 0) {
    console.log(`${failed} propert${failed === 1 ? "y" : "ies"} failed: pin each counterexample as a test, then fix the redactor`);
    process.exitCode = 1;
  }
}
