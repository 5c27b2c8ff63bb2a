import { expect, test } from "bun:test";
import { join } from "node:path";
import { loadConfirmedConfig } from "../testing/confirmed-config.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { createMcpHttp } from "./mcp-http.ts";
import { ServedTools } from "./served-tools.ts";

const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

// serve's /mcp handler in process, its MCP session bound at 2.
test("MCP sessions stay within their bound when initializes come together: the ones used least recently are closed", async () => {
  using checkout = tempGitRepo("org-mcp-bound-");
  const config = loadConfirmedConfig(join(checkout.dir, "org.config.json"));
  const mcp = createMcpHttp({
    config,
    workspaceDir: checkout.dir,
    tools: await ServedTools.open(checkout.dir, []),
    ...testSandboxAccess(),
    version: "test",
    logError: () => {},
    maxSessions: 2,
  });
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const post = (body: unknown, id?: string) =>
    mcp.handle(
      new Request("http://127.0.0.1/mcp", {
        method: "POST",
        headers: { ...headers, ...(id ? { "mcp-session-id": id } : {}) },
        body: JSON.stringify(body),
      }),
    );
  try {
    const opened = await Promise.all([1, 2, 3, 4, 5].map(() => post(INIT)));
    const ids = opened.map((response) => response.headers.get("mcp-session-id") ?? "");
    await Promise.all(opened.map((response) => response.text()));
    expect(new Set(ids).size).toBe(5);
    const alive: string[] = [];
    for (const id of ids) {
      const answer = await post({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }, id).catch((error: unknown) => error);
      if (answer instanceof Response) {
        await answer.text();
        alive.push(id);
      } else expect(String(answer)).toContain("no such MCP session");
    }
    expect(alive).toHaveLength(2);
  } finally {
    await mcp.close();
  }
}, 30_000);
