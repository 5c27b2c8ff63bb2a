import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { displayUrl, withoutUserinfo } from "../llm/server-url.ts";
import { freePort } from "../testing/free-port.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

// Credentials in OLLAMA_BASE never reach what org prints: not in a search's note, its --json, an error, a chat reply.
const USER = "orgUser7";
const PASSWORD = "s3cr3t-Pa55w0rd-x9";
const TOKEN = "t0ken-Q7w8e9r0t1y2u3";

/** The environment of a child org: this process's without any model-server setting of the machine. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(OLLAMA_|ORG_|OPENAI_)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

async function org(args: string[], cwd: string, env: Record<string, string>) {
  const child = Bun.spawn(orgCommand(args), { cwd, env: childEnv(env), stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode, both: `${stdout}\n${stderr}` };
}

test("withoutUserinfo takes the userinfo out of every URL in a text, a lone token and user:password alike", () => {
  expect(withoutUserinfo(`at http://${USER}:${PASSWORD}@127.0.0.1:9/api/embed (x) and https://${TOKEN}@h.example/v1`)).toBe(
    "at http://127.0.0.1:9/api/embed (x) and https://h.example/v1",
  );
  // A password with an '@' of its own: the userinfo runs to the last one, as a URL parser reads it.
  expect(withoutUserinfo("http://u:p@ss@host:1/x then mail bob@example.com")).toBe("http://host:1/x then mail bob@example.com");
  expect(withoutUserinfo("no url, a@b and git@github.com:org/repo")).toBe("no url, a@b and git@github.com:org/repo");
  expect(displayUrl(`http://${USER}:${PASSWORD}@127.0.0.1:9/`)).toBe("http://127.0.0.1:9");
  expect(displayUrl(`not a url://${TOKEN}@x`)).toBe("not a url://x");
});

describe("OLLAMA_BASE with credentials, a server that fails", () => {
  const workspace = mkdtempSync(join(tmpdir(), "org-url-userinfo-"));
  const repo = tempGitRepo("org-url-userinfo-repo-");
  // A server that fails every request, quoting what it was asked with: the URL with its userinfo, the header.
  let failing: ReturnType<typeof Bun.serve> | undefined;
  let closedPort = 0;
  beforeAll(async () => {
    failing = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) =>
        new Response(
          `proxy refused http://${USER}:${PASSWORD}@${new URL(request.url).host}${new URL(request.url).pathname} with ${request.headers.get("authorization")} (password ${PASSWORD}, token ${TOKEN})`,
          { status: 500 },
        ),
    });
    closedPort = freePort();
  });
  afterAll(async () => {
    await failing?.stop(true);
    rmSync(workspace, { recursive: true, force: true });
    repo[Symbol.dispose]();
  });

  const bases = () => [
    { name: "closed port, user:password", base: `http://${USER}:${PASSWORD}@127.0.0.1:${closedPort}`, secrets: [PASSWORD] },
    { name: "closed port, lone token", base: `http://${TOKEN}@127.0.0.1:${closedPort}`, secrets: [TOKEN] },
    { name: "failing server, user:password", base: `http://${USER}:${PASSWORD}@127.0.0.1:${failing?.port}`, secrets: [PASSWORD] },
    { name: "failing server, lone token", base: `http://${TOKEN}@127.0.0.1:${failing?.port}`, secrets: [TOKEN] },
  ];

  // Every output below meets both failures and both forms of credentials, and each failure meets both forms: every
  // pair of the three, in half the runs of all their combinations (a run is an org process).
  const passwordClosedTokenFailing = [0, 3];
  const tokenClosedPasswordFailing = [1, 2];
  const runs = <T>(outputs: [T, number[]][]) =>
    outputs.flatMap(([output, which]) =>
      bases()
        .filter((_, index) => which.includes(index))
        .map((base) => ({ ...base, output })),
    );

  test("org memory search and org tool search, plain and --json, print the note without the credentials", async () => {
    const searches = runs<string[]>([
      [["memory", "search", "deploy", "--workspace", workspace], passwordClosedTokenFailing],
      [["memory", "search", "deploy", "--json", "--workspace", workspace], tokenClosedPasswordFailing],
      [["tool", "search", "count words", "--repo", repo.dir], tokenClosedPasswordFailing],
      [["tool", "search", "count words", "--json", "--repo", repo.dir], passwordClosedTokenFailing],
    ]);
    expect(searches).toHaveLength(8);
    for (const { name, base, secrets, output: args } of searches) {
      const result = await org(args, workspace, { OLLAMA_BASE: base });
      // The note is there (embeddings were tried and failed), and names the server without userinfo.
      expect({ name, args, exitCode: result.exitCode, saysWhere: result.both.includes("127.0.0.1:") }).toEqual({
        name,
        args,
        exitCode: 0,
        saysWhere: true,
      });
      for (const secret of secrets) expect({ name, args, leaked: result.both.includes(secret) }).toEqual({ name, args, leaked: false });
    }
  }, 240_000);

  test("org chat --once (plain and --json): the model server's failure is shown without the credentials", async () => {
    const chats = runs<string[]>([
      [[], passwordClosedTokenFailing],
      [["--json"], tokenClosedPasswordFailing],
    ]);
    expect(chats).toHaveLength(4);
    for (const { name, base, secrets, output: extra } of chats) {
      const result = await org(["chat", "--once", "hello", "--workspace", workspace, ...extra], workspace, {
        OLLAMA_BASE: base,
        OLLAMA_MODEL: "m",
      });
      expect({ name, extra, failed: result.exitCode !== 0, saysWhere: result.both.includes("127.0.0.1:") }).toEqual({
        name,
        extra,
        failed: true,
        saysWhere: true,
      });
      for (const secret of secrets) expect({ name, extra, leaked: result.both.includes(secret) }).toEqual({ name, extra, leaked: false });
    }
  }, 240_000);
});
