// Extraction throughput: plain prose, prose mixed with calls in every format, and adversarial input, each in
// MB/s and as a ratio against a baseline measured in the same run on the same input: indexOf scans that visit
// every "<", "[", "{" and "`" (where any marker can start: the least a marker search has to do).
//   bun bench/extract-tool-calls.ts [--mb 4] [--runs 5]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";

const { values } = parseArgs({ options: { mb: { type: "string", default: "4" }, runs: { type: "string", default: "5" } } });
const targetLength = Math.round(Number(values.mb) * 1024 * 1024);
const runs = Number(values.runs);

function repeatTo(unit: string): string {
  return unit.repeat(Math.max(1, Math.ceil(targetLength / unit.length))).slice(0, targetLength);
}

const prose =
  "The build failed because the linker could not find libssl; installing the dev package fixed it. " +
  "Next, I'll check the config (see README.md, section 3) and run the tests again — they take about 2 s. " +
  'Note: "quoted words", it\'s fine, and 4 * 5 = 20.\n\n';
const calls = [
  '<tool_call>\n{"name": "sh", "arguments": {"command": "ls -la"}}\n</tool_call>',
  "<tool_call>\n<function=sh>\n<parameter=command>\ncat notes.txt\n</parameter>\n</function>\n</tool_call>",
  '[TOOL_CALLS][{"name": "sh", "arguments": {"command": "pwd"}}]',
  '[TOOL_CALLS]sh{"command": "uname -a"}',
  '{"name": "sh", "parameters": {"command": "date"}}',
  "[sh(command='echo hi')]",
  '<|tool_call|>[{"name": "sh", "arguments": {"command": "whoami"}}]',
  'functools[{"name": "sh", "arguments": {"command": "id"}}]',
  '```json\n{"name": "sh", "arguments": {"command": "df -h"}}\n```',
  "<think>Let me look at the files first.</think>",
];
const mixed = repeatTo(calls.map((call) => `${prose}${call}\n`).join(""));

const inputs: [string, string][] = [
  ["plain prose", repeatTo(prose)],
  ["prose + calls (all formats)", mixed],
  ["adversarial: <tool_call> repeated", repeatTo("<tool_call>")],
  ["adversarial: { repeated", repeatTo("{")],
  ["adversarial: [ repeated", repeatTo("[")],
  ['adversarial: {" repeated', repeatTo('{"')],
  ['adversarial: {"a":[ nested', repeatTo('{"a":[')],
  ["adversarial: [{ repeated", repeatTo("[{")],
  ["adversarial: call + junk repeated", repeatTo('<tool_call>{"name":"a","arguments":{}}x')],
  ["adversarial: open parameters", repeatTo("<function=a><parameter=x>")],
  ["adversarial: ``` repeated", repeatTo("```\n")],
];

function baseline(input: string): number {
  let count = 0;
  for (const needle of ["<", "[", "{", "`"]) {
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

const megabytes = targetLength / (1024 * 1024);
console.log(`extract-tool-calls benchmark: ${megabytes} MB inputs, median of ${runs} runs, ${availableParallelism()} cores, Bun ${Bun.version}`);
console.log(`${"input".padEnd(36)} ${"extract".padStart(10)} ${"baseline".padStart(11)}  ratio  calls`);
for (const [label, input] of inputs) {
  let found = 0;
  const extractMs = median(() => {
    found = extractToolCalls(input).toolCalls.length;
  });
  const baselineMs = median(() => baseline(input));
  const rate = (ms: number) => `${(megabytes / (ms / 1000)).toFixed(1)} MB/s`;
  console.log(
    `${label.padEnd(36)} ${rate(extractMs).padStart(10)} ${rate(baselineMs).padStart(11)}  ` +
      `${(baselineMs / extractMs).toFixed(3).padStart(5)}  ${found}`,
  );
}
console.log("ratio = extraction speed / baseline speed (1.000 = as fast as indexOf scans for the marker characters).");
