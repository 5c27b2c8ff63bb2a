import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  type ProgressNotification,
  ProgressNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { makeCandidate, writePassingReport } from "../testing/promotion-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { BOOM_CODE, boomSpec, LINES_WORKFLOW, SHOUT_CODE, shoutSpec } from "../testing/mcp-fixtures.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { DEFAULT_BROWSER } from "../config/browser-settings.ts";
import { browserTool } from "../tools/browser.ts";

const REPO = join(import.meta.dir, "..");

/** A workflow with an enum input (completion) around word_count. */
const MODE_WORKFLOW = {
  name: "count by mode",
  description: "Counts the words of a text, in a mode.",
  inputs: {
    type: "object",
    properties: { text: { type: "string" }, mode: { type: "string", enum: ["fast", "faithful", "slow"] } },
    required: ["text", "mode"],
  },
  steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
  output: { words: "$steps.count.output.words" },
};

/** A workflow whose step is the room's browser: a workflow's steps are generated tools, so it is never offered. */
const BROWSE_WORKFLOW = {
  name: "browse",
  inputs: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
  steps: [{ id: "open", tool: "browser", inputs: { action: "open", url: "$inputs.url" } }],
  output: { page: "$steps.open.output" },
};

// The SDK's own client spawns `bin/org mcp` on a throw-away repository that holds promoted tools, as an MCP
// client configured with `"command": "org", "args": ["mcp"]` would.
describe("org mcp over stdio, with the MCP SDK's client", () => {
  const repo = tempGitRepo("org-mcp-stdio-");
  // The workspace is not the checkout: its workflows use the checkout's promoted tools.
  const workspace = mkdtempSync(join(tmpdir(), "org-mcp-ws-"));
  const stderr: string[] = [];
  const changes: number[] = [];
  const updated: string[] = [];
  const logs: { level: string; data: unknown }[] = [];
  // A line on stdout that is not protocol reaches the client as an error here.
  const protocolErrors: Error[] = [];
  let client: Client;

  beforeAll(async () => {
    writeGeneratedTool(repo.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(repo.dir, boomSpec(), BOOM_CODE);
    chmodSync(workspace, 0o755);
    mkdirSync(join(workspace, "workflows"));
    writeFileSync(join(workspace, "workflows", "count-all.json"), JSON.stringify(LINES_WORKFLOW));
    writeFileSync(join(workspace, "workflows", "count-mode.json"), JSON.stringify(MODE_WORKFLOW));
    writeFileSync(join(workspace, "workflows", "browse.json"), JSON.stringify(BROWSE_WORKFLOW));
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
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updated.push(notification.params.uri);
    });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push({ level: notification.params.level, data: notification.params.data });
    });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    repo[Symbol.dispose]();
    rmSync(workspace, { recursive: true, force: true });
  });

  test("lists the browser, then each promoted tool and workflow with its schemas and annotations", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["browser", "boom", "word_count", "count-all", "count-mode"]);
    // The room's own tool: its description and the JSON Schema of its one zod schema.
    const browser = browserTool({ settings: DEFAULT_BROWSER });
    expect(tools[0]).toMatchObject({ description: browser.description, inputSchema: browser.definition.function.parameters as never });
    expect(tools[0]?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, openWorldHint: true });
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

  // A call that starts a browser is mcp-browser.test.ts's (one Chromium for the file); here, that the process wires it.
  test("a browser call is checked by the room's tool (its schema); a workflow cannot reach the browser", async () => {
    const bad = await client.callTool({ name: "browser", arguments: { action: "fly" } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]?.text).toContain("invalid arguments for browser: action:");
    // A workflow's steps are promoted tools, never the room's browser: the workflow is not offered, and org says why.
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("browse");
    expect(stderr.join("")).toMatch(/not offered: browse\.json: .*browser/);
    const called = await client.callTool({ name: "browse", arguments: { url: "http://example.com/" } }).catch((error: unknown) => error);
    expect((called as McpError).code).toBe(ErrorCode.InvalidParams);
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
    expect((await client.listTools()).tools).toHaveLength(5);
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
      expect(tools.map((tool) => tool.name).sort()).toEqual(["boom", "browser", "count-all", "count-mode", "shout", "word_count"]);
      expect((await candidate.callTool({ name: "shout", arguments: { text: "from the branch" } })).structuredContent).toEqual({
        result: "FROM THE BRANCH",
      });
    } finally {
      await candidate.close();
    }
    // The candidate is not promoted: the main server does not offer it.
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("shout");
  }, 60_000);

  test("a promotion and a rollback change the list without a restart, and the client is told", async () => {
    const branch = "cand/20261123T120000Z";
    const commit = makeCandidate(repo.dir, branch, (worktree) => writeGeneratedTool(worktree, shoutSpec(), SHOUT_CODE));
    writePassingReport(repo.dir, commit, branch);
    // A resource that does not exist yet can be watched: the promotion brings it.
    await client.subscribeResource({ uri: "org://tools/shout/source" });
    await client.subscribeResource({ uri: "org://tools/word_count/source" });
    // What `org promote` does to main and the checkout: a merge commit, then its event in the checkout's stream.
    gitSync(repo.dir, ["merge", "--quiet", "--no-ff", "-m", `merge: promote ${branch}`, branch]);
    publishWorkspaceEvent(repo.dir, { type: "main-promoted", branch, tag: "promote/20261123T120100Z" });
    await waitUntil("tools/list_changed after the promotion", () => changes.length >= 1, 30_000);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain("shout");
    const shout = await client.callTool({ name: "shout", arguments: { text: "hi" } });
    expect(shout.structuredContent).toEqual({ result: "HI" });
    await waitUntil("resources/updated for the promoted tool's source", () => updated.includes("org://tools/shout/source"), 30_000);
    expect((await client.readResource({ uri: "org://tools/shout/source" })).contents[0]).toMatchObject({
      text: SHOUT_CODE,
      mimeType: "text/x-typescript",
    });
    // The gate's signed report on the candidate commit that brought the tool.
    const report = (await client.readResource({ uri: "org://tools/shout/reports/1" })).contents[0] as { text: string; mimeType: string };
    expect(report.mimeType).toBe("application/json");
    expect(JSON.parse(report.text)).toMatchObject({ verdict: "pass", commit, branch });
    expect((await client.listResources()).resources.map((resource) => resource.uri)).toContain("org://tools/shout/reports/1");
    // Its number is offered when a client completes the report template for this tool.
    const numbers = await client.complete({
      ref: { type: "ref/resource", uri: "org://tools/{name}/reports/{n}" },
      argument: { name: "n", value: "" },
      context: { arguments: { name: "shout" } },
    });
    expect(numbers.completion.values).toEqual(["1"]);
    gitSync(repo.dir, ["revert", "--no-edit", "-m", "1", "HEAD"]);
    publishWorkspaceEvent(repo.dir, { type: "main-rolled-back", tag: "promote/20261123T120100Z" });
    await waitUntil("tools/list_changed after the rollback", () => changes.length >= 2, 30_000);
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("shout");
    await waitUntil(
      "resources/updated for the rolled-back tool's source",
      () => updated.filter((uri) => uri === "org://tools/shout/source").length >= 2,
      30_000,
    );
    // word_count did not change: its subscriber heard nothing.
    expect(updated).not.toContain("org://tools/word_count/source");
    const gone = await client.readResource({ uri: "org://tools/shout/source" }).catch((error: unknown) => error);
    expect((gone as McpError).code).toBe(-32002);
    expect(stderr.join("")).toContain("serving 5 tool(s)");
    expect(protocolErrors).toEqual([]);
  }, 120_000);

  test("resources: each tool's spec, source, tests and metadata and each workflow, by template; nothing outside", async () => {
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(
      expect.arrayContaining([
        "org://tools/word_count/spec",
        "org://tools/word_count/source",
        "org://tools/word_count/tests",
        "org://tools/word_count/metadata",
        "org://workflows/count-all",
      ]),
    );
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual([
      "org://tools/{name}/spec",
      "org://tools/{name}/source",
      "org://tools/{name}/tests",
      "org://tools/{name}/metadata",
      "org://tools/{name}/reports/{n}",
      "org://workflows/{name}",
    ]);
    const read = async (uri: string) => (await client.readResource({ uri })).contents[0] as { uri: string; text: string; mimeType: string };
    expect(JSON.parse((await read("org://tools/word_count/spec")).text)).toEqual(wordCountSpec() as never);
    expect(await read("org://tools/word_count/source")).toEqual({
      uri: "org://tools/word_count/source",
      text: WORD_COUNT_CODE,
      mimeType: "text/x-typescript",
    });
    expect((await read("org://tools/word_count/tests")).text).toBe(WORD_COUNT_TESTS);
    expect(JSON.parse((await read("org://tools/word_count/metadata")).text).spec.name).toBe("word_count");
    expect(JSON.parse((await read("org://workflows/count-all")).text)).toMatchObject({ name: LINES_WORKFLOW.name, steps: LINES_WORKFLOW.steps });
    // A name is looked up among the tools offered, never made into a path.
    for (const uri of [
      "org://tools/../x/spec",
      "org://tools/..%2F..%2Fetc/source",
      "org://workflows/../../etc/passwd",
      "org://tools/word_count/reports/1",
      "file:///etc/passwd",
    ]) {
      const error = await client.readResource({ uri }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(-32002);
    }
    const stray = await client.subscribeResource({ uri: "file:///etc/passwd" }).catch((caught: unknown) => caught);
    expect((stray as McpError).code).toBe(ErrorCode.InvalidParams);
  }, 60_000);

  test("prompts: one per persona with the user's message, one per workflow; completion of enums and template names", async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual(["agent", "python", "toolsmith", "workflow.count-all", "workflow.count-mode"]);
    expect(prompts[0]?.arguments).toEqual([{ name: "message", description: "What the user says to agent.", required: true }]);
    const agent = await client.getPrompt({ name: "agent", arguments: { message: "list the files" } });
    const agentText = (agent.messages[0]?.content as { text: string }).text;
    expect(agentText).toStartWith("You are agent, an engineer");
    expect(agentText).toEndWith("The user says:\nlist the files");
    const run = await client.getPrompt({ name: "workflow.count-mode", arguments: { text: "a b", mode: "fast" } });
    expect((run.messages[0]?.content as { text: string }).text).toContain('"mode": "fast"');
    const missing = await client.getPrompt({ name: "workflow.count-mode", arguments: { text: "a b" } }).catch((error: unknown) => error);
    expect((missing as McpError).message).toContain('needs the argument "mode"');
    const complete = (ref: { type: "ref/prompt"; name: string } | { type: "ref/resource"; uri: string }, name: string, value: string) =>
      client.complete({ ref, argument: { name, value } }).then((result) => result.completion.values);
    expect(await complete({ type: "ref/prompt", name: "workflow.count-mode" }, "mode", "fa")).toEqual(["fast", "faithful"]);
    expect(await complete({ type: "ref/prompt", name: "agent" }, "message", "x")).toEqual([]);
    expect(await complete({ type: "ref/resource", uri: "org://tools/{name}/source" }, "name", "wo")).toEqual(["word_count"]);
    expect(await complete({ type: "ref/resource", uri: "org://workflows/{name}" }, "name", "count-")).toEqual(["count-all", "count-mode"]);
    const unknown = await complete({ type: "ref/prompt", name: "nope" }, "x", "").catch((error: unknown) => error);
    expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams);
  });

  test("a call with a progressToken hears each workflow step; logging follows logging/setLevel", async () => {
    await client.setLoggingLevel("debug");
    const progress: ProgressNotification["params"][] = [];
    // Not the SDK's `onprogress`: its client drops a progress notification read in the same chunk as the answer
    // (the answer removes the handler before the notification's turn comes). Notifications are handled in order.
    client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
      if (notification.params.progressToken === "count-all-1") progress.push(notification.params);
    });
    const result = await client.callTool({ name: "count-all", arguments: { text: "a b c" }, _meta: { progressToken: "count-all-1" } });
    expect(result.isError).toBeFalsy();
    // A call past progressEveryMs (a busy machine's sandbox) also hears "still running" beats between the steps.
    const steps = progress.filter((step) => !/^count-all: still running \(\d+ s\)$/.test(step.message ?? ""));
    expect(steps.map((step) => step.message)).toEqual(["count-all: started (a workflow)", "count-all: step count done"]);
    expect(progress.map((step) => step.progress)).toEqual(progress.map((_, index) => index + 1));
    expect(new Set(progress.map((step) => step.progressToken))).toEqual(new Set(["count-all-1"]));
    expect(logs).toEqual(
      expect.arrayContaining([
        { level: "debug", data: "count-all: called" },
        { level: "info", data: "count-all: step count done" },
      ]),
    );
    await client.setLoggingLevel("warning");
    const before = logs.length;
    await client.callTool({ name: "count-all", arguments: { text: "a" } });
    const failing = await client.callTool({ name: "boom", arguments: { text: "x" } });
    expect(failing.isError).toBe(true);
    // Notifications travel before the answer on stdio: only the warning came.
    expect(logs.slice(before).map((line) => line.level)).toEqual(["warning"]);
    expect(String(logs.at(-1)?.data)).toContain("boom failed");
  }, 60_000);

  test("a workflow saved by hand while it runs is offered, and one removed is gone: the folder's watch, no clock", async () => {
    const before = changes.length;
    const file = join(workspace, "workflows", "count-again.json");
    writeFileSync(file, JSON.stringify({ ...LINES_WORKFLOW, name: "count again" }));
    await waitUntil("tools/list_changed after the workflow was saved", () => changes.length > before, 30_000);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("count-again");
    rmSync(file);
    await waitUntil("tools/list_changed after the workflow was removed", () => changes.length > before + 1, 30_000);
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain("count-again");
  }, 60_000);
});
