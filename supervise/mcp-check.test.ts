import { expect, test } from "bun:test";
import { DEFAULT_MCP } from "../config/mcp-servers.ts";
import { McpConnection } from "../mcp-client/mcp-connection.ts";
import { mcpHold, readMcpRestarts, recordMcpRestart, releaseMcpServer } from "../mcp-client/mcp-restarts.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { superviseFixture } from "../testing/supervise-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { mcpCheck } from "./mcp-check.ts";
import { superviseRound } from "./supervise-round.ts";

test("pattern 8: an MCP server restarting past maxRestarts in the window is held; its connection then goes off instead of restarting, and the fix is verified", async () => {
  using fixture = superviseFixture();
  const config = fixture.configure({
    mcpServers: { flaky: { command: process.execPath, args: ["-e", "process.exit(3)"] } },
    supervise: { maxRestarts: 3, window: "10m" },
  });
  const server = config.mcpServers[0];
  if (!server) throw new Error("no server in the config");
  // Three restarts in the window are within bounds; a fourth is too many. One older than the window does not count.
  recordMcpRestart(fixture.dir, "flaky", "restart", "exited with code 3", new Date(fixture.context.now() - 3_600_000));
  for (let index = 0; index < 3; index += 1)
    recordMcpRestart(fixture.dir, "flaky", "restart", "exited with code 3", new Date(fixture.context.now() - 60_000 + index));
  expect((await superviseRound(fixture.context, [mcpCheck])).opened).toEqual([]);
  recordMcpRestart(fixture.dir, "flaky", "restart", "exited with code 3", new Date(fixture.context.now() - 1_000));

  const round = await superviseRound(fixture.context, [mcpCheck]);
  expect(round.opened.map((incident) => incident.title)).toEqual(["MCP server flaky restarting too often"]);
  expect(round.fixes.map((fix) => `${fix.action} ${fix.target} ${fix.state}`)).toEqual(["hold-mcp-server flaky applied"]);
  expect(mcpHold(fixture.dir, server)?.reason).toBe("4 restarts in 10m");

  // The process that runs the server (here, a connection of this test) skips its next restart and records it.
  const connection = new McpConnection({
    ...testSandboxAccess(),
    server,
    settings: DEFAULT_MCP,
    workspaceDir: fixture.dir,
    version: "test",
    env: {},
    onChange: () => {},
  });
  try {
    connection.start();
    await waitUntil("the held server to go off", () => connection.state.kind === "off", 20_000);
    expect(connection.state.kind === "off" && connection.state.reason).toContain("held by org supervise");
  } finally {
    await connection.stop();
  }
  fixture.advance(5_000);
  expect(readMcpRestarts(fixture.dir, 0).filter((event) => event.event === "held")).toHaveLength(1);
  const verified = await superviseRound(fixture.context, [mcpCheck]);
  expect(verified.resolved.map((incident) => incident.title)).toEqual(["MCP server flaky restarting too often"]);
  expect(fixture.context.state.recentFixes(0)[0]?.state).toBe("verified");
  expect(verified.checks[0]?.detail).toContain("held: flaky");

  // A changed launch releases the hold; so does `org supervise release`.
  expect(mcpHold(fixture.dir, { ...server, args: ["-e", "process.exit(4)"] })).toBeUndefined();
  expect(releaseMcpServer(fixture.dir, "flaky")).toBe(true);
  expect(mcpHold(fixture.dir, server)).toBeUndefined();
}, 60_000);
