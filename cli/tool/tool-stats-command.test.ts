import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { simpleSpec, writeGeneratedTool } from "../../testing/generated-tool-fixture.ts";
import { recordToolCall } from "../../usage/tool-calls.ts";
import { formatToolStats } from "./tool-stats-command.ts";

const root = mkdtempSync(join(tmpdir(), "org-tool-stats-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeGeneratedTool(root, simpleSpec("word_count", "Counts the words in a text."));
writeGeneratedTool(root, simpleSpec("never_used", "Nobody calls it."));
const now = Date.now();
recordToolCall(root, { tool: "word_count", version: "v1", ok: true, durationMs: 40, time: now - 1_000 });
recordToolCall(root, { tool: "word_count", version: "v1", ok: true, durationMs: 60, time: now - 500 });
recordToolCall(root, {
  tool: "word_count",
  version: "v1",
  ok: false,
  reason: "timeout",
  durationMs: 3_000,
  input: { text: "x" },
  error: "killed",
  time: now,
});
// The caller's, not the tool's: refused by its input schema, and cut by the caller.
for (const time of [now - 300, now - 200])
  recordToolCall(root, {
    tool: "word_count",
    version: "v1",
    ok: false,
    reason: "input",
    durationMs: 30,
    input: { nottext: 1 },
    error: "the input does not match",
    time,
  });
recordToolCall(root, {
  tool: "word_count",
  version: "v1",
  ok: false,
  reason: "cancelled",
  durationMs: 10,
  input: { text: "y" },
  error: "cancelled",
  time: now - 100,
});

async function toolStats(args: string[]) {
  const child = Bun.spawn(orgCommand(["tool", "stats", ...args, "--repo", root]), { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

describe("tool stats", () => {
  test("--json: one line per run with every promoted tool, the called one with its figures", async () => {
    const { stdout, stderr, exitCode } = await toolStats(["--json"]);
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
    const { tools } = JSON.parse(stdout);
    expect(tools.map((entry: { tool: string }) => entry.tool)).toEqual(["never_used", "word_count"]);
    expect(tools[0]).toMatchObject({ calls: 0, ok: 0, failed: 0 });
    // Input and cancelled calls are outcomes of their own: neither a failure of the tool nor part of its success or trust.
    expect(tools[1]).toMatchObject({ calls: 6, ok: 2, failed: 1, input: 2, cancelled: 1, failedBy: { timeout: 1 }, latencyMs: { max: 3_000 } });
    expect(tools[1].successRate).toBeCloseTo(2 / 3, 6);
    expect(tools[1].trust).toBeCloseTo(2 / 3, 3);
  });

  test("NAME shows one tool as a table; a name with no record is a clear error", async () => {
    const one = await toolStats(["word_count"]);
    expect(one.exitCode).toBe(0);
    const lines = one.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^tool +calls +ok +failed +input +cancelled +success +trust +p50 ms +p95 ms +last call$/);
    expect(lines[1]).toMatch(/^word_count +6 +2 +1 +2 +1 +66\.7 % +66\.7 % +\d+ +3000 +\d{4}-/);
    expect(lines[2]).toMatch(/^ +failed: timeout 1$/);
    const none = await toolStats(["no_such_tool"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("no calls of no_such_tool are recorded in");
  });

  test("a tool name is shown on one line with its control characters escaped", () => {
    const text = formatToolStats([
      {
        tool: "evil\x1b]0;pwned\x07\nname",
        calls: 0,
        ok: 0,
        failed: 0,
        failedBy: {},
        input: 0,
        cancelled: 0,
        latencyMs: { mean: 0, p50: 0, p95: 0, max: 0, total: 0 },
      },
    ]);
    expect(text.split("\n")).toHaveLength(2);
    expect(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text)).toBe(false);
  });
});
