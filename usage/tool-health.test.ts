import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { GrowSettings } from "../config/grow-settings.ts";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { recordToolCall } from "./tool-calls.ts";
import { judgeToolHealth } from "./tool-health.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 25, 12);

type Workspace = { dir: string; promote(name: string, code?: string): string; [Symbol.dispose](): void };

function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "org-health-"));
  return {
    dir,
    promote(name, code = `export default () => ({ name: "${name}" });\n`) {
      const folder = join(dir, GENERATED_TOOLS_DIR, name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "tool.ts"), code);
      writeFileSync(join(folder, "metadata.json"), "{}");
      // Promoted a year before NOW, so only calls decide whether it is idle.
      utimesSync(join(folder, "metadata.json"), new Date(NOW - 365 * DAY), new Date(NOW - 365 * DAY));
      return createHash("sha256").update(code).digest("hex");
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Records `count` calls of `tool` ending just before `end`, one a minute, `okShare` of them ok, the failures spread evenly. */
function calls(repo: string, tool: string, version: string, options: { end: number; count: number; okShare: number; input?: string }): void {
  const okCalls = Math.round(options.count * options.okShare);
  for (let index = 0; index < options.count; index += 1) {
    const ok = Math.floor((index + 1) * (okCalls / options.count)) > Math.floor(index * (okCalls / options.count));
    const time = options.end - (options.count - index) * 60_000;
    recordToolCall(repo, {
      tool,
      version,
      ok,
      durationMs: 5,
      time,
      ...(ok ? {} : { reason: "tool" as const, input: { text: `${options.input ?? "input"} ${index}` }, error: "it threw" }),
    });
  }
}

const settings = (grow: Record<string, unknown> = {}) => ({ grow: GrowSettings.parse(grow) });

describe("tool health", () => {
  test("a fall of more than 5 points from the window before rolls the tool back, with both windows and failing inputs", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW - 2 * HOUR, count: 100, okShare: 0.95 });
    calls(repo.dir, "word_count", version, { end: NOW, count: 100, okShare: 0.89, input: "newer" });
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) });
    expect(health.rollback?.tool).toBe("word_count");
    const evidence = health.rollback?.evidence;
    expect(evidence?.reasons).toEqual(["success-drop"]);
    expect(evidence?.last).toMatchObject({ calls: 100, ok: 89, failed: 11, successRate: 0.89 });
    expect(evidence?.previous).toMatchObject({ calls: 100, ok: 95, successRate: 0.95 });
    expect(evidence?.version).toBe(version);
    expect(evidence?.failingInputs).toHaveLength(5);
    expect(evidence?.failingInputs[0]?.input).toStartWith('{"text":"newer ');
    expect(evidence?.summary).toBe("success 89.0 % over its last 100 calls; 95.0 % over the 100 before");
  });

  test("exactly 5 points lower is not more than 5: nothing is rolled back", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW - 2 * HOUR, count: 100, okShare: 0.95 });
    calls(repo.dir, "word_count", version, { end: NOW, count: 100, okShare: 0.9 });
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) });
    expect(health.rollback).toBeUndefined();
    expect(health.judged).toMatchObject([{ tool: "word_count", last: { successRate: 0.9 }, previous: { successRate: 0.95 }, reasons: [] }]);
  });

  test("failures above grow.maxFailureRate roll it back even with no window before", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW, count: 20, okShare: 0.7 });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ maxFailureRate: 0.3 }), now: new Date(NOW) }).rollback).toBeUndefined();
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ maxFailureRate: 0.25 }), now: new Date(NOW) });
    expect(health.rollback?.evidence).toMatchObject({ reasons: ["failure-rate"], last: { calls: 20, failed: 6 }, maxFailureRate: 0.25 });
    expect(health.rollback?.evidence.previous).toBeUndefined();
  });

  test("calls refused by the tool's own input schema, or cut by their caller, are not the tool's failures: no rollback", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW - 2 * HOUR, count: 20, okShare: 1 });
    // One client sends ten calls its schema refuses, and cancels five more: the tool is as healthy as before.
    for (let index = 0; index < 15; index += 1) {
      const reason = index < 10 ? ("input" as const) : ("cancelled" as const);
      recordToolCall(repo.dir, {
        tool: "word_count",
        version,
        ok: false,
        reason,
        durationMs: 5,
        time: NOW - (15 - index) * 1_000,
        input: { nottext: 1 },
      });
    }
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ window: 10 }), now: new Date(NOW) });
    expect(health.rollback).toBeUndefined();
    expect(health.judged[0]).toMatchObject({ last: { calls: 10, successRate: 1 }, previous: { calls: 10, successRate: 1 } });
    // The same calls failing on inputs the schema accepted are the tool's: rolled back.
    for (let index = 0; index < 10; index += 1)
      recordToolCall(repo.dir, {
        tool: "word_count",
        version,
        ok: false,
        reason: "tool",
        durationMs: 5,
        time: NOW - 500 + index,
        input: { text: "x" },
      });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ window: 10 }), now: new Date(NOW) }).rollback?.tool).toBe("word_count");
  });

  test("a window is a day at most: yesterday's failures do not count against today's calls", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW - 25 * HOUR, count: 30, okShare: 0 });
    calls(repo.dir, "word_count", version, { end: NOW, count: 30, okShare: 1 });
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) });
    expect(health.rollback).toBeUndefined();
    expect(health.judged[0]).toMatchObject({ last: { calls: 30, successRate: 1 }, previous: { calls: 30, successRate: 0 } });
  });

  test("too few calls are not judged; a rebuilt tool starts afresh (only the promoted tool.ts's calls count)", () => {
    using repo = workspace();
    const old = repo.promote("word_count", "export default () => 1;\n");
    calls(repo.dir, "word_count", old, { end: NOW - HOUR, count: 50, okShare: 0 });
    const rebuilt = repo.promote("word_count", "export default () => 2;\n");
    calls(repo.dir, "word_count", rebuilt, { end: NOW, count: 9, okShare: 0 });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) }).rollback).toBeUndefined();
    calls(repo.dir, "word_count", rebuilt, { end: NOW, count: 1, okShare: 0 });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) }).rollback?.evidence.last.calls).toBe(10);
  });

  test("promoted again with the very same code: only the calls since its promotion are judged", () => {
    using repo = workspace();
    const version = repo.promote("word_count");
    calls(repo.dir, "word_count", version, { end: NOW - 2 * HOUR, count: 20, okShare: 0 });
    const config = settings({ window: 10 });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config, now: new Date(NOW) }).rollback?.tool).toBe("word_count");
    const promotedAt = new Map([["word_count", new Date(NOW - HOUR)]]);
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config, now: new Date(NOW), promotedAt })).toMatchObject({
      judged: [{ tool: "word_count", reasons: [] }],
    });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config, now: new Date(NOW), promotedAt }).rollback).toBeUndefined();
    calls(repo.dir, "word_count", version, { end: NOW, count: 10, okShare: 0 });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config, now: new Date(NOW), promotedAt }).rollback?.evidence.last.calls).toBe(10);
  });

  test("of two failing tools only the worse is rolled back this run; grow.window sizes the windows", () => {
    using repo = workspace();
    const a = repo.promote("a_tool");
    const b = repo.promote("b_tool");
    calls(repo.dir, "a_tool", a, { end: NOW, count: 20, okShare: 0.4 });
    calls(repo.dir, "b_tool", b, { end: NOW, count: 20, okShare: 0.2 });
    const health = judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ window: 10 }), now: new Date(NOW) });
    expect(health.rollback?.tool).toBe("b_tool");
    expect(health.rollback?.evidence.last.calls).toBe(10);
    expect(health.judged.map((entry) => [entry.tool, entry.reasons])).toEqual([
      ["a_tool", ["failure-rate"]],
      ["b_tool", ["failure-rate"]],
    ]);
  });

  test("tools unused for grow.pruneUnusedDays are proposed for removal; off by default", () => {
    using repo = workspace();
    const idle = repo.promote("idle_tool");
    const busy = repo.promote("busy_tool");
    repo.promote("never_called");
    recordToolCall(repo.dir, { tool: "idle_tool", version: idle, ok: true, durationMs: 1, time: NOW - 31 * DAY });
    recordToolCall(repo.dir, { tool: "busy_tool", version: busy, ok: true, durationMs: 1, time: NOW - DAY });
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) }).prune).toEqual([]);
    const prune = judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ pruneUnusedDays: 30 }), now: new Date(NOW) }).prune;
    expect(prune).toEqual([
      { tool: "idle_tool", lastCall: new Date(NOW - 31 * DAY).toISOString(), idleSince: new Date(NOW - 31 * DAY).toISOString(), idleDays: 31 },
      { tool: "never_called", idleSince: new Date(NOW - 365 * DAY).toISOString(), idleDays: 365 },
    ]);
  });

  test("a tool.ts that is a FIFO is not read (a read would block for ever) and the tool is not judged", () => {
    using repo = workspace();
    const version = repo.promote("fifo_tool");
    calls(repo.dir, "fifo_tool", version, { end: NOW, count: 20, okShare: 0 });
    const file = join(repo.dir, GENERATED_TOOLS_DIR, "fifo_tool", "tool.ts");
    rmSync(file);
    expect(Bun.spawnSync(["mkfifo", file]).exitCode).toBe(0);
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings(), now: new Date(NOW) })).toEqual({ prune: [], judged: [] });
  });

  test("no tools, no record: nothing to do", () => {
    using repo = workspace();
    expect(judgeToolHealth({ workspaceRoot: repo.dir, config: settings({ pruneUnusedDays: 1 }), now: new Date(NOW) })).toEqual({
      prune: [],
      judged: [],
    });
  });
});
