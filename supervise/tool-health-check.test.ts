import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { takeGrowLock } from "../grow/grow-lock.ts";
import { superviseFixture } from "../testing/supervise-fixture.ts";
import { recordToolCall } from "../usage/tool-calls.ts";
import { superviseRound } from "./supervise-round.ts";
import { toolHealthCheck } from "./tool-health-check.ts";

test("pattern 9: a promoted tool failing by grow's judgement is reported and handed to grow while none runs; while one runs it is left to it", async () => {
  using fixture = superviseFixture();
  const code = 'export default () => ({ ok: "maybe" });\n';
  const folder = join(fixture.context.repoDir, GENERATED_TOOLS_DIR, "flaky_tool");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "tool.ts"), code);
  writeFileSync(join(folder, "metadata.json"), "{}");
  const version = createHash("sha256").update(code).digest("hex");
  const now = fixture.context.now();
  for (let index = 0; index < 20; index += 1) {
    const ok = index % 2 === 0;
    recordToolCall(fixture.context.repoDir, {
      tool: "flaky_tool",
      version,
      ok,
      durationMs: 5,
      time: now - (20 - index) * 60_000,
      ...(ok ? {} : { reason: "tool" as const, input: { n: index }, error: "it threw" }),
    });
  }
  const lock = takeGrowLock(fixture.dir, "org grow (a test's)");
  try {
    const running = await superviseRound(fixture.context, [toolHealthCheck]);
    expect(running.checks[0]?.state).toBe("warn");
    expect(running.checks[0]?.detail).toContain(`org grow (pid ${process.pid}) runs now and acts on it`);
    expect(running.opened).toEqual([]);
  } finally {
    lock.release();
  }
  const idle = await superviseRound(fixture.context, [toolHealthCheck]);
  expect(idle.opened.map((incident) => incident.title)).toEqual(["promoted tool flaky_tool failing"]);
  expect(fixture.context.state.openIncidents("tool-health")[0]?.detail).toContain("failure-rate");
  expect(idle.fixes.map((fix) => `${fix.action} ${fix.target} ${fix.state}`)).toEqual(["hand-to-grow flaky_tool applied"]);
  // Handed on, it waits: the next round proposes nothing more. Once the tool is gone from main (grow rolled it back), it is verified.
  expect((await superviseRound(fixture.context, [toolHealthCheck])).fixes).toEqual([]);
  rmSync(folder, { recursive: true, force: true });
  const after = await superviseRound(fixture.context, [toolHealthCheck]);
  expect(after.resolved).toHaveLength(1);
  expect(fixture.context.state.recentFixes(0)[0]?.state).toBe("verified");
});
