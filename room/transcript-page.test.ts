import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTranscript, Transcript } from "./transcript.ts";
import { readTranscriptPage, TranscriptCursorError } from "./transcript-page.ts";
import type { TranscriptLine } from "./transcript-line.ts";

const dir = mkdtempSync(join(tmpdir(), "org-transcript-page-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stats = { replies: 1, promptTokens: 3, completionTokens: 2, tokensPerSecond: 1, firstTokenMs: 1, queuedMs: 0, durationMs: 1 };

/** A session of `turns` turns as the room writes one: each a user message and a reply of varied length (some long, some not ASCII). */
function writeSession(id: string, turns: number, seed: number): string {
  const transcript = Transcript.open(dir, id, { personas: ["agent"], mode: "group" });
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  for (let turn = 0; turn < turns; turn += 1) {
    const turnId = `t${turn}`;
    const text = `question ${turn} ${"é✓𝄞 ".repeat(Math.floor(random() * 40))}`;
    const reply = `answer ${turn} ${"wörd ".repeat(Math.floor(random() * (random() < 0.1 ? 3000 : 60)))}`;
    const message = (id: string, from: string, body: string) => ({
      id,
      turnId,
      from,
      text: body,
      time: "2026-01-01T00:00:00Z",
      heardBy: ["agent"],
      addressed: [],
    });
    transcript.append({ type: "turn-start", turnId, text, mode: "group", addressed: ["agent"] });
    transcript.append({ type: "message", message: message(`${turnId}-user`, "user", text) });
    transcript.append({ type: "reply-start", turnId, replyId: `${turnId}-r`, persona: "agent", model: "m", hop: 0, destination: "console" });
    transcript.append({ type: "text-delta", replyId: `${turnId}-r`, persona: "agent", text: reply });
    transcript.append({ type: "message", persona: "agent", message: message(`${turnId}-r`, "agent", reply) });
    transcript.append({ type: "reply-end", replyId: `${turnId}-r`, persona: "agent", ok: true, stats });
    transcript.append({ type: "turn-end", turnId, ok: true, stats: { agent: stats } });
  }
  transcript.close();
  return join(dir, `${id}.jsonl`);
}

/** Every page from the end back to the start, oldest first. */
function allPages(path: string, request: { messages: number; maxBytes: number; chunkBytes?: number }): TranscriptLine[][] {
  const pages: TranscriptLine[][] = [];
  let before: number | undefined;
  for (let guard = 0; guard < 10_000; guard += 1) {
    const page = readTranscriptPage(path, { ...request, ...(before !== undefined ? { before } : {}) });
    pages.unshift(page.lines);
    if (page.before === null) return pages;
    expect(page.before).toBeLessThan(before ?? Number.POSITIVE_INFINITY);
    before = page.before;
  }
  throw new Error("the pages never reached the start");
}

describe("a transcript read by pages from its end", () => {
  test("pages of whole turns, read back to the start with their cursors, are the whole transcript, at any chunk size", () => {
    for (const seed of [1, 42]) {
      const path = writeSession(`s-${seed}`, 60, seed);
      const whole = readTranscript(path).lines;
      for (const chunkBytes of [13, 4096, 65536]) {
        for (const request of [
          { messages: 10, maxBytes: 1_000_000 },
          { messages: 1000, maxBytes: 2_000 },
          { messages: 1, maxBytes: 50 },
        ]) {
          const pages = allPages(path, { ...request, chunkBytes });
          expect(pages.flat()).toEqual(whole);
          // Each page but the first begins at a turn's start, unless one turn alone is past four times maxBytes.
          for (const page of pages.slice(1)) {
            if (page[0]?.type !== "turn-start") expect(JSON.stringify(page).length).toBeGreaterThan(request.maxBytes);
          }
        }
      }
    }
  });

  test("the newest page holds the newest turns with at least the messages asked for, and no more turns than needed", () => {
    const path = writeSession("s-newest", 50, 3);
    const page = readTranscriptPage(path, { messages: 9, maxBytes: 10_000_000 });
    // 9 messages are 4½ turns: the page goes back to the fifth turn's start.
    expect(page.lines.filter((line) => line.type === "message")).toHaveLength(10);
    expect(page.lines[0]).toMatchObject({ type: "turn-start", turnId: "t45" });
    expect(page.lines.at(-1)).toMatchObject({ type: "turn-end", turnId: "t49" });
    expect(page.before).toBeGreaterThan(0);
    expect(readTranscriptPage(path, { messages: 1000, maxBytes: 10_000_000 }).before).toBeNull();
  });

  test("a line a crash cut at the end counts as damaged; a cursor that is no page's start is refused", () => {
    const path = writeSession("s-cut", 5, 9);
    appendFileSync(path, '{"type":"text-delta","replyId":"t4-r","persona":"ag');
    const page = readTranscriptPage(path, { messages: 2, maxBytes: 1_000_000 });
    expect(page.damagedLines).toBe(1);
    expect(page.lines.at(-1)).toMatchObject({ type: "turn-end", turnId: "t4" });
    const before = page.before ?? 0;
    expect(() => readTranscriptPage(path, { messages: 2, maxBytes: 1_000_000, before: before + 3 })).toThrow(TranscriptCursorError);
    expect(() => readTranscriptPage(path, { messages: 2, maxBytes: 1_000_000, before: statSync(path).size + 10 })).toThrow(TranscriptCursorError);
    expect(readTranscriptPage(path, { messages: 2, maxBytes: 1_000_000, before: 0 })).toEqual({ lines: [], damagedLines: 0, before: null });
  });
});
