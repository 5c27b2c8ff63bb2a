import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { authorizationFor } from "../llm/server-keys.ts";
import { loadOrgConfig as loadFrom, serverConcurrency } from "./org-config.ts";
import { OrgConfigError } from "./org-config-error.ts";
import { BUILTIN_TOOL_NAMES } from "./tool-names.ts";
import { confirmConfig } from "./config-trust.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { workflowRun } from "../workflows/workflow-run-tool.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";

const env = { OLLAMA_BASE: "http://127.0.0.1:9/", OLLAMA_MODEL: "tiny:1b" };

// The checkout whose promoted tools a config may name is the config's own temp folder unless a test names one: what
// org's checkout has promoted changes no result here, and is never read (so the gate does not count this file a
// reader of a candidate's tools).
const loadOrgConfig = (path: string, variables: NodeJS.ProcessEnv, options: Parameters<typeof loadFrom>[2] = {}) =>
  loadFrom(path, variables, { checkoutDir: dirname(path), ...options });

/**
 * Runs `check` on a config file holding `text`, confirmed as written when it reads (as 'org init' confirms its own):
 * these tests are of what the settings do; what waits for 'org config trust' is config-trust.test.ts's.
 */
function withConfig(text: string | undefined, check: (path: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "org-config-"));
  const path = join(dir, "org.config.json");
  if (text !== undefined) writeFileSync(path, text);
  try {
    if (text !== undefined) confirmConfig(path, env, { checkoutDir: dir });
  } catch (error) {
    // One that does not read is what the test is about; loadOrgConfig says why.
    if (!(error instanceof OrgConfigError)) throw error;
  }
  try {
    check(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function configError(text: string): OrgConfigError {
  let caught: unknown;
  withConfig(text, (path) => {
    try {
      loadOrgConfig(path, env);
    } catch (error) {
      caught = error;
    }
  });
  expect(caught).toBeInstanceOf(OrgConfigError);
  return caught as OrgConfigError;
}

describe("loadOrgConfig", () => {
  test("without a file: agent, python and toolsmith on OLLAMA_BASE and OLLAMA_MODEL", () => {
    withConfig(undefined, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.personas.map((persona) => [persona.name, persona.kind, persona.model, persona.server])).toEqual([
        ["agent", "agent", "tiny:1b", "http://127.0.0.1:9"],
        ["python", "python", "tiny:1b", "http://127.0.0.1:9"],
        ["toolsmith", "toolsmith", "tiny:1b", "http://127.0.0.1:9"],
      ]);
      expect(config.personas[0]?.tools).toEqual({
        sh: "allow",
        chat_mode: "allow",
        workflow_run: "ask",
        plan_workflow: "ask",
        memory_search: "allow",
        memory_save: "allow",
        send_file: "ask",
        browser: "ask",
      });
      expect(config.personas[1]?.tools).toEqual({ python_run: "allow" });
      expect(config.source).toBeUndefined();
      expect(serverConcurrency(config, "http://127.0.0.1:9")).toBe(1);
    });
  });

  test("a file's personas, tool policies, servers and limits override the defaults", () => {
    const text = JSON.stringify({
      personas: [{ name: "ada", kind: "agent", model: "big:70b", tools: { sh: "ask", python_run: "allow" } }],
      servers: { "http://10.0.0.2:11434/": { concurrency: 4 } },
      limits: { hopsPerMessage: 1 },
    });
    withConfig(text, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.personas).toHaveLength(1);
      expect(config.personas[0]?.tools).toEqual({
        sh: "ask",
        chat_mode: "allow",
        workflow_run: "ask",
        plan_workflow: "ask",
        memory_search: "allow",
        memory_save: "allow",
        send_file: "ask",
        browser: "ask",
        python_run: "allow",
      });
      expect(config.personas[0]?.model).toBe("big:70b");
      expect(config.limits.hopsPerMessage).toBe(1);
      expect(config.limits.toolRoundsPerTurn).toBe(8);
      expect(serverConcurrency(config, "http://10.0.0.2:11434")).toBe(4);
      expect(config.source).toBe(path);
    });
  });

  test("a wrong value names its line, key and what to use instead", () => {
    const error = configError('{\n  "personas": [\n    { "name": "ada",\n      "kind": "wizard" }\n  ]\n}\n');
    expect(error.line).toBe(4);
    expect(error.key).toBe("personas[0].kind");
    expect(error.message).toContain("line 4, key personas[0].kind");
    expect(error.message).toContain('use one of "agent", "python", "toolsmith", "simple"');
  });

  test("an unknown key is named with its line", () => {
    const error = configError('{\n  "limits": {\n    "hops": 2\n  }\n}');
    expect(error.line).toBe(3);
    expect(error.key).toBe("limits.hops");
    expect(error.message).toContain('remove "hops" or check the spelling (known keys: sessionTokens, toolRoundsPerTurn, hopsPerMessage');
  });

  test("the workspace's config cannot turn the sandbox off: no key sets ORG_SANDBOX or any environment", () => {
    for (const text of [
      '{"env": {"ORG_SANDBOX": "off"}}',
      '{"sandbox": "off"}',
      '{"serve": {"sandbox": false}}',
      '{"personas": [{"name": "a", "kind": "agent", "env": {"ORG_SANDBOX": "off"}}]}',
    ]) {
      expect(configError(text)).toBeInstanceOf(OrgConfigError);
    }
  });

  test("a tool policy other than allow/ask/deny is refused", () => {
    const error = configError('{"personas": [{"name": "a", "kind": "agent",\n "tools": {"sh": "yes"}}]}');
    expect(error.line).toBe(2);
    expect(error.message).toContain('"allow", "ask", "deny"');
  });

  test("broken JSON says where and what", () => {
    const error = configError('{\n  "mode": "group",\n}\n');
    expect(error.line).toBe(3);
    expect(error.message).toContain("trailing comma");
  });

  test("a tool org does not have is refused with its line and the tools it does have", () => {
    const error = configError('{"personas": [{"name": "a", "kind": "agent",\n "tools": {"shell": "allow"}}]}');
    expect(error.line).toBe(2);
    expect(error.key).toBe("personas[0].tools.shell");
    expect(error.message).toContain('org has no tool "shell" — use one of "sh", "python_run", "chat_mode"');
  });

  test("a generated tool promoted into tools/generated/<name>/ of the workspace may be named; others are listed in the refusal", () => {
    const workspace = mkdtempSync(join(tmpdir(), "org-config-tools-"));
    try {
      const generated = join(workspace, "tools", "generated");
      mkdirSync(join(generated, "word_count"), { recursive: true });
      writeFileSync(join(generated, "word_count", "metadata.json"), "{}");
      // Not tools: a folder whose name no tool may have, a plain file, a symlink to a folder.
      mkdirSync(join(generated, "Bad-Name"));
      writeFileSync(join(generated, "loose_file"), "");
      symlinkSync(join(generated, "word_count"), join(generated, "linked_tool"));
      const configFile = join(workspace, "org.config.json");
      const personas = (tools: Record<string, string>) => JSON.stringify({ personas: [{ name: "ada", kind: "agent", tools }] });

      writeFileSync(configFile, personas({ word_count: "ask", sh: "deny" }));
      // The checkout is a folder of the test's own, so the tools org's checkout has promoted change nothing here.
      const checkoutDir = join(workspace, "checkout");
      expect(loadOrgConfig(configFile, env, { checkoutDir }).personas[0]?.tools).toEqual({
        sh: "deny",
        chat_mode: "allow",
        workflow_run: "ask",
        plan_workflow: "ask",
        memory_search: "allow",
        memory_save: "allow",
        send_file: "ask",
        browser: "ask",
        word_count: "ask",
      });
      // The workspace may be named apart from the config file's own directory.
      const elsewhere = join(workspace, "elsewhere.json");
      writeFileSync(elsewhere, personas({ word_count: "allow" }));
      // "allow" waits for 'org config trust', which binds it to the workspace named.
      expect(loadOrgConfig(elsewhere, env, { workspaceDir: workspace, checkoutDir }).personas[0]?.tools.word_count).toBe("ask");
      confirmConfig(elsewhere, env, { workspaceDir: workspace, checkoutDir });
      expect(loadOrgConfig(elsewhere, env, { workspaceDir: workspace, checkoutDir }).personas[0]?.tools.word_count).toBe("allow");

      for (const name of ["Bad-Name", "loose_file", "linked_tool", "wordcount"]) {
        writeFileSync(configFile, personas({ [name]: "allow" }));
        let caught: unknown;
        try {
          loadOrgConfig(configFile, env, { checkoutDir });
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(OrgConfigError);
        expect((caught as Error).message).toContain(
          `org has no tool "${name}" — use one of "sh", "python_run", "chat_mode", "workflow_run", "plan_workflow", "memory_search", "memory_save", "web_fetch", "web_request", "send_file", "browser", "workspace_write", "word_count" (the built-in tools, and generated tools promoted into tools/generated/`,
        );
      }
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  test("BUILTIN_TOOL_NAMES are the tools the room is given, plus chat_mode", () => {
    // memory_search and memory_save are made per workspace (memory/memory-*-tool.ts), plan_workflow per config, send_file
    // where a Telegram chat follows the sessions, so they are named here.
    expect<string[]>([...BUILTIN_TOOL_NAMES]).toEqual([
      sh.name,
      pythonRun.name,
      "chat_mode",
      workflowRun.name,
      "plan_workflow",
      "memory_search",
      "memory_save",
      "web_fetch",
      "web_request",
      "send_file",
      "browser",
    ]);
  });

  test("the advice reads well: an object, a name pattern's own words", () => {
    expect(configError("[]").message).toContain("give an object");
    const name = configError('{"personas": [{"name": "Ada Lovelace", "kind": "agent"}]}');
    expect(name.message).toContain("a persona name is 1–32 lowercase letters, digits, '-' or '_', starting with a letter — change it to fit.");
  });

  test("two personas with one name are refused", () => {
    const error = configError('{"personas": [\n{"name": "a", "kind": "agent"},\n{"name": "a", "kind": "python"}]}');
    expect(error.line).toBe(3);
    expect(error.message).toContain("used twice");
  });
});

describe("credentials and limits in the config", () => {
  test("the toolsmith section sets thresholds and rounds; a key left out keeps its default; a bad one names its key", () => {
    withConfig(undefined, (path) => {
      expect(loadOrgConfig(path, env).toolsmith).toEqual(ToolsmithSettings.parse({}));
      expect(loadOrgConfig(path, env).toolsmith).toMatchObject({
        coverage: 0.8,
        mutationScore: 0.6,
        mutants: 10,
        implementationRepairs: 3,
        testRepairs: 1,
      });
    });
    withConfig(
      JSON.stringify({ toolsmith: { coverage: 0.95, mutationScore: 0.7, mutants: 12, implementationRepairs: 1, testRepairs: 0 } }),
      (path) => {
        expect(loadOrgConfig(path, env).toolsmith).toEqual({
          ...ToolsmithSettings.parse({}),
          coverage: 0.95,
          mutationScore: 0.7,
          mutants: 12,
          implementationRepairs: 1,
          testRepairs: 0,
        });
      },
    );
    const tooHigh = configError('{\n  "toolsmith": {\n    "coverage": 1.5\n  }\n}');
    expect(tooHigh).toMatchObject({ line: 3, key: "toolsmith.coverage" });
    const misspelt = configError(JSON.stringify({ toolsmith: { coverge: 0.9 } }));
    expect(misspelt.message).toContain('remove "coverge"');
    expect(misspelt.message).toContain("known keys: coverage, mutationScore, mutants");
  });

  test("OPENAI_API_KEY belongs to OLLAMA_BASE's origin only; apiKeyEnv gives a server its own; URL credentials are split off", () => {
    const text = JSON.stringify({
      personas: [
        { name: "near", kind: "simple" },
        { name: "far", kind: "simple", baseUrl: "http://10.0.0.7:11434" },
        { name: "proxy", kind: "simple", baseUrl: "https://bob:s3cret-pass@models.example:8443/v1" },
      ],
      servers: { "http://10.0.0.7:11434": { apiKeyEnv: "FAR_KEY", concurrency: 2 } },
      limits: { toolCallsPerReply: 5, toolSecondsPerTurn: 90 },
    });
    withConfig(text, (path) => {
      const config = loadOrgConfig(path, { ...env, OPENAI_API_KEY: "near-key-123", FAR_KEY: "far-key-456" });
      expect(authorizationFor(config.authorizations, "http://127.0.0.1:9")).toBe("Bearer near-key-123");
      expect(authorizationFor(config.authorizations, "http://10.0.0.7:11434/v1")).toBe("Bearer far-key-456");
      expect(authorizationFor(config.authorizations, "https://models.example:8443/v1")).toBe(
        `Basic ${Buffer.from("bob:s3cret-pass").toString("base64")}`,
      );
      expect(authorizationFor(config.authorizations, "http://elsewhere:11434")).toBeUndefined();
      expect(config.personas.map((persona) => persona.server)).toEqual([
        "http://127.0.0.1:9",
        "http://10.0.0.7:11434",
        "https://models.example:8443/v1",
      ]);
      expect(config.secrets).toEqual(expect.arrayContaining(["near-key-123", "far-key-456", "s3cret-pass"]));
      expect(serverConcurrency(config, "http://10.0.0.7:11434")).toBe(2);
      expect(config.limits).toMatchObject({ toolCallsPerReply: 5, toolSecondsPerTurn: 90 });
    });
  });

  test("an apiKeyEnv naming an unset variable is an error that says which and what to do", () => {
    const error = configError(JSON.stringify({ servers: { "http://10.0.0.7:11434": { apiKeyEnv: "NOT_SET_ANYWHERE" } } }));
    expect(error.message).toContain("NOT_SET_ANYWHERE is not set");
    expect(error.message).toContain("remove apiKeyEnv");
    const persona = configError(
      JSON.stringify({ personas: [{ name: "far", kind: "simple", baseUrl: "http://10.0.0.7:11434", apiKeyEnv: "NOT_SET_ANYWHERE" }] }),
    );
    expect(persona).toMatchObject({ key: "personas[0].apiKeyEnv" });
    expect(persona.message).toContain("NOT_SET_ANYWHERE is not set");
  });

  test("a persona's apiKeyEnv is its server's key: every persona there gets it, OLLAMA_BASE's over OPENAI_API_KEY; two keys for one server are refused", () => {
    const text = JSON.stringify({
      personas: [
        { name: "near", kind: "simple", apiKeyEnv: "NEAR_KEY" },
        { name: "far", kind: "simple", baseUrl: "http://10.0.0.7:11434", apiKeyEnv: "FAR_KEY" },
        { name: "far2", kind: "simple", baseUrl: "http://10.0.0.7:11434/v1" },
        { name: "other", kind: "simple", baseUrl: "http://10.0.0.9:11434" },
      ],
    });
    withConfig(text, (path) => {
      const config = loadOrgConfig(path, { ...env, OPENAI_API_KEY: "openai-key-1", NEAR_KEY: "near-key-2", FAR_KEY: "far-key-3" });
      const keyOf = (name: string) => authorizationFor(config.authorizations, config.personas.find((persona) => persona.name === name)?.server ?? "");
      expect([keyOf("near"), keyOf("far"), keyOf("far2"), keyOf("other")]).toEqual([
        "Bearer near-key-2",
        "Bearer far-key-3",
        "Bearer far-key-3",
        undefined,
      ]);
      expect(config.secrets).toEqual(expect.arrayContaining(["openai-key-1", "near-key-2", "far-key-3"]));
      // The resolved persona carries no key field: the key lives in `authorizations` alone.
      expect(Object.keys(config.personas[1] ?? {})).not.toContain("apiKeyEnv");
    });
    const two = JSON.stringify({
      personas: [{ name: "far", kind: "simple", baseUrl: "http://10.0.0.7:11434", apiKeyEnv: "FAR_KEY" }],
      servers: { "http://10.0.0.7:11434/v1": { apiKeyEnv: "OTHER_KEY" } },
    });
    withConfig(two, (path) => {
      const error = (() => {
        try {
          loadOrgConfig(path, { ...env, FAR_KEY: "far-key-3", OTHER_KEY: "other-key-4" });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(OrgConfigError);
      expect(error).toMatchObject({ key: "personas[0].apiKeyEnv" });
      expect(String(error)).toContain("FAR_KEY and OTHER_KEY");
      expect(String(error)).not.toContain("far-key-3");
      // The same variable named twice is one key.
      expect(loadOrgConfig(path, { ...env, FAR_KEY: "same-key", OTHER_KEY: "same-key" }).authorizations).toMatchObject({
        "http://10.0.0.7:11434": "Bearer same-key",
      });
    });
  });

  test("a model named in the file says so, for the 404 hint", () => {
    withConfig(
      JSON.stringify({
        personas: [
          { name: "a", kind: "simple", model: "x:1b" },
          { name: "b", kind: "simple" },
        ],
      }),
      (path) => {
        const config = loadOrgConfig(path, env);
        expect(config.personas.map((persona) => persona.modelSource)).toEqual([`${path} (personas[0].model)`, "OLLAMA_MODEL"]);
      },
    );
  });
});

describe("network (web_fetch)", () => {
  test("defaults: no host allowed, default-deny, 10 s, 1 MiB (10 MiB saved), 30 a minute; web_fetch is no persona's tool", () => {
    withConfig(undefined, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.network).toEqual({
        allowedHosts: [],
        defaultDeny: true,
        timeoutS: 10,
        maxBytes: 1024 * 1024,
        saveMaxBytes: 10 * 1024 * 1024,
        perMinute: 30,
      });
      for (const persona of config.personas) expect(persona.tools.web_fetch).toBeUndefined();
    });
  });

  test("a persona may turn web_fetch on; hosts are taken in lowercase", () => {
    const text = JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { web_fetch: "allow" } }],
      network: { allowedHosts: ["*.Example.com", "*"], defaultDeny: false },
    });
    withConfig(text, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.personas[0]?.tools.web_fetch).toBe("allow");
      expect(config.network.allowedHosts).toEqual(["*.example.com", "*"]);
      expect(config.network.defaultDeny).toBe(false);
    });
  });

  test("ORG_PROFILE=prod turns web_fetch to default-deny whatever the file says", () => {
    withConfig(JSON.stringify({ network: { defaultDeny: false } }), (path) => {
      expect(loadOrgConfig(path, { ...env, ORG_PROFILE: "prod" }).network.defaultDeny).toBe(true);
      expect(loadOrgConfig(path, { ...env, ORG_PROFILE: "dev" }).network.defaultDeny).toBe(false);
    });
  });

  test("a host pattern that is not one names the key", () => {
    const error = configError(JSON.stringify({ network: { allowedHosts: ["http://example.com/"] } }));
    expect(error.key).toBe("network.allowedHosts[0]");
  });
});

describe("web (web_request) and telegram", () => {
  test("defaults: no request host, 10 a minute, 64 KiB out, 1 MiB in; Telegram's own API, no chat; supervise.telegram off", () => {
    withConfig(undefined, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.web).toEqual({ requestHosts: [], perMinute: 10, timeoutS: 20, maxRequestBytes: 64 * 1024, maxResponseBytes: 1024 * 1024 });
      expect(config.telegram).toEqual({
        apiBase: "https://api.telegram.org",
        allowedChats: [],
        pollTimeoutS: 25,
        maxFileBytes: 20 * 1024 * 1024,
      });
      expect(config.supervise.telegram).toBe(false);
      for (const persona of config.personas) expect(persona.tools.web_request).toBeUndefined();
    });
  });

  test("request hosts in lowercase; chat ids as numbers or strings, kept as strings", () => {
    const text = JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { web_request: "allow" } }],
      web: { requestHosts: ["API.GitHub.com"] },
      telegram: { allowedChats: [123456789, "-1001234567890"] },
      supervise: { telegram: true },
    });
    withConfig(text, (path) => {
      const config = loadOrgConfig(path, env);
      expect(config.web.requestHosts).toEqual(["api.github.com"]);
      expect(config.telegram.allowedChats).toEqual(["123456789", "-1001234567890"]);
      expect(config.supervise.telegram).toBe(true);
    });
  });

  test("a chat id that is not one, and an unknown key, name the key", () => {
    expect(configError(JSON.stringify({ telegram: { allowedChats: ["@mychannel"] } })).key).toBe("telegram.allowedChats[0]");
    expect(configError(JSON.stringify({ web: { requestHost: ["x.com"] } })).message).toContain("known keys: requestHosts");
  });
});
