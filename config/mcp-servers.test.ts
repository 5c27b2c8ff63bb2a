import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandReferences, isMcpRoomToolName, literalSecretProblem, mcpServerEnvironment, mcpServerHeaders } from "./mcp-servers.ts";
import { namesSecret } from "./secret-names.ts";
import { loadOrgConfig } from "./org-config.ts";
import { OrgConfigError } from "./org-config-error.ts";
import { parseOrgConfigText } from "./parse-org-config-text.ts";

/** The message a config text is refused with (and its line), or undefined when it parses. */
function refusal(text: string): { message: string; line: number | undefined } | undefined {
  try {
    parseOrgConfigText(text, "org.config.json");
    return undefined;
  } catch (error) {
    if (!(error instanceof OrgConfigError)) throw error;
    return { message: error.message, line: error.line };
  }
}

describe("mcpServers in org.config.json", () => {
  test("the Claude Desktop shape parses: command, args, env for stdio; url, headers for Streamable HTTP; org's own keys beside", () => {
    const file = parseOrgConfigText(
      JSON.stringify({
        mcpServers: {
          filesystem: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp/x"], env: { LOG_LEVEL: "debug" } },
          github: {
            url: "https://api.githubcopilot.com/mcp/",
            headers: { Authorization: "Bearer ${GITHUB_TOKEN}" },
            policy: "allow",
            tools: { delete_repo: "deny" },
          },
          boxed: { type: "stdio", command: "node", args: ["server.js"], sandbox: true, network: ["api.example.com"], readOnlyPaths: ["/opt/server"] },
        },
        mcp: { callTimeoutS: 20 },
      }),
    );
    expect(Object.keys(file.mcpServers ?? {})).toEqual(["filesystem", "github", "boxed"]);
  });

  test("a literal secret is refused with its line, its key and the fix", () => {
    const text = `{
  "mcpServers": {
    "github": {
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": { "Authorization": "Bearer ghp_0123456789abcdefghij0123456789" }
    }
  }
}`;
    const refused = refusal(text);
    expect(refused?.line).toBe(5);
    expect(refused?.message).toContain("org.config.json line 5, key mcpServers.github.headers.Authorization: holds what looks like a token");
    expect(refused?.message).toContain('write "Bearer ${GITHUB_TOKEN}" and export GITHUB_TOKEN in the shell that starts org');
    // Named like a credential: only references, after a scheme word.
    expect(refusal(JSON.stringify({ mcpServers: { db: { command: "x", env: { PGPASSWORD: "hunter2" } } } }))?.message).toContain(
      'key mcpServers.db.env.PGPASSWORD: is a literal secret in the file, which is refused — write "${PGPASSWORD}"',
    );
    expect(refusal(JSON.stringify({ mcpServers: { api: { url: "https://x.test/mcp", headers: { "X-API-Key": "abc" } } } }))?.message).toContain(
      "headers.X-API-Key: is a literal secret",
    );
    // A default written into the file is a literal too.
    expect(
      refusal(JSON.stringify({ mcpServers: { api: { url: "https://x.test/mcp", headers: { Authorization: "Bearer ${T:-abc}" } } } }))?.message,
    ).toContain("gives a credential a default written into the file");
    // Credentials in the URL are refused; headers carry them.
    expect(refusal(JSON.stringify({ mcpServers: { api: { url: "https://me:pw@x.test/mcp" } } }))?.message).toContain(
      "carries credentials in the URL",
    );
  });

  test("what is not a secret passes: references, scheme words, plain settings, names that only look alike", () => {
    expect(literalSecretProblem("header", "Authorization", "Bearer ${TOKEN}", "s")).toBeUndefined();
    expect(literalSecretProblem("header", "Authorization", "${SCHEME} ${TOKEN}", "s")).toBeUndefined();
    expect(literalSecretProblem("header", "Accept", "application/json", "s")).toBeUndefined();
    expect(literalSecretProblem("env", "TOKENIZER_PATH", "/opt/tok", "s")).toBeUndefined();
    expect(literalSecretProblem("env", "AUTHOR_NAME", "Ada", "s")).toBeUndefined();
    expect(literalSecretProblem("env", "LOG_LEVEL", "sk-not-a-key", "s")).toBeUndefined();
    expect(literalSecretProblem("env", "NOTES", "sk-abcdefghijklmnopqrstuvwx", "s")).toContain("looks like a token");
    for (const name of [
      "GITHUB_PERSONAL_ACCESS_TOKEN",
      "PGPASSWORD",
      "X-Api-Key",
      "AWS_SECRET_ACCESS_KEY",
      "Cookie",
      "Proxy-Authorization",
      "API_KEY",
    ])
      expect(namesSecret(name)).toBe(true);
    for (const name of ["PATH", "HOME", "MONKEY_PATH", "AUTHOR", "LOG_LEVEL"]) expect(namesSecret(name)).toBe(false);
  });

  test("keys that do not fit together, bad names and bad references are refused, each naming its key", () => {
    expect(refusal('{ "mcpServers": { "a": { "command": "x", "url": "https://x.test" } } }')?.message).toContain('has both "command" and "url"');
    expect(refusal('{ "mcpServers": { "a": {} } }')?.message).toContain('key mcpServers.a: needs "command"');
    expect(refusal('{ "mcpServers": { "a__b": { "command": "x" } } }')?.message).toContain('"a__b" is not a server name org can use');
    // Server "a" with tool "_b" and server "a_" with tool "b" would both be a___b in the room: a name ends in a letter, digit or '-'.
    expect(refusal('{ "mcpServers": { "a": { "command": "x" }, "a_": { "command": "y" } } }')?.message).toContain(
      '"a_" is not a server name org can use',
    );
    expect(refusal('{ "mcpServers": { "a-b_c-": { "command": "x" } } }')).toBeUndefined();
    expect(refusal('{ "mcpServers": { "a": { "command": "x", "network": ["a.test"] } } }')?.message).toContain(
      '"network" applies only to a sandboxed server',
    );
    expect(refusal('{ "mcpServers": { "a": { "url": "https://x.test", "env": { "A": "b" } } } }')?.message).toContain(
      '"env" is for a server org starts',
    );
    expect(refusal('{ "mcpServers": { "a": { "command": "x", "env": { "A": "${1}" } } } }')?.message).toContain("is not a variable reference");
    expect(refusal('{ "mcpServers": { "a": { "command": "x", "cwd": "/" } } }')?.message).toContain("known keys: type, command, args, env");
    expect(refusal('{ "mcp": { "callTimeoutS": 0 } }')?.message).toContain("key mcp.callTimeoutS");
  });

  test("a persona's tools may name <server>__<tool> of a configured server, and no other", () => {
    const config = (tools: Record<string, string>) =>
      JSON.stringify({ personas: [{ name: "simple", kind: "simple", tools }], mcpServers: { fs: { command: "x" } } });
    expect(refusal(config({ fs__read_file: "allow" }))).toBeUndefined();
    expect(refusal(config({ gh__read_file: "allow" }))?.message).toContain('org has no tool "gh__read_file"');
    expect(refusal(config({ gh__read_file: "allow" }))?.message).toContain("or <server>__<tool> for a tool of fs (mcpServers)");
  });

  test("references are filled in from the environment at start; a missing one is named; credential values become secrets", () => {
    expect(expandReferences("Bearer ${T}", { T: "abc" })).toEqual({ ok: true, value: "Bearer abc" });
    expect(expandReferences("${A:-fallback}/${B}", { B: "b" })).toEqual({ ok: true, value: "fallback/b" });
    expect(expandReferences("${A}${B}", {})).toEqual({ ok: false, missing: ["A", "B"] });
    const dir = mkdtempSync(join(tmpdir(), "org-mcp-config-"));
    try {
      writeFileSync(
        join(dir, "org.config.json"),
        JSON.stringify({
          mcpServers: {
            gh: { url: "https://x.test/mcp", headers: { Authorization: "Bearer ${GH_TOKEN}", "X-Trace": "${TRACE}" } },
            local: { command: "srv", env: { API_KEY: "${LOCAL_KEY}", MODE: "${MODE:-fast}" } },
            boxed: { command: "srv", sandbox: true, env: { MODE: "slow" } },
          },
        }),
      );
      const env = {
        GH_TOKEN: "gh-secret-value",
        TRACE: "trace-id-1",
        LOCAL_KEY: "local-secret-value",
        PATH: "/usr/bin",
        HOME: "/home/me",
        OPENAI_API_KEY: "sk-x",
      };
      const config = loadOrgConfig(join(dir, "org.config.json"), env, { workspaceDir: dir, checkoutDir: dir });
      expect(config.secrets).toContain("gh-secret-value");
      expect(config.secrets).toContain("local-secret-value");
      expect(config.secrets).not.toContain("trace-id-1");
      const [gh, local, boxed] = config.mcpServers;
      expect(gh && mcpServerHeaders(gh, env)).toEqual({ ok: true, values: { Authorization: "Bearer gh-secret-value", "X-Trace": "trace-id-1" } });
      // As the user: a few of org's variables (never its API keys), then the entry's own.
      expect(local && mcpServerEnvironment(local, env)).toEqual({
        ok: true,
        values: { PATH: "/usr/bin", HOME: "/home/me", API_KEY: "local-secret-value", MODE: "fast" },
      });
      // In the sandbox: only the entry's own; the sandbox sets PATH, HOME and LANG.
      expect(boxed && mcpServerEnvironment(boxed, env)).toEqual({ ok: true, values: { MODE: "slow" } });
      expect(gh && mcpServerHeaders(gh, {})).toEqual({ ok: false, missing: ["GH_TOKEN", "TRACE"] });
      expect(config.mcp).toEqual({ callTimeoutS: 30, startTimeoutS: 30 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("a room name of a server's tool is a server name the config allows, then __, then the tool's", () => {
  for (const name of ["files__read_file", "a__b", "my-server__x-y_z"]) expect({ name, ok: isMcpRoomToolName(name) }).toEqual({ name, ok: true });
  for (const name of ["files", "files__", "__read", "9files__x", `files__${"x".repeat(65)}`, `${"s".repeat(25)}__x`, "files__a.b"]) {
    expect({ name, ok: isMcpRoomToolName(name) }).toEqual({ name, ok: false });
  }
});
