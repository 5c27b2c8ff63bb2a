import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokensOnDay, tokensSince, transcriptTokens, utcDayStart } from "./tokens-used.ts";
import { resume, Transcript } from "./transcript.ts";

const dir = mkdtempSync(join(tmpdir(), "org-tokens-used-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stats = (promptTokens: number | string, completionTokens: number | string) =>
  `{"replies":1,"promptTokens":${promptTokens},"completionTokens":${completionTokens},` +
  `"tokensPerSecond":1,"firstTokenMs":1,"queuedMs":0,"durationMs":1}`;
const replyEnd = (time: string, prompt: number | string, completion: number | string) =>
  `{"time":"${time}","type":"reply-end","replyId":"r","persona":"agent","ok":true,"stats":${stats(prompt, completion)}}`;

describe("tokens used (limits.tokensPerDay, /budget)", () => {
  test("a transcript that lies about its counts neither lifts the day's limit nor counts another day's use", () => {
    const now = new Date();
    const today = utcDayStart(now);
    const honest = Transcript.open(dir, "s-honest", { personas: ["agent"], mode: "group" });
    honest.append({
      type: "reply-end",
      replyId: "r1",
      persona: "agent",
      ok: true,
      stats: { replies: 1, promptTokens: 30, completionTokens: 12, tokensPerSecond: 1, firstTokenMs: 1, queuedMs: 0, durationMs: 1 },
    });
    honest.close();
    expect(tokensSince(dir, today)).toBe(42);
    // A planted transcript (a hostile workspace's, a model's): negative counts would take the day's total below zero
    // and switch the limit off; 1e400 reads as Infinity; a line dated tomorrow is not today's use.
    const at = now.toISOString();
    const tomorrow = new Date(today.getTime() + 86_400_000 + 60_000).toISOString();
    writeFileSync(
      join(dir, "s-planted.jsonl"),
      `${[replyEnd(at, -1e12, 0), replyEnd(at, 5, -3), replyEnd(at, "1e400", 0), replyEnd(tomorrow, 1e9, 0), replyEnd(at, 7, 1)].join("\n")}\n`,
    );
    // Without a day's end (the session's own count, /budget's "this session") the line dated tomorrow counts.
    expect(transcriptTokens(join(dir, "s-planted.jsonl"))).toBe(5 + 1e9 + 7 + 1);
    expect(tokensOnDay(dir, now)).toBe(42 + 5 + 7 + 1);
    expect(tokensSince(dir, today)).toBe(42 + 5 + 1e9 + 7 + 1);
    // Resumed, the planted session's budget starts from what it honestly used, not from a credit.
    expect(resume(dir, "s-planted").tokensUsed).toBe(5 + 1e9 + 7 + 1);
  });
});
