import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CallToolResultSchema, ErrorCode, McpError, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { mcpToolEntry } from "../testing/mcp-fixtures.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type McpToolEntry, promotedEntries } from "./mcp-tool-catalog.ts";
import { MAX_RESOURCE_BYTES } from "./mcp-resources.ts";
import { createMcpToolServer } from "./mcp-tool-server.ts";
import { McpToolSet } from "./mcp-tool-set.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// The server in-process, over the SDK's in-memory transport, on hand-made or real on-disk entries: no sandbox run.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const entry = mcpToolEntry;

async function connected(entries: () => McpToolEntry[], progressEveryMs?: number): Promise<Client> {
  const tools = new McpToolSet(async () => entries());
  await tools.refresh();
  const { server, dispose } = await createMcpToolServer({
    tools,
    version: "9.9.9",
    logError: () => {},
    ...(progressEveryMs ? { progressEveryMs } : {}),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "org-in-memory", version: "1.0.0" });
  await client.connect(clientSide);
  cleanups.push(() => {
    void dispose();
    void client.close();
  });
  return client;
}

test("a long call with a progressToken hears that it still runs until it ends, and nothing after", async () => {
  const progress: Progress[] = [];
  const slow = entry("slow_tool", {
    // Ends once the client has heard two beats: no clock decides the outcome.
    run: async () => {
      await waitUntil("two beats of progress", () => progress.filter((step) => step.message?.includes("still running")).length >= 2, 10_000);
      return { ok: true, output: { done: true } };
    },
  });
  const client = await connected(() => [slow], 20);
  const result = await client.callTool({ name: "slow_tool", arguments: {} }, CallToolResultSchema, { onprogress: (step) => progress.push(step) });
  expect(result.structuredContent).toBeUndefined();
  expect(progress[0]?.message).toBe("slow_tool: started (in the sandbox)");
  expect(progress.slice(1, 3).map((step) => step.message)).toEqual([
    expect.stringMatching(/^slow_tool: still running \(\d+ s\)$/),
    expect.stringMatching(/still running/),
  ]);
  // Each step counts up, as the spec asks.
  expect(progress.map((step) => step.progress)).toEqual(progress.map((_, index) => index + 1));
  const heard = progress.length;
  await Bun.sleep(100);
  expect(progress).toHaveLength(heard);
});

test("a resource read refuses a file swapped for a link and a text over the cap, saying why", async () => {
  const root = mkdtempSync(join(tmpdir(), "org-mcp-resources-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const directory = writeGeneratedTool(root, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
  const secret = join(root, "secret.txt");
  writeFileSync(secret, "SECRET-CONTENT\n");
  const big = entry("big_tool", {
    documents: async () => ({ ok: true, documents: { spec: "{}", source: "x".repeat(MAX_RESOURCE_BYTES + 1), tests: "", metadata: "{}" } }),
  });
  const listed = promotedEntries(root, testSandboxAccess());
  const client = await connected(() => [...listed, big]);
  expect((await client.readResource({ uri: "org://tools/word_count/source" })).contents[0]).toMatchObject({ text: WORD_COUNT_CODE });
  // A model's folder changes under the server: tool.ts becomes a link to a file outside.
  unlinkSync(join(directory, "tool.ts"));
  symlinkSync(secret, join(directory, "tool.ts"));
  const linked = await client.readResource({ uri: "org://tools/word_count/source" }).catch((error: unknown) => error);
  expect(linked).toBeInstanceOf(McpError);
  expect((linked as McpError).code).toBe(ErrorCode.InternalError);
  expect((linked as McpError).message).toContain("tools/generated/word_count/tool.ts");
  expect((linked as McpError).message).not.toContain("SECRET-CONTENT");
  const tooBig = await client.readResource({ uri: "org://tools/big_tool/source" }).catch((error: unknown) => error);
  expect((tooBig as McpError).message).toContain(`more than the ${MAX_RESOURCE_BYTES} this server sends`);
  expect((await client.readResource({ uri: "org://tools/big_tool/spec" })).contents[0]).toEqual({
    uri: "org://tools/big_tool/spec",
    mimeType: "application/json",
    text: "{}",
  });
});
