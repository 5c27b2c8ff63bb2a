import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importersOf, modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";

// Every `org serve` start (each instance, each candidate the gate starts, every test that starts one) loaded 619
// modules: the web room's views with the candidates' gate and promotion, grow, the supervisor's checks and fixes, the
// backups, and the Telegram bot, whether or not anyone asked for them. Those load when a view is first asked for, or
// with --telegram, --supervise and --grow-every.
const workspace = mkdtempSync(join(tmpdir(), "org-serve-loads-"));
// org's code alone: serve would read the checkout's promoted tools, which are no part of this test.
const code = orgCodeCopy("org-serve-loads-code-");

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

test("org serve with no flags answers without loading the views', grow's, the supervisor's, backup's or Telegram's code", async () => {
  const { stdout, stderr, modules } = await modulesLoadedBy(["serve", "--port", "0", "--workspace", workspace], {
    cwd: workspace,
    checkoutDir: code.dir,
    env: { OLLAMA_BASE: "http://127.0.0.1:9", ORG_PROFILE: "dev" },
    stopWhen: /listening on http:\/\/\S+/,
  });
  expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
  expect(stderr).toContain("stopped");
  expect(modules).toContain("cli/serve/run-serve.ts");
  expect(modules).toContain("web/page-routes.ts");
  const unasked = (path: string) =>
    /^(telegram|grow|backup|instances)\//.test(path) ||
    /^web\/(candidate|changes|growth|memory|supervisor|tool-usage)-routes\.ts$/.test(path) ||
    ["web/gate-runs.ts", "cycle/promote-candidate.ts", "fitness/run-fitness.ts", "supervise/supervisor.ts", "cli/serve/telegram-bot.ts"].includes(
      path,
    );
  expect(modules.filter(unasked)).toEqual([]);
  // Nor the MCP server's code before a session (its browser neither, nor the browser's own before a call), nor bun's
  // JavaScript node:crypto, node:tls or node:zlib at the top.
  const mcpCode = ["mcp-server/mcp-tool-server.ts", "mcp-server/mcp-tool-set.ts", "mcp-server/mcp-browser.ts", "mcp-client/mcp-hub.ts"];
  expect(modules.filter((path) => [...mcpCode, "tools/browser-session.ts", "tools/browser-actions.ts"].includes(path))).toEqual([]);
  expect(importersOf(modules, ["node:crypto", "node:tls", "node:zlib", "node:dns/promises", "node:stream/promises"], code.dir)).toEqual([]);
}, 90_000);
