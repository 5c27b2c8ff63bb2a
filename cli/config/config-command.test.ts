import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../../config/org-config.ts";
import { configCommand } from "./config-command.ts";

// The lists a person reads of what waits for `org config trust` (`org config --help`, docs/models.md's table) against
// what the config's gate makes wait: a file that lowers every guard, read through the gate. No process.

const dir = mkdtempSync(join(tmpdir(), "org-config-help-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVERY_GUARD_LOWERED = {
  personas: [{ name: "agent", kind: "agent", baseUrl: "http://their-server.test:8080", apiKeyEnv: "THEIR_KEY", tools: { web_fetch: "allow" } }],
  models: {
    byPurpose: { planning: { model: "far", baseUrl: "http://10.0.0.7:11434" } },
    byTool: { sh: { model: "far", baseUrl: "http://10.0.0.7:11434" } },
  },
  servers: { "http://their-server.test:8080": { apiKeyEnv: "THEIR_KEY" } },
  serve: { tools: { sh: "allow" } },
  mcpServers: { files: { command: "node", args: ["server.mjs"], policy: "allow", tools: { write_file: "allow" } } },
  sandbox: { workspace: "write", workspaceWrite: "allow", secretPaths: [], egress: { presets: ["npm"], unlisted: "ask" } },
  network: { allowedHosts: ["evil.test"], defaultDeny: false, perMinute: 1000 },
  web: { requestHosts: ["api.their-tracker.test"], perMinute: 1000 },
  telegram: { apiBase: "http://their-bot-api.test:8081", allowedChats: [1234], transcribe: { url: "http://their-whisper.test:9000" } },
  supervise: {
    webhook: "http://127.0.0.1:1/hook",
    autoFix: ["finish-interrupted"],
    idleWork: { afterMinutes: 5, maxMinutes: 10, maxTokens: 5000, maxActionsPerRound: 10 },
  },
  grow: { autoPromote: true, confirmSessions: 1, maxFailureRate: 0.9 },
  observer: { promote: "auto" },
  share: { autoPromote: true, pullEvery: "30m" },
  toolsmith: { coverage: 0.1, mutationScore: 0.1 },
  backup: { dir: "/tmp/shared-backups" },
  schedules: { nightly: { cron: "0 2 * * *", to: "agent", message: "hello" } },
};

/** How a list names a setting: without the persona, server, tool, MCP server or schedule it is of. */
function listed(setting: string): string {
  return setting
    .replace(/^personas\[[^\]]*\]\.tools\..*$/, "a persona's tools")
    .replace(/^(personas|servers)\[[^\]]*\]\./, "")
    .replace(/^models\.(byPurpose|byTool)\..*$/, "models.$1")
    .replace(/^serve\.tools\..*$/, "serve.tools")
    .replace(/^mcpServers\.[^.]+\.(policy|tools).*$/, "an MCP server's")
    .replace(/^schedules\..*$/, "schedules");
}

const words = (text: string) => text.replaceAll("`", "").replace(/\s+/g, " ");

test("org config --help and docs/models.md name every kind of setting that waits for org config trust", () => {
  const file = join(dir, "org.config.json");
  writeFileSync(file, JSON.stringify(EVERY_GUARD_LOWERED));
  const config = loadOrgConfig(file, { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" }, { workspaceDir: dir, checkoutDir: dir });
  const kinds = [...new Set(config.unconfirmed.map((setting) => listed(setting.setting)))];
  // Every kind the gate has: a new one must be added to the file above, to the help and to docs/models.md.
  expect(kinds).toHaveLength(32);
  expect(kinds).toContain("sandbox.egress");
  const help = words(configCommand.help ?? "");
  const docs = readFileSync(join(import.meta.dir, "..", "..", "docs", "models.md"), "utf8");
  const table = words(docs.slice(docs.indexOf("## A repository's settings"), docs.indexOf("A setting that only adds protection")));
  expect(kinds.filter((kind) => !help.includes(kind))).toEqual([]);
  expect(kinds.filter((kind) => !table.includes(kind))).toEqual([]);
});
