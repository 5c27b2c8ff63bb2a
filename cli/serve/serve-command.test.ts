// `org serve` on a port that is taken, as a real process with MCP servers configured and confirmed: it says the port is
// in use and exits 1 at once, and starts nothing (no MCP server, no memory) before the port is held.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";
import { exitsWithin } from "../../testing/process-tree.ts";

const EVERYTHING = join(import.meta.dir, "..", "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const workspace = mkdtempSync(join(tmpdir(), "org-serve-taken-"));
// org's code alone: serve would read the checkout's promoted tools, which are no part of this test.
const code = orgCodeCopy("org-serve-taken-code-");

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

function org(args: string[]) {
  return Bun.spawn(orgCommand(args, { checkoutDir: code.dir }), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: "http://127.0.0.1:9", ORG_PROFILE: "dev" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
}

/** A listener on a free loopback port, held by this test. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { port: address.port, server };
}

test("serve on a port in use exits 1 at once, before any MCP server starts", async () => {
  // Each server leaves a marker the moment it is started, before it speaks MCP.
  const marker = (name: string) => join(workspace, `${name}.started`);
  const server = (name: string) => ({
    command: "/bin/sh",
    args: ["-c", 'touch "$0"; exec "$1" "$2" stdio', marker(name), process.execPath, EVERYTHING],
  });
  writeFileSync(
    join(workspace, "org.config.json"),
    JSON.stringify({ personas: [{ name: "agent", kind: "agent" }], mcpServers: { first: server("first"), second: server("second") } }),
  );
  const trusted = org(["mcp", "trust", "first", "second"]);
  expect(await trusted.exited).toBe(0);
  const { port, server: holder } = await takenPort();
  try {
    const serve = org(["serve", "--port", String(port), "--workspace", workspace]);
    // Before the fix it printed the refusal, started both servers and ran until killed.
    const exited = await exitsWithin(serve, 30_000);
    if (!exited) serve.kill("SIGKILL");
    const stderr = await new Response(serve.stderr).text();
    expect(exited).toBe(true);
    expect(serve.exitCode).toBe(1);
    expect(stderr).toBe(`org: port ${port} on 127.0.0.1 is in use; stop what listens there or pick another with --port.\n`);
    expect(await new Response(serve.stdout).text()).toBe("");
    expect(existsSync(marker("first")) || existsSync(marker("second"))).toBe(false);
  } finally {
    holder.close();
  }
}, 60_000);
