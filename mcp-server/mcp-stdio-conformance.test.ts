import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { conformanceProblems, FIXTURE_SCENARIOS, runConformance, type ScenarioOutcome } from "../testing/mcp-conformance.ts";
import { LINES_WORKFLOW } from "../testing/mcp-fixtures.ts";
import { type StdioHttpBridge, stdioHttpBridge } from "../testing/stdio-http-bridge.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";

const REPO = join(import.meta.dir, "..");

// The conformance suite speaks only Streamable HTTP (`--url`): `org mcp` is reached through a bridge that
// renumbers ids and progress tokens and adds nothing. The HTTP-only scenarios test the bridge, not org, so they
// are not judged here (serve's /mcp passes them: serve/mcp-conformance.test.ts).
const HTTP_ONLY = ["dns-rebinding-protection", "server-sse-multiple-streams"];

describe("org mcp (stdio) against the MCP conformance suite", () => {
  const repo = tempGitRepo("org-mcp-stdio-conformance-");
  const workspace = mkdtempSync(join(tmpdir(), "org-mcp-conformance-ws-"));
  let bridge: StdioHttpBridge;
  let outcomes: ScenarioOutcome[];

  beforeAll(async () => {
    writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "a tool"]);
    chmodSync(workspace, 0o755);
    mkdirSync(join(workspace, "workflows"));
    writeFileSync(join(workspace, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
    const env = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
    bridge = await stdioHttpBridge(join(REPO, "bin", "org"), ["mcp", "--repo", repo.dir, "--workspace", workspace], env);
    outcomes = (await runConformance(bridge.url)).filter((outcome) => !HTTP_ONLY.includes(outcome.scenario));
  }, 150_000);

  afterAll(async () => {
    await bridge?.close();
    repo[Symbol.dispose]();
    rmSync(workspace, { recursive: true, force: true });
  });

  test("every scenario that needs no fixture of the reference server passes; the others fail only for it", () => {
    const own = outcomes.filter((outcome) => !(outcome.scenario in FIXTURE_SCENARIOS)).map((outcome) => outcome.scenario);
    expect(own).toEqual(["logging-set-level", "ping", "prompts-list", "resources-list", "server-initialize", "tools-list"]);
    expect(conformanceProblems(outcomes)).toEqual([]);
    expect(bridge.stderr.join("")).toContain("serving 3 tool(s) on stdio: browser, word_count, count-all");
  });
});
