import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { USAGE_DIR } from "../config/workspace-paths.ts";
import { readToolCalls, recordToolCall, ToolCallTail } from "./tool-calls.ts";

function tempRepo(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "org-usage-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("the call record", () => {
  test("keeps each call; a failure keeps its input and error, redacted and cut short", () => {
    using repo = tempRepo();
    const secret = "sk-live-0123456789abcdef";
    expect(
      recordToolCall(repo.dir, { tool: "word_count", version: "v1", ok: true, durationMs: 12.4, input: { text: "kept out" }, time: 1_000 }),
    ).toBeUndefined();
    recordToolCall(
      repo.dir,
      {
        tool: "word_count",
        version: "v1",
        ok: false,
        reason: "timeout",
        durationMs: 3_000,
        input: { text: `${secret} ${"x".repeat(5_000)}` },
        error: `died near ${secret}`,
        time: 2_000,
      },
      { secrets: [secret] },
    );
    const calls = readToolCalls(repo.dir);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual({ t: 1_000, tool: "word_count", version: "v1", ok: true, ms: 12 });
    const failed = calls[1];
    expect(failed).toMatchObject({ t: 2_000, ok: false, reason: "timeout", ms: 3_000 });
    expect(failed?.input?.length).toBeLessThanOrEqual(1_000);
    expect(failed?.input).not.toContain(secret);
    expect(failed?.error).toStartWith("died near ");
    expect(failed?.error).not.toContain(secret);
  });

  test("a torn last line (a crash mid-write) and lines that are not calls are skipped; the next call is kept whole", () => {
    using repo = tempRepo();
    recordToolCall(repo.dir, { tool: "a_tool", ok: true, durationMs: 1, time: 1 });
    const file = join(repo.dir, USAGE_DIR, "calls.jsonl");
    appendFileSync(
      file,
      '{"__proto__":{"ok":true},"t":2}\n[1,2]\nnot json\n{"t":2,"tool":"x\\u001b[2J","ok":true,"ms":1}\n{"t":3,"tool":"a_tool","ok":tr',
    );
    recordToolCall(repo.dir, { tool: "a_tool", ok: false, reason: "tool", durationMs: 2, time: 4 });
    expect(readToolCalls(repo.dir).map((call) => [call.t, call.ok])).toEqual([
      [1, true],
      [4, false],
    ]);
  });

  test("past its size the file is archived and a new one begun; only the newest archives stay, oldest calls go first", () => {
    using repo = tempRepo();
    for (let index = 0; index < 60; index += 1) {
      recordToolCall(
        repo.dir,
        { tool: "a_tool", ok: index % 2 === 0, durationMs: index, time: 1_000 + index },
        { rotateAtBytes: 500, keptArchives: 2 },
      );
    }
    const files = readdirSync(join(repo.dir, USAGE_DIR));
    expect(files.filter((name) => name.startsWith("calls-"))).toHaveLength(2);
    const times = readToolCalls(repo.dir).map((call) => call.t);
    // Bounded, in order, and ending with the newest call.
    expect(times.length).toBeGreaterThan(0);
    expect(times.length).toBeLessThan(60);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)).toBe(1_059);
    for (const name of files) expect(readFileSync(join(repo.dir, USAGE_DIR, name), "utf8").length).toBeLessThan(700);
  });

  test("read again and again (serve's /metrics): new lines are added once, a line still being written waits, a rotation counts nothing twice", () => {
    using repo = tempRepo();
    const tail = new ToolCallTail(repo.dir);
    expect(tail.calls()).toEqual([]);
    const options = { rotateAtBytes: 300, keptArchives: 5 };
    recordToolCall(repo.dir, { tool: "a_tool", ok: true, durationMs: 1, time: 1 }, options);
    expect(tail.calls().map((call) => call.t)).toEqual([1]);
    const file = join(repo.dir, USAGE_DIR, "calls.jsonl");
    appendFileSync(file, '{"t":2,"tool":"a_tool","ok":tr');
    expect(tail.calls().map((call) => call.t)).toEqual([1]);
    appendFileSync(file, 'ue,"ms":1}\n');
    expect(tail.calls().map((call) => call.t)).toEqual([1, 2]);
    for (let time = 3; time <= 12; time += 1) recordToolCall(repo.dir, { tool: "a_tool", ok: true, durationMs: 1, time }, options);
    expect(readdirSync(join(repo.dir, USAGE_DIR)).filter((name) => name.startsWith("calls-")).length).toBeGreaterThan(0);
    const times = tail.calls().map((call) => call.t);
    expect(times.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tail.calls()).toHaveLength(12);
  });

  test("a record that cannot be written is a problem returned, never a throw (the call itself stands)", () => {
    using repo = tempRepo();
    writeFileSync(join(repo.dir, ".org"), "a file where the folder should be");
    const problem = recordToolCall(repo.dir, { tool: "a_tool", ok: true, durationMs: 1 });
    expect(problem).toContain("the call of a_tool was not recorded");
    mkdirSync(join(repo.dir, "elsewhere"));
    expect(readToolCalls(join(repo.dir, "elsewhere"))).toEqual([]);
  });
});
