// Streaming throughput: the same SSE stream read by raw byte reading, by chatOnce and by the openai
// package's streaming loop, from one local server in one run. Figures are ratios against the raw read,
// in wall time and in CPU time.
//   bun bench/stream.ts [--chunks 50000] [--runs 5]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { createParser } from "eventsource-parser";
import OpenAI from "openai";
import { chatOnce } from "../llm/chat-once.ts";
import { chatCompletionsUrl } from "../llm/model-server-urls.ts";

const { values } = parseArgs({
  options: { chunks: { type: "string", default: "50000" }, runs: { type: "string", default: "5" } },
});
const chunkCount = Number(values.chunks);
const runs = Number(values.runs);

function ollamaFrame(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({
    id: "chatcmpl-412",
    object: "chat.completion.chunk",
    created: 1755800000,
    model: "bench",
    system_fingerprint: "fp_ollama",
    choices: [{ index: 0, delta, finish_reason: finish }],
  })}\n\n`;
}

function textStream(count: number): Uint8Array {
  const parts = [ollamaFrame({ role: "assistant", content: "tok " })];
  for (let i = 1; i < count - 1; i += 1) parts.push(ollamaFrame({ content: `t${i % 97} ` }));
  parts.push(ollamaFrame({}, "stop"), "data: [DONE]\n\n");
  return new TextEncoder().encode(parts.join(""));
}

// One tool call whose arguments arrive in `count` fragments, OpenAI/llama.cpp style.
function fragmentStream(count: number): Uint8Array {
  const value = "x".repeat(count - 2);
  const json = JSON.stringify({ payload: value });
  const pieces: string[] = [];
  const size = Math.ceil(json.length / (count - 2));
  for (let at = 0; at < json.length; at += size) pieces.push(json.slice(at, at + size));
  const parts = [
    ollamaFrame({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "write", arguments: "" } }] }),
    ...pieces.map((piece) => ollamaFrame({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
    ollamaFrame({}, "tool_calls"),
    "data: [DONE]\n\n",
  ];
  return new TextEncoder().encode(parts.join(""));
}

const bodies = { text: textStream(chunkCount), fragments: fragmentStream(chunkCount) };
let current: Uint8Array = bodies.text;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch: () => new Response(current, { headers: { "content-type": "text/event-stream" } }),
});
const baseUrl = `http://127.0.0.1:${server.port}`;
const messages = [{ role: "user" as const, content: "bench" }];

async function rawRead(): Promise<number> {
  const response = await fetch(chatCompletionsUrl(baseUrl), { method: "POST", body: "{}" });
  let bytes = 0;
  for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) bytes += piece.byteLength;
  return bytes;
}

// What any correct client pays: read, decode, split the SSE events, JSON.parse each one; no semantics.
async function parseFloor(): Promise<number> {
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
}

async function viaChatOnce(): Promise<number> {
  const result = await chatOnce({ baseUrl, model: "bench", messages });
  return result.content.length + (result.toolCalls[0] ? JSON.stringify(result.toolCalls[0].arguments).length : 0);
}

const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "bench", maxRetries: 0 });
async function viaOpenAI(): Promise<number> {
  const stream = await openai.chat.completions.create({ model: "bench", messages, stream: true });
  let content = "";
  let args = "";
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    if (delta?.content) content += delta.content;
    for (const call of delta?.tool_calls ?? []) args += call.function?.arguments ?? "";
  }
  return content.length + args.length;
}

type Row = { label: string; ms: number; cpuMs: number };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

// Round-robin: a run of each reader in turn, so a change in the machine's load between runs touches every
// reader alike. CPU time is the whole process's (the server's share is the same for every reader): on a
// loaded machine it says more than the wall clock, which also counts the time spent waiting for a core.
async function measure(readers: [string, () => Promise<number>][]): Promise<Row[]> {
  for (const [, read] of readers) await read(); // warm-up
  const times = readers.map((): number[] => []);
  const cpu = readers.map((): number[] => []);
  for (let run = 0; run < runs; run += 1) {
    for (const [at, [, read]] of readers.entries()) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await read();
      times[at]?.push(performance.now() - started);
      const used = process.cpuUsage(cpuBefore);
      cpu[at]?.push((used.user + used.system) / 1000);
    }
  }
  return readers.map(([label], at) => ({ label, ms: median(times[at] ?? []), cpuMs: median(cpu[at] ?? []) }));
}

function report(title: string, results: Row[]) {
  const raw = results[0] as Row;
  const chat = results[1] as Row;
  console.log(`\n${title}`);
  for (const { label, ms, cpuMs } of results) {
    const perSecond = Math.round(chunkCount / (ms / 1000));
    console.log(
      `  ${label.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${perSecond.toLocaleString("en").padStart(12)} chunks/s  ${(ms / raw.ms).toFixed(2)}x raw time  ${(ms / chat.ms).toFixed(2)}x chatOnce time  ${cpuMs.toFixed(1).padStart(8)} ms CPU  ${(cpuMs / raw.cpuMs).toFixed(2)}x raw CPU`,
    );
  }
}

console.log(`stream benchmark: ${chunkCount} chunks, median of ${runs} runs, ${availableParallelism()} cores, Bun ${Bun.version}`);
current = bodies.text;
const readers = () =>
  measure([
    ["raw byte reading", rawRead],
    ["chatOnce", viaChatOnce],
    ["read+SSE+JSON.parse", parseFloor],
    ["openai package", viaOpenAI],
  ]);
const text = await readers();
report(`text deltas (${(bodies.text.byteLength / 1e6).toFixed(1)} MB)`, text);
current = bodies.fragments;
const fragments = await readers();
report(`tool-call argument fragments (${(bodies.fragments.byteLength / 1e6).toFixed(1)} MB)`, fragments);

const ms = (row: Row | undefined) => (row as Row).ms;
const cpuMs = (row: Row | undefined) => (row as Row).cpuMs;
const textRatio = ms(text[3]) / ms(text[1]);
const rawRatio = ms(text[1]) / ms(text[0]);
const floorRatio = ms(text[2]) / ms(text[0]);
console.log(
  `\ntargets: chatOnce ≥ 10x the openai package (measured ${textRatio.toFixed(1)}x) — ${textRatio >= 10 ? "met" : "missed"}; ` +
    `chatOnce within 3x of raw reading (measured ${rawRatio.toFixed(2)}x) — ${rawRatio <= 3 ? "met" : "missed"}; ` +
    `decoding and JSON.parse of every event alone take ${floorRatio.toFixed(2)}x raw time\n` +
    `CPU time against raw reading: chatOnce ${(cpuMs(text[1]) / cpuMs(text[0])).toFixed(2)}x (text), ${(cpuMs(fragments[1]) / cpuMs(fragments[0])).toFixed(2)}x (fragments); ` +
    `read+SSE+JSON.parse ${(cpuMs(text[2]) / cpuMs(text[0])).toFixed(2)}x`,
);
await server.stop(true);
