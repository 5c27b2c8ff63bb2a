// Streaming throughput: one stream of --chunks events read by raw byte reading, by chatOnce, by the floor of any
// correct client (read, decode, SSE split, JSON.parse of each event) and by the openai package's streaming loop, from
// a model server in a process of its own (bench/stream-server.ts), the readers taking turns run by run. The server
// writes the stream three ways: whole (one write, hundreds of kB a read), in 4 KB writes, and an event a write, as
// Ollama and llama.cpp do. Figures are ratios against the raw read of the same stream in the same run, in wall time
// and in this process's CPU time; the core count and the load are printed.
//   bun bench/stream.ts [--chunks 50000] [--runs 9]
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createParser } from "eventsource-parser";
import OpenAI from "openai";
import { chatOnce } from "../llm/chat-once.ts";
import { chatCompletionsUrl } from "../llm/model-server-urls.ts";

const { values } = parseArgs({
  options: { chunks: { type: "string", default: "50000" }, runs: { type: "string", default: "9" } },
});
const chunkCount = Number(values.chunks);
const runs = Number(values.runs);

const server = Bun.spawn([process.execPath, join(import.meta.dir, "stream-server.ts"), "--chunks", String(chunkCount)], {
  stdout: "pipe",
  stderr: "inherit",
});
const firstLine = await (async () => {
  const reader = server.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
})();
const root = `http://127.0.0.1:${Number(firstLine)}`;
const messages = [{ role: "user" as const, content: "bench" }];

type Reader = (baseUrl: string) => Promise<number>;

const rawRead: Reader = async (baseUrl) => {
  const response = await fetch(chatCompletionsUrl(baseUrl), { method: "POST", body: "{}" });
  let bytes = 0;
  for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) bytes += piece.byteLength;
  return bytes;
};

// What any correct client pays: read, decode, split the SSE events, JSON.parse each one; no semantics.
const parseFloor: Reader = async (baseUrl) => {
  const response = await fetch(chatCompletionsUrl(baseUrl), { method: "POST", body: "{}" });
  const decoder = new TextDecoder();
  let events = 0;
  const parser = createParser({
    onEvent: (event) => {
      if (event.data !== "[DONE]") JSON.parse(event.data);
      events += 1;
    },
  });
  for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(piece, { stream: true }));
  return events;
};

const viaChatOnce: Reader = async (baseUrl) => {
  const result = await chatOnce({ baseUrl, model: "bench", messages });
  return result.content.length + (result.toolCalls[0] ? JSON.stringify(result.toolCalls[0].arguments).length : 0);
};

const viaOpenAI: Reader = async (baseUrl) => {
  const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "bench", maxRetries: 0 });
  const stream = await openai.chat.completions.create({ model: "bench", messages, stream: true });
  let content = "";
  let args = "";
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    if (delta?.content) content += delta.content;
    for (const call of delta?.tool_calls ?? []) args += call.function?.arguments ?? "";
  }
  return content.length + args.length;
};

type Row = { label: string; ms: number; cpuMs: number };
const READERS: [string, Reader][] = [
  ["raw byte reading", rawRead],
  ["chatOnce", viaChatOnce],
  ["read+SSE+JSON.parse", parseFloor],
];
const SDK_READERS: [string, Reader][] = [
  ["chatOnce", viaChatOnce],
  ["openai package", viaOpenAI],
];

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;

// Round-robin: a run of each reader in turn, so a change in the machine's load between runs touches every reader
// alike. CPU time is this process's alone (the server runs in its own). The openai package takes its rounds apart, beside
// chatOnce alone: the garbage of its 50 000 chunk objects was collected during the next readers' runs, raising
// chatOnce's time by a third and its ratio to raw reading with it.
async function measure(baseUrl: string, readers: [string, Reader][]): Promise<Row[]> {
  for (const [, read] of readers) await read(baseUrl); // warm-up
  const times = readers.map((): number[] => []);
  const cpu = readers.map((): number[] => []);
  for (let run = 0; run < runs; run += 1) {
    for (const [at, [, read]] of readers.entries()) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await read(baseUrl);
      times[at]?.push(performance.now() - started);
      const used = process.cpuUsage(cpuBefore);
      cpu[at]?.push((used.user + used.system) / 1000);
    }
  }
  return readers.map(([label], at) => ({ label, ms: median(times[at] ?? []), cpuMs: median(cpu[at] ?? []) }));
}

function report(title: string, results: Row[]): void {
  const [raw, chat] = results as [Row, Row];
  console.log(`\n${title}`);
  for (const { label, ms, cpuMs } of results) {
    const perSecond = Math.round(chunkCount / (ms / 1000));
    console.log(
      `  ${label.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms  ${perSecond.toLocaleString("en").padStart(11)} ` +
        `chunks/s  ${(ms / raw.ms).toFixed(2)}x raw time  ${(ms / chat.ms).toFixed(2)}x chatOnce time  ` +
        `${cpuMs.toFixed(1).padStart(7)} ms CPU  ${(cpuMs / raw.cpuMs).toFixed(2)}x raw CPU`,
    );
  }
}

const [load1, load5] = loadavg();
console.log(
  `stream benchmark: ${chunkCount} chunks, median of ${runs} runs, ${availableParallelism()} cores, load ` +
    `${load1?.toFixed(1)} (5 min ${load5?.toFixed(1)}), Bun ${Bun.version}`,
);
const cases: [kind: string, reads: string, title: string][] = [
  ["text", "whole", "text deltas, the body in one write"],
  ["text", "4096", "text deltas, 4 KB writes"],
  ["text", "event", "text deltas, an event a write"],
  ["fragments", "whole", "tool-call argument fragments, the body in one write"],
  ["fragments", "4096", "tool-call argument fragments, 4 KB writes"],
];
const measured = new Map<string, Row[]>();
const sdkRatios = new Map<string, number>();
try {
  for (const [kind, reads, title] of cases) {
    const rows = await measure(`${root}/${kind}/${reads}`, READERS);
    const [chatBeside, sdk] = (await measure(`${root}/${kind}/${reads}`, SDK_READERS)) as [Row, Row];
    measured.set(`${kind}/${reads}`, rows);
    sdkRatios.set(`${kind}/${reads}`, sdk.ms / chatBeside.ms);
    report(title, rows);
    console.log(
      `  ${sdk.label.padEnd(22)} ${sdk.ms.toFixed(1).padStart(8)} ms  (its own rounds, beside chatOnce's ` +
        `${chatBeside.ms.toFixed(1)} ms: ${(sdk.ms / chatBeside.ms).toFixed(1)}x chatOnce time)`,
    );
  }
} finally {
  server.kill();
}

const ratio = (key: string, of: number, to: number, cpu = false) => {
  const rows = measured.get(key) ?? [];
  const pick = (row: Row | undefined) => (cpu ? row?.cpuMs : row?.ms) ?? Number.NaN;
  return pick(rows[of]) / pick(rows[to]);
};
const small = ["text/4096", "text/event"].map((key) => ratio(key, 1, 0));
const openaiRatio = sdkRatios.get("text/4096") ?? Number.NaN;
console.log(
  `\ntargets: chatOnce ≤ 2x raw reading with small reads (measured ` +
    `${small.map((value) => value.toFixed(2)).join("x at 4 KB, ")}x an event a write) — ${small.every((value) => value <= 2) ? "met" : "missed"}; ` +
    `chatOnce ≥ 30x the openai package (measured ${openaiRatio.toFixed(1)}x at 4 KB) — ${openaiRatio >= 30 ? "met" : "missed"}; ` +
    `decoding, SSE splitting and JSON.parse of every event alone take ${ratio("text/4096", 2, 0).toFixed(2)}x raw time at 4 KB`,
);
