// bench/transcript.ts — what sealing costs a transcript per written line: the same events written through
// `Transcript` with the user's key (each line sealed: an fstat for its offset and an HMAC over it) and without one
// (unsealed, as before seals), alternated in the same run. Lines are what the room writes: streamed text gathered for
// 100 ms (a line per flush, not per chunk), messages, tool calls and results of a few KB.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../room/room-event.ts";
import { Transcript } from "../room/transcript.ts";

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
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const bytes = events.reduce((sum, event) => sum + JSON.stringify(event).length, 0) / events.length;
console.log(`transcript lines: ${LINES} a round, ${ROUNDS} rounds, ~${Math.round(bytes)} B a line, ${availableParallelism()} cores`);
console.log(`  unsealed ${median(unsealed).toFixed(2)} µs a line, sealed ${median(sealed).toFixed(2)} µs a line`);
console.log(`  sealing adds ${(median(sealed) - median(unsealed)).toFixed(2)} µs a line (×${(median(sealed) / median(unsealed)).toFixed(2)})`);
rmSync(base, { recursive: true, force: true });
