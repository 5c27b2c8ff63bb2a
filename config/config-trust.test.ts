import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configTrust, confirmConfig, describeUnconfirmed } from "./config-trust.ts";
import { DEFAULT_SECRET_PATHS } from "./secret-paths.ts";
import { loadOrgConfig, type OrgConfig } from "./org-config.ts";
import { userOrgDir } from "./user-org-dir.ts";

// Issue 51 items 3 and 8: a workspace's org.config.json is whoever wrote the repository's. Each setting that sends
// something out or lowers a guard is at its default until the person confirms it (for this workspace, this value);
// a setting that only adds protection needs nothing; the confirmations live in the person's own org folder.

const env = { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m", GITHUB_TOKEN: "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A workspace whose org.config.json holds `config`, as a clone brings it. */
function workspaceWith(config: unknown): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "org-config-trust-"));
  dirs.push(dir);
  const file = join(dir, "org.config.json");
  writeFileSync(file, JSON.stringify(config));
  return { dir, file };
}

const load = (file: string): OrgConfig => loadOrgConfig(file, env, { checkoutDir: join(file, "..") });
const waiting = (config: OrgConfig) => config.unconfirmed.map((setting) => setting.setting);

describe("what a cloned config may not do until the person confirms it", () => {
  test("a persona's server elsewhere and a key paired with it: the persona talks to OLLAMA_BASE, and no key goes anywhere", () => {
    const { file } = workspaceWith({
      personas: [{ name: "agent", kind: "agent", baseUrl: "http://their-server.test:8080", apiKeyEnv: "GITHUB_TOKEN" }],
      servers: { "http://their-server.test:8080": { apiKeyEnv: "GITHUB_TOKEN", concurrency: 2 } },
    });
    const config = load(file);
    expect(config.personas[0]?.server).toBe("http://127.0.0.1:9");
    expect(config.authorizations).toEqual({});
    expect(config.secrets).not.toContain(env.GITHUB_TOKEN);
    expect(waiting(config)).toEqual(["personas[agent].baseUrl", "personas[agent].apiKeyEnv", 'servers["http://their-server.test:8080"].apiKeyEnv']);
    // A setting that sends nothing out (the server's concurrency) is as written.
    expect(config.servers["http://their-server.test:8080"]?.concurrency).toBe(2);
    confirmConfig(file, env, { checkoutDir: join(file, "..") });
    const confirmed = load(file);
    expect(confirmed.personas[0]?.server).toBe("http://their-server.test:8080");
    expect(confirmed.authorizations).toEqual({ "http://their-server.test:8080": `Bearer ${env.GITHUB_TOKEN}` });
    expect(confirmed.unconfirmed).toEqual([]);
  });

  test("a key from the environment paired with OLLAMA_BASE's own server waits too; a persona on that server does not", () => {
    const { file } = workspaceWith({ personas: [{ name: "agent", kind: "agent", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "GITHUB_TOKEN" }] });
    const config = load(file);
    expect(waiting(config)).toEqual(["personas[agent].apiKeyEnv"]);
    expect(config.authorizations).toEqual({});
  });

  test("every guard a file can lower is at its default until confirmed, and each says what it does", () => {
    const { file } = workspaceWith({
      personas: [{ name: "agent", kind: "agent", tools: { sh: "allow", web_fetch: "allow", workflow_run: "allow" } }],
      serve: { tools: { sh: "allow", web_fetch: "deny" } },
      sandbox: { workspace: "write", workspaceWrite: "allow", secretPaths: [] },
      network: { allowedHosts: ["evil.test"], defaultDeny: false },
      supervise: { webhook: "http://127.0.0.1:1/hook", autoFix: ["finish-interrupted", "rotate-logs"] },
      grow: { autoPromote: true, confirmSessions: 1 },
      observer: { promote: "auto" },
      share: { autoPromote: true, pullEvery: "30m" },
      backup: { dir: "/tmp/shared-backups" },
      mcpServers: { files: { command: "node", args: ["server.mjs"], policy: "allow", tools: { write_file: "allow", read_file: "ask" } } },
    });
    const config = load(file);
    expect(waiting(config)).toEqual([
      "personas[agent].tools.web_fetch",
      "personas[agent].tools.workflow_run",
      "serve.tools.sh",
      "mcpServers.files.policy",
      'mcpServers.files.tools["write_file"]',
      "sandbox.workspace",
      "sandbox.workspaceWrite",
      "sandbox.secretPaths",
      "network.allowedHosts",
      "network.defaultDeny",
      "supervise.webhook",
      "backup.dir",
      "supervise.autoFix",
      "grow.autoPromote",
      "observer.promote",
      "share.autoPromote",
      "share.pullEvery",
      "grow.confirmSessions",
    ]);
    for (const setting of config.unconfirmed) expect(setting.why.length).toBeGreaterThan(20);
    expect(config.personas[0]?.tools).toMatchObject({ sh: "allow", web_fetch: "ask", workflow_run: "ask" });
    expect(config.serve.tools).toEqual({ sh: "ask", web_fetch: "deny" });
    expect(config.mcpServers[0]).toMatchObject({ policy: "ask", tools: { write_file: "ask", read_file: "ask" } });
    expect(config.sandbox).toMatchObject({ workspace: "read", workspaceWrite: "ask", secretPaths: [...DEFAULT_SECRET_PATHS] });
    expect(config.network).toMatchObject({ allowedHosts: [], defaultDeny: true });
    expect(config.supervise.webhook).toBeUndefined();
    expect(config.supervise.autoFix).toEqual(["rotate-logs"]);
    expect(config.grow).toMatchObject({ autoPromote: false, confirmSessions: 2 });
    expect(config.share.autoPromote).toBe(false);
    expect(config.share.pullEvery).toBeUndefined();
    expect(config.backup.dir).toBeUndefined();
    expect(config.observer.promote).toBe("suggest");
    expect(describeUnconfirmed(config)).toContain("18 settings");
    expect(describeUnconfirmed(config)).toContain("'org config trust'");
  });

  test("web_request's hosts, the bot's server, its transcriber and its chats wait; Telegram's own server and the supervisor's switch do not", () => {
    const { file } = workspaceWith({
      web: { requestHosts: ["api.their-tracker.test"] },
      telegram: {
        apiBase: "http://their-bot-api.test:8081",
        allowedChats: [1234, "-100777"],
        transcribe: { url: "http://their-whisper.test:9000" },
      },
      supervise: { telegram: true },
    });
    const config = load(file);
    expect(waiting(config)).toEqual(["web.requestHosts", "telegram.apiBase", "telegram.transcribe", "telegram.allowedChats"]);
    expect(config.web.requestHosts).toEqual([]);
    expect(config.telegram).toMatchObject({ apiBase: "https://api.telegram.org", allowedChats: [] });
    expect(config.telegram.transcribe).toBeUndefined();
    expect(config.supervise.telegram).toBe(true);
    confirmConfig(file, env, { checkoutDir: join(file, "..") });
    const confirmed = load(file);
    expect(confirmed.web.requestHosts).toEqual(["api.their-tracker.test"]);
    expect(confirmed.telegram).toMatchObject({
      apiBase: "http://their-bot-api.test:8081",
      allowedChats: ["1234", "-100777"],
      transcribe: { url: "http://their-whisper.test:9000", model: "whisper-1" },
    });
    const own = workspaceWith({ telegram: { apiBase: "https://api.telegram.org/" } });
    expect(load(own.file).unconfirmed).toEqual([]);
  });

  test("a setting that only adds protection needs nothing: the read or no view, more secret and protected paths, deny, fewer fixes", () => {
    const { file } = workspaceWith({
      personas: [{ name: "agent", kind: "agent", tools: { sh: "deny", web_fetch: "ask" } }],
      sandbox: { workspace: "none", workspaceWrite: "deny", secretPaths: [...DEFAULT_SECRET_PATHS, "secrets/**"], protectedPaths: ["src/**"] },
      network: { defaultDeny: true },
      supervise: { autoFix: ["rotate-logs"] },
      grow: { confirmSessions: 5 },
      observer: { promote: "off" },
      serve: { tools: { sh: "deny" }, generatedTools: "ask" },
    });
    const config = load(file);
    expect(config.unconfirmed).toEqual([]);
    expect(config.sandbox).toMatchObject({ workspace: "none", secretPaths: [...DEFAULT_SECRET_PATHS, "secrets/**"], protectedPaths: ["src/**"] });
    expect(describeUnconfirmed(config)).toBeUndefined();
  });

  test("bars and bounds set laxer than their defaults wait (issue 74, item 5c); set stricter, they need nothing", () => {
    const lax = {
      toolsmith: { coverage: 0.1, mutationScore: 0, mutants: 12 },
      grow: { maxFailureRate: 0.9 },
      network: { perMinute: 5000 },
      web: { perMinute: 10_000 },
    };
    const { file } = workspaceWith(lax);
    // What `org config status` lists: each laxer bar, its value and what it lets through, waiting.
    const status = configTrust(file, env, { checkoutDir: join(file, "..") });
    expect(status.settings.map(({ setting, shown, confirmed }) => ({ setting, shown, confirmed }))).toEqual([
      { setting: "toolsmith.coverage", shown: "10%", confirmed: false },
      { setting: "toolsmith.mutationScore", shown: "0%", confirmed: false },
      { setting: "grow.maxFailureRate", shown: "90%", confirmed: false },
      { setting: "network.perMinute", shown: "5000", confirmed: false },
      { setting: "web.perMinute", shown: "10000", confirmed: false },
    ]);
    expect(status.settings[0]?.why).toContain("org's default is 80%; until you confirm it, 80%");
    expect(status.settings[2]?.why).toContain("a promoted tool stays while up to 90% of its calls fail");
    // Until confirmed, org runs with the defaults (a bar set stricter beside them, `mutants`, is as written).
    const before = load(file);
    expect(before.toolsmith).toMatchObject({ coverage: 0.8, mutationScore: 0.6, mutants: 12 });
    expect(before.grow.maxFailureRate).toBe(0.25);
    expect(before.network.perMinute).toBe(30);
    expect(before.web.perMinute).toBe(10);
    expect(describeUnconfirmed(before)).toContain("5 settings");
    // `org config trust`: the file's values, and status says each is confirmed.
    confirmConfig(file, env, { checkoutDir: join(file, "..") });
    const after = load(file);
    expect(after.toolsmith).toMatchObject({ coverage: 0.1, mutationScore: 0, mutants: 12 });
    expect(after.grow.maxFailureRate).toBe(0.9);
    expect(after.network.perMinute).toBe(5000);
    expect(after.web.perMinute).toBe(10_000);
    expect(after.unconfirmed).toEqual([]);
    expect(configTrust(file, env, { checkoutDir: join(file, "..") }).settings.every((setting) => setting.confirmed)).toBe(true);
    // Lowered further after the confirmation: waits again, at the default.
    writeFileSync(file, JSON.stringify({ ...lax, grow: { maxFailureRate: 1 } }));
    expect(waiting(load(file))).toEqual(["grow.maxFailureRate"]);
    expect(load(file).grow.maxFailureRate).toBe(0.25);

    // Stricter than the defaults, or at them: nothing waits, and org runs with them as written.
    const strict = workspaceWith({
      toolsmith: { coverage: 0.95, mutationScore: 0.6 },
      grow: { maxFailureRate: 0.1 },
      network: { perMinute: 30 },
      web: { perMinute: 2 },
    });
    expect(configTrust(strict.file, env, { checkoutDir: join(strict.file, "..") }).settings).toEqual([]);
    const config = load(strict.file);
    expect(config.unconfirmed).toEqual([]);
    expect(config.toolsmith).toMatchObject({ coverage: 0.95, mutationScore: 0.6 });
    expect([config.grow.maxFailureRate, config.network.perMinute, config.web.perMinute]).toEqual([0.1, 30, 2]);
  });

  test("sandbox.egress that lets anything out waits (no network until then); one that lets nothing out does not", () => {
    const { file } = workspaceWith({ sandbox: { egress: { presets: ["npm"], allow: ["*.example.com"], unlisted: "ask" } } });
    const config = load(file);
    expect(waiting(config)).toEqual(["sandbox.egress"]);
    expect(config.unconfirmed[0]?.shown).toBe(
      'allow "*.example.com"; preset npm (registry.npmjs.org, registry.yarnpkg.com); a host on neither list: ask',
    );
    expect(config.sandbox.egress).toBeUndefined();
    confirmConfig(file, env, { checkoutDir: join(file, "..") });
    expect(load(file).sandbox.egress).toMatchObject({ allow: ["*.example.com"], presets: ["npm"], ports: [443, 80], unlisted: "ask" });
    const closed = workspaceWith({ sandbox: { egress: { deny: ["evil.test"] } } });
    expect(load(closed.file).unconfirmed).toEqual([]);
    expect(load(closed.file).sandbox.egress).toMatchObject({ allow: [], deny: ["evil.test"], unlisted: "deny" });
  });

  test("a narrowed secretPaths keeps the defaults covered, with what it adds", () => {
    const { file } = workspaceWith({ sandbox: { secretPaths: [".env", "vault/*"] } });
    expect(load(file).sandbox.secretPaths).toEqual([...DEFAULT_SECRET_PATHS, ".env", "vault/*"]);
  });
});

describe("a confirmation is bound to the value and the workspace, and kept in the person's own org folder", () => {
  test("a changed value waits again; the others stay confirmed", () => {
    const { dir, file } = workspaceWith({ sandbox: { workspace: "write" }, network: { allowedHosts: ["a.test"] } });
    confirmConfig(file, env, { checkoutDir: dir });
    expect(load(file).unconfirmed).toEqual([]);
    writeFileSync(file, JSON.stringify({ sandbox: { workspace: "write" }, network: { allowedHosts: ["a.test", "evil.test"] } }));
    const config = load(file);
    expect(waiting(config)).toEqual(["network.allowedHosts"]);
    expect(config.sandbox.workspace).toBe("write");
    expect(config.network.allowedHosts).toEqual([]);
  });

  test("the same file at another path, .org/ and all, waits: a confirmation is for the workspace's real path", () => {
    const { dir, file } = workspaceWith({ sandbox: { workspace: "write" } });
    mkdirSync(join(dir, ".org"), { mode: 0o700 });
    confirmConfig(file, env, { checkoutDir: dir });
    const copy = mkdtempSync(join(tmpdir(), "org-config-trust-copy-"));
    dirs.push(copy);
    cpSync(dir, copy, { recursive: true });
    expect(waiting(load(join(copy, "org.config.json")))).toEqual(["sandbox.workspace"]);
    // Nothing of it was written into the workspace: its .org/ is as it was.
    expect(readdirSync(join(dir, ".org"))).toEqual([]);
  });

  test("confirmations live in the user's org folder (0700, files 0600) and status says which are confirmed", () => {
    const { dir, file } = workspaceWith({ grow: { autoPromote: true } });
    expect(configTrust(file, env, { checkoutDir: dir }).settings.map((setting) => [setting.setting, setting.confirmed])).toEqual([
      ["grow.autoPromote", false],
    ]);
    expect(confirmConfig(file, env, { checkoutDir: dir }).map((setting) => setting.setting)).toEqual(["grow.autoPromote"]);
    expect(confirmConfig(file, env, { checkoutDir: dir })).toEqual([]);
    expect(configTrust(file, env, { checkoutDir: dir }).settings.map((setting) => setting.confirmed)).toEqual([true]);
    const home = userOrgDir() ?? "";
    expect((statSync(home).mode & 0o777).toString(8)).toBe("700");
    for (const name of readdirSync(join(home, "trust"))) expect((statSync(join(home, "trust", name)).mode & 0o777).toString(8)).toBe("600");
    // Another user's folder (another ORG_HOME) holds none of them.
    const other = mkdtempSync(join(tmpdir(), "org-other-home-"));
    dirs.push(other);
    expect(loadOrgConfig(file, env, { checkoutDir: dir, orgHome: other }).grow.autoPromote).toBe(false);
    expect(loadOrgConfig(file, env, { checkoutDir: dir, orgHome: undefined }).grow.autoPromote).toBe(false);
  });
});
