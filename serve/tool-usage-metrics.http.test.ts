import { afterAll, describe, expect, test } from "bun:test";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { recordToolCall } from "../usage/tool-calls.ts";
import { toolUsageLines } from "./serve-metrics.ts";
import { startServe } from "./start-serve.ts";

const checkout = tempGitRepo("org-serve-usage-");
afterAll(() => checkout[Symbol.dispose]());

describe("/metrics: generated tools' calls from the usage record", () => {
  test("a run over HTTP is recorded and shows in org_tool_calls_total and org_tool_duration_seconds on the real socket", async () => {
    writeGeneratedTool(checkout.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    gitSync(checkout.dir, ["add", "-A"]);
    gitSync(checkout.dir, ["commit", "--quiet", "-m", "one tool"]);
    // A failure some other process (the room, a workflow) recorded earlier.
    recordToolCall(checkout.dir, {
      tool: "word_count",
      version: sha256Hex(WORD_COUNT_CODE),
      ok: false,
      reason: "timeout",
      durationMs: 3_000,
      input: { text: "x" },
    });
    await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const run = await fetch(post(`${server.url}/v1/tools/word_count/run`, { inputs: { text: "one two three" } }));
      expect(run.status).toBe(200);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain("# TYPE org_tool_calls_total counter");
      expect(text).toContain('org_tool_calls_total{tool="word_count",outcome="ok"} 1');
      expect(text).toContain('org_tool_calls_total{tool="word_count",outcome="timeout"} 1');
      expect(text).toContain("# TYPE org_tool_duration_seconds summary");
      expect(text).toContain('org_tool_duration_seconds_count{tool="word_count"} 2');
      expect(text).toMatch(/org_tool_duration_seconds\{tool="word_count",quantile="0\.95"\} 3\n/);
      expect(text).toMatch(/org_tool_trust\{tool="word_count"\} 0\.5\d*\n/);
      expect(fixture.errors).toEqual([]);
    } finally {
      await server.stop(true);
    }
  }, 60_000);

  test("label values are escaped: a quote, a backslash or a line break cannot end the label or start a series", () => {
    const lines = toolUsageLines([
      {
        tool: 'evil"} 1\norg_fake_total 99\\',
        calls: 1,
        ok: 1,
        failed: 0,
        failedBy: {},
        input: 0,
        cancelled: 0,
        trust: 1,
        latencyMs: { mean: 5, p50: 5, p95: 5, max: 5, total: 5 },
      },
    ]);
    expect(lines).toContain('org_tool_calls_total{tool="evil\\"} 1\\norg_fake_total 99\\\\",outcome="ok"} 1');
    expect(lines.some((line) => line.startsWith("org_fake_total"))).toBe(false);
    expect(lines.join("\n").split("\n")).toHaveLength(lines.length);
  });
});
