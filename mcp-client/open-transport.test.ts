import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { openTransport } from "./open-transport.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-open-transport-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

test("a sandboxed server's connections through its egress guard are audit lines, as a room command's are", async () => {
  // The server asks its guard for a host off its network list: refused before any name is resolved, and recorded.
  const server: McpServerConfig = {
    name: "fetcher",
    transport: "stdio",
    command: "/bin/sh",
    args: ["-c", "curl -sS --max-time 5 http://elsewhere.test/ >/dev/null 2>&1; exec sleep 30"],
    sandbox: true,
    network: ["allowed.test"],
    policy: "ask",
    tools: {},
  };
  const entries: AuditEntry[] = [];
  const opened = await openTransport({
    ...testSandboxAccess(sandboxPolicy({ poolSize: 0, workspace: "none" })),
    server,
    workspaceDir,
    audit: { record: (entry) => entries.push(entry) },
  });
  try {
    await waitUntil("the refused connection's audit line", () => entries.length > 0, 20_000);
  } finally {
    opened.process?.kill("test over");
    await opened.process?.exited;
  }
  expect(entries).toEqual([
    expect.objectContaining({
      tool: "egress",
      ok: true,
      arguments: { connect: "elsewhere.test:80" },
      connection: expect.objectContaining({
        host: "elsewhere.test",
        port: 80,
        allowed: false,
        rule: "not on sandbox.egress.allow",
        command: expect.stringMatching(/^mcp server fetcher: \/bin\/sh -c curl/),
      }),
    }),
  ]);
}, 30_000);
