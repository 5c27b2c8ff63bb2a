import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { conformanceProblems, FIXTURE_SCENARIOS, runConformance, type ScenarioOutcome } from "../testing/mcp-conformance.ts";
import { LINES_WORKFLOW } from "../testing/mcp-fixtures.ts";
import { type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { type RunningServe, startServe } from "./start-serve.ts";
import { DEFAULT_BROWSER } from "../config/browser-settings.ts";
import { browserTool } from "../tools/browser.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";

// The official conformance suite, a program someone else wrote, against serve's /mcp on a real socket.
describe("serve's /mcp against the MCP conformance suite", () => {
  const checkout = tempGitRepo("org-mcp-conformance-");
  let fixture: ServeFixture;
  let server: RunningServe;
  let outcomes: ScenarioOutcome[];

  beforeAll(async () => {
    writeGeneratedTool(checkout.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    gitSync(checkout.dir, ["add", "-A"]);
    gitSync(checkout.dir, ["commit", "--quiet", "-m", "a tool"]);
    // The suite's client sends no token: the loopback-only serve, as a local client would find it.
    // serve's built-ins as `org serve` has them where /mcp reads one: the browser, offered beside the tool and workflow.
    fixture = await serveFixture({
      script: { rules: [{ reply: { text: "hi" } }] },
      checkoutDir: checkout.dir,
      loopbackOnly: true,
      builtIns: [sh, pythonRun, browserTool({ settings: DEFAULT_BROWSER })],
    });
    mkdirSync(join(fixture.workspaceDir, "workflows"));
    writeFileSync(join(fixture.workspaceDir, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
    server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    outcomes = await runConformance(`${server.url}/mcp`);
  }, 150_000);

  afterAll(async () => {
    await server?.stop(true);
    await fixture?.[Symbol.asyncDispose]();
    checkout[Symbol.dispose]();
  });

  test("every scenario that needs no fixture of the reference server passes", () => {
    const own = outcomes.filter((outcome) => !(outcome.scenario in FIXTURE_SCENARIOS));
    expect(own.map((outcome) => outcome.scenario)).toEqual([
      "dns-rebinding-protection",
      "logging-set-level",
      "ping",
      "prompts-list",
      "resources-list",
      "server-initialize",
      "server-sse-multiple-streams",
      "tools-list",
    ]);
    for (const outcome of own) {
      expect({ scenario: outcome.scenario, failures: outcome.failures }).toEqual({ scenario: outcome.scenario, failures: [] });
      expect(outcome.statuses).toContain("SUCCESS");
    }
  });

  test("the others fail only for the reference server's fixture they name", () => {
    expect(conformanceProblems(outcomes)).toEqual([]);
  });
});
