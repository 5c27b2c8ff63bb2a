import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { makeCandidate } from "../testing/promotion-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { BOOM_CODE, boomSpec, LINES_WORKFLOW, SHOUT_CODE, shoutSpec } from "../testing/mcp-fixtures.ts";

const REPO = join(import.meta.dir, "..");

// The SDK's own client spawns `bin/org mcp` on a throw-away repository that holds promoted tools, as an MCP
// client configured with `"command": "org", "args": ["mcp"]` would.
describe("org mcp over stdio, with the MCP SDK's client", () => {
  const repo = tempGitRepo("org-mcp-stdio-");
  // The workspace is not the checkout: its workflows use the checkout's promoted tools.
  const workspace = mkdtempSync(join(tmpdir(), "org-mcp-ws-"));
  const stderr: string[] = [];
  const changes: number[] = [];
  // A line on stdout that is not protocol reaches the client as an error here.
  const protocolErrors: Error[] = [];
  let client: Client;

  beforeAll(async () => {
    writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(repo.dir, boomSpec(), BOOM_CODE);
    chmodSync(workspace, 0o755);
    mkdirSync(join(workspace, "workflows"));
    writeFileSync(join(workspace, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
    writeFileSync(join(repo.dir, ".gitignore"), ".org/\n");
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "two promoted tools"]);
    const transport = new StdioClientTransport({
      command: join(REPO, "bin", "org"),
      args: ["mcp", "--repo", repo.dir, "--workspace", workspace],
      env: Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    client = new Client({ name: "org-test", version: "1.0.0" });
    client.onerror = (error) => protocolErrors.push(error);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes.push(Date.now());
    });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    repo[Symbol.dispose]();
    rmSync(workspace, { recursive: true, force: true });
  });

  test("lists each promoted tool and workflow with its schemas and annotations", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["boom", "word_count", "count-all"]);
    const wordCount = tools.find((tool) => tool.name === "word_count");
    expect(wordCount?.description).toContain("Counts the words of a text.");
    expect(wordCount?.inputSchema).toEqual(wordCountSpec().input_schema as never);
    expect(wordCount?.outputSchema).toEqual(wordCountSpec().output_schema as never);
    expect(wordCount?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    expect(tools.find((tool) => tool.name === "boom")?.annotations?.idempotentHint).toBe(false);
    expect(tools.find((tool) => tool.name === "count-all")?.inputSchema).toEqual(LINES_WORKFLOW.inputs as never);
  });

  test("a call runs in the sandbox and answers with text and structured content", async () => {
    const result = await client.callTool({ name: "word_count", arguments: { text: "one two three" } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ words: 3 });
    expect(result.content).toEqual([{ type: "text", text: '{"words":3}' }]);
  }, 60_000);

  test("a workflow is a tool too", async () => {
    const result = await client.callTool({ name: "count-all", arguments: { text: "a b c" } });
    expect(result.isError).toBeFalsy();
    expect(JSON.parse((result.content as { text: string }[])[0]?.text ?? "")).toEqual({ words: 3 });
  }, 60_000);

  test("bad input and a failing tool are tool errors; an unknown tool and a stray cursor are JSON-RPC -32602; the server goes on", async () => {
    const bad = await client.callTool({ name: "word_count", arguments: { text: 42 } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]?.text).toContain("does not match word_count's input schema");
    const failing = await client.callTool({ name: "boom", arguments: { text: "x" } });
    expect(failing.isError).toBe(true);
    expect((failing.content as { text: string }[])[0]?.text).toContain("boom failed (tool)");
    expect((failing.content as { text: string }[])[0]?.text).toContain("always fails");
    const unknown = await client.callTool({ name: "nope", arguments: {} }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(McpError);
    expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((unknown as McpError).message).toContain('unknown tool "nope"');
    const cursor = await client.listTools({ cursor: "page-2" }).catch((error: unknown) => error);
    expect((cursor as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((await client.listTools()).tools).toHaveLength(3);
  }, 60_000);

  test("--ref offers a candidate branch's tools beside the promoted ones", async () => {
    const branch = "cand/20261123T110000Z";
    makeCandidate(repo.dir, branch, (worktree) => writeGeneratedTool(worktree, shoutSpec(), SHOUT_CODE));
    const candidate = new Client({ name: "org-test-ref", version: "1.0.0" });
    await candidate.connect(
      new StdioClientTransport({
        command: join(REPO, "bin", "org"),
        args: ["mcp", "--ref", branch, "--repo", repo.dir, "--workspace", workspace],
        env: Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
        stderr: "pipe",
      }),
    );
    try {
      const { tools } = await candidate.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(["boom", "count-all", "shout", "word_count"]);
      expect((await candidate.callTool({ name: "shout", arguments: { text: "from the branch" } })).structuredContent).toEqual({ result: "FROM THE BRANCH" });
    } finally {
      await candidate.close();
    }
    // The candidate is not promoted: the main server does not offer it.
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("shout");
  }, 60_000);

  test("a promotion and a rollback change the list without a restart, and the client is told", async () => {
    const branch = "cand/20261123T120000Z";
    makeCandidate(repo.dir, branch, (worktree) => writeGeneratedTool(worktree, shoutSpec(), SHOUT_CODE));
    // What `org promote` does to main and the checkout: a merge commit.
    gitSync(repo.dir, ["merge", "--quiet", "--no-ff", "-m", `merge: promote ${branch}`, branch]);
    await waitUntil("tools/list_changed after the promotion", () => changes.length >= 1, 30_000);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain("shout");
    const shout = await client.callTool({ name: "shout", arguments: { text: "hi" } });
    expect(shout.structuredContent).toEqual({ result: "HI" });
    gitSync(repo.dir, ["revert", "--no-edit", "-m", "1", "HEAD"]);
    await waitUntil("tools/list_changed after the rollback", () => changes.length >= 2, 30_000);
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("shout");
    expect(stderr.join("")).toContain("serving 3 tool(s)");
    expect(protocolErrors).toEqual([]);
  }, 120_000);
});
