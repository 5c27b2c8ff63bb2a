// bench/transcript.ts — what sealing costs a transcript per written line: the same events written through
// `Transcript` with the user's key (each line sealed: an fstat for its offset and an HMAC over it) and without one
// (unsealed, as before seals), alternated in the same run. Lines are what the room writes: streamed text gathered for
// 100 ms (a line per flush, not per chunk), messages, tool calls and results of a few KB. And what checking the seals
// costs `org grow` a line read: the same sealed lines read with their seals checked and only parsed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../room/room-event.ts";
import { readSealedTranscriptEvents, readTranscriptEvents, Transcript } from "../room/transcript.ts";

const LINES = 20_000;
const ROUNDS = 5;

const base = mkdtempSync(join(tmpdir(), "org-bench-transcript-"));
const home = mkdtempSync(join(base, "home-"));
const words = (count: number) => Array.from({ length: count }, (_, index) => `w${index % 10}`).join(" ");
const time = new Date().toISOString();
const message = (id: string, text: string) => ({ id, turnId: "t1", from: "agent", text, time, heardBy: ["agent"], addressed: [] });
const call = { id: "c1", name: "sh", arguments: { cmd: "ls -la" } };
const events: RoomEvent[] = [
  { type: "turn-start", turnId: "t1", text: words(20), mode: "group", addressed: [] },
  { type: "reply-start", turnId: "t1", replyId: "r1", persona: "agent", model: "m", hop: 0, destination: "console" },
  { type: "tool-call", replyId: "r1", persona: "agent", call },
  { type: "tool-result", replyId: "r1", persona: "agent", call, ok: true, output: words(800), durationMs: 3 },
  { type: "message", persona: "agent", message: message("r1", words(60)) },
  { type: "notice", reason: "memory", message: words(10) },
];

/** Microseconds per line written, through a transcript sealed with `home`'s key or unsealed (`home` undefined). */
function writeLines(name: string, sealWith: string | undefined): number {
  const transcript = Transcript.open(base, name, { personas: ["agent"], mode: "group" }, { home: sealWith });
  const started = performance.now();
  for (let index = 0; index < LINES; index += 1) {
    const event = events[index % events.length];
    if (event) transcript.append(event);
  }
  const ms = performance.now() - started;
  transcript.close();
  return (ms * 1000) / LINES;
}

const sealed: number[] = [];
const unsealed: number[] = [];
writeLines("warm", home);
for (let round = 0; round < ROUNDS; round += 1) {
  unsealed.push(writeLines(`plain-${round}`, undefined));
  sealed.push(writeLines(`sealed-${round}`, home));
}
/** Microseconds per line of reading a sealed transcript's lines: parsed, and parsed with every seal checked. */
function readLines(name: string): { parsed: number; checked: number } {
  const lines: { offset: number; text: string }[] = [];
  let offset = 0;
  for (const text of readFileSync(join(base, `${name}.jsonl`), "utf8").split("\n")) {
    if (text !== "") lines.push({ offset, text });
    offset += Buffer.byteLength(text) + 1;
  }
  let started = performance.now();
  readTranscriptEvents(lines.map((line) => ({ at: line.offset, text: line.text })));
  const parsed = ((performance.now() - started) * 1000) / lines.length;
  started = performance.now();
  const { unsealed } = readSealedTranscriptEvents(name, lines, home, { sessionsDir: base, legacy: false });
  if (unsealed > 0) throw new Error(`${unsealed} lines of ${name} did not hold their seals`);
  return { parsed, checked: ((performance.now() - started) * 1000) / lines.length };
}
const reads = Array.from({ length: ROUNDS }, (_, round) => readLines(`sealed-${round}`));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const bytes = events.reduce((sum, event) => sum + JSON.stringify(event).length, 0) / events.length;
console.log(`transcript lines: ${LINES} a round, ${ROUNDS} rounds, ~${Math.round(bytes)} B a line, ${availableParallelism()} cores`);
console.log(`  unsealed ${median(unsealed).toFixed(2)} µs a line, sealed ${median(sealed).toFixed(2)} µs a line`);
console.log(`  sealing adds ${(median(sealed) - median(unsealed)).toFixed(2)} µs a line (×${(median(sealed) / median(unsealed)).toFixed(2)})`);
const parsed = median(reads.map((read) => read.parsed));
const checked = median(reads.map((read) => read.checked));
const ratio = (checked / parsed).toFixed(2);
console.log(`  read back: parsed ${parsed.toFixed(2)} µs a line, parsed and seals checked ${checked.toFixed(2)} µs a line (×${ratio})`);
rmSync(base, { recursive: true, force: true });
