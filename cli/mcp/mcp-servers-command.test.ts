// The room's MCP servers through the paths a user takes, as real `org` processes: `org mcp trust`, `org mcp servers
// [--json]`, `org doctor` and `org chat --once`, against @modelcontextprotocol/server-everything and -filesystem.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import type { McpServerStatus } from "../../mcp-client/mcp-hub.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { tempGitRepo } from "../../testing/temp-git-repo.ts";
import { descendants } from "../../testing/process-tree.ts";
import { waitUntil } from "../../testing/wait-until.ts";
import { startOrgServe } from "../../testing/org-serve-process.ts";
import { loadOrgConfig } from "../../config/org-config.ts";
import { writeConfirmedConfig } from "../../testing/confirmed-config.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";
import { McpHub } from "../../mcp-client/mcp-hub.ts";
import { sandboxPolicy } from "../../sandbox/sandbox-policy.ts";
import { confirmMcpServers } from "../chat/confirm-mcp-servers.ts";
import type { ApprovalQuestion } from "../chat/approval-prompt.ts";
import { testSandboxAccess } from "../../testing/test-sandbox.ts";

const NODE_MODULES = join(import.meta.dir, "..", "..", "node_modules");
const EVERYTHING = join(NODE_MODULES, "@modelcontextprotocol", "server-everything", "dist", "index.js");
const FILESYSTEM = join(NODE_MODULES, "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
const BUN = process.execPath;

const workspace = mkdtempSync(join(tmpdir(), "org-mcp-cli-"));
chmodSync(workspace, 0o755);
const checkout = tempGitRepo("org-mcp-cli-repo-");
// org's code alone: this checkout's promoted tools are no part of what MCP servers do, and are then never read
// (so the gate does not count this file a reader of a candidate's tools).
const code = orgCodeCopy("org-mcp-cli-code-");
let model: ScriptedServer;

beforeAll(async () => {
  writeConfirmedConfig(
    workspace,
    JSON.stringify(
      {
        // The servers' tools take more than org's default 4096-token window: the model's window holds them.
        personas: [{ name: "agent", kind: "agent", contextTokens: 32_768 }],
        mcpServers: {
          everything: { command: BUN, args: [EVERYTHING, "stdio"], tools: { echo: "allow" } },
          broken: { command: "/nonexistent/mcp-server", args: ["--stdio", "--title=a — b"] },
          waiting: { command: BUN, args: [EVERYTHING, "stdio"] },
          whole: { command: BUN, args: [FILESYSTEM, "."] },
          // A server that outlives its stdin (most exit when it closes): only org's lifeline ends it when org is killed.
          stubborn: { command: "/bin/sh", args: ["-c", '"$0" "$1" stdio; exec sleep 600', BUN, EVERYTHING] },
        },
      },
      null,
      2,
    ),
  );
  model = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "the tool said: {{lastMessage}}" } },
        {
          when: { persona: "agent", lastMessage: "echo" },
          reply: { toolCalls: [{ name: "everything__echo", arguments: { message: "hi from once" } }] },
        },
        { when: {}, reply: { text: "ok" } },
      ],
    },
    port: 0,
  });
});

afterAll(async () => {
  await model.stop();
  rmSync(workspace, { recursive: true, force: true });
  checkout[Symbol.dispose]();
  code[Symbol.dispose]();
});

async function org(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(orgCommand(args, { checkoutDir: code.dir }), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted", ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

const servers = async () => (JSON.parse((await org(["mcp", "servers", "--json"])).stdout) as { servers: McpServerStatus[] }).servers;
const byName = (list: McpServerStatus[], name: string) => list.find((entry) => entry.name === name);

test("org mcp trust confirms servers as configured; org mcp servers lists each one's state and tools, as JSON and as text", async () => {
  const before = await servers();
  expect(before.map((entry) => [entry.name, entry.state])).toEqual([
    ["everything", "untrusted"],
    ["broken", "untrusted"],
    ["waiting", "untrusted"],
    ["whole", "untrusted"],
    ["stubborn", "untrusted"],
  ]);
  const none = await org(["mcp", "trust"]);
  expect(none.exitCode).toBe(2);
  expect(none.stderr).toContain("waiting for confirmation: everything, broken, waiting, whole, stubborn");

  // whole and stubborn are confirmed where they are looked at (chat --once, serve): until then no run starts them.
  const trusted = await org(["mcp", "trust", "everything", "broken"]);
  expect(trusted.exitCode).toBe(0);
  expect(trusted.stdout).toContain(`confirmed everything: ${BUN} ${EVERYTHING} stdio — on this host as you, unsandboxed`);
  expect((await org(["mcp", "trust", "nope"])).stderr).toContain('there is no MCP server "nope"');

  const after = await servers();
  expect(byName(after, "everything")).toMatchObject({ state: "up", transport: "stdio", sandbox: false });
  const tools = byName(after, "everything")?.tools ?? [];
  expect(tools).toContainEqual({ name: "everything__echo", policy: "allow", description: "Echoes back the input string" });
  expect(tools).toContainEqual(expect.objectContaining({ name: "everything__get-sum", policy: "ask" }));
  expect(byName(after, "broken")).toMatchObject({ state: "down", tools: [] });
  expect(byName(after, "broken")?.detail).toContain("it failed to start");
  expect(byName(after, "broken")?.detail).toContain("exited with code 127");
  expect(byName(after, "waiting")?.state).toBe("untrusted");

  const text = await org(["mcp", "servers"]);
  expect(text.exitCode).toBe(0);
  expect(text.stdout).toContain("everything  up (stdio, as you) — 12 tools (1 not offered)\n");
  expect(text.stdout).toMatch(/^ {2}everything__echo +allow {2}Echoes back the input string$/m);
  expect(text.stdout).toContain("waiting  untrusted (stdio, as you): not confirmed");
}, 60_000);

test("org workflow run calls an MCP tool set to allow as a step, starting its server for the run", async () => {
  mkdirSync(join(workspace, "workflows"), { recursive: true });
  writeFileSync(
    join(workspace, "workflows", "shout.json"),
    JSON.stringify({
      name: "shout",
      inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      steps: [{ id: "echo", tool: "everything__echo", inputs: { message: "$inputs.text" } }],
      output: { said: "$steps.echo.output" },
    }),
  );
  const run = await org(["workflow", "run", "workflows/shout.json", "--inputs", '{"text":"from a workflow"}', "--json"]);
  expect(run.stdout.trim()).toBe('{"said":"Echo: from a workflow"}');
  expect(run.exitCode).toBe(0);
}, 60_000);

test("org doctor starts each confirmed server and says ok, or what failed and the fix", async () => {
  const child = await org(["doctor", "--json", "--workspace", workspace, "--repo", checkout.dir]);
  const checks = (JSON.parse(child.stdout) as { checks: { name: string; status: string; detail: string; fix?: string }[] }).checks;
  const check = (name: string) => checks.find((entry) => entry.name === `mcp server ${name}`);
  expect(check("everything")).toMatchObject({ status: "ok" });
  expect(check("everything")?.detail).toStartWith("started on this host as you; 12 tool(s): everything__echo,");
  expect(check("broken")).toMatchObject({ status: "fail", fix: "run it yourself to see why: /nonexistent/mcp-server --stdio '--title=a — b'" });
  expect(check("waiting")).toMatchObject({
    status: "fail",
    fix: "check the command and the files it runs, then: org mcp trust waiting (or answer its question in 'org chat')",
  });
  expect(child.exitCode).toBe(1);
}, 60_000);

test("chat --once waits for the servers' first start, calls a confirmed server's tool; an unconfirmed one stays off with a notice", async () => {
  expect((await org(["mcp", "trust", "whole"])).exitCode).toBe(0);
  const once = await org(["chat", "--once", "please echo", "--json"]);
  const events = once.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as RoomEvent);
  const result = events.find((event): event is Extract<RoomEvent, { type: "tool-result" }> => event.type === "tool-result");
  expect(result).toMatchObject({ ok: true, output: "Echo: hi from once", call: { name: "everything__echo" } });
  expect(once.stderr).toContain("org: mcp: waiting stays off: its command, args or env are new or changed since you last confirmed it");
  expect(once.stderr).toContain("org mcp trust waiting");
  // A server given the workspace itself, unsandboxed, could rewrite org's config: said when it starts.
  expect(once.stderr).toContain("org: mcp: whole runs as you and is given ., which holds the workspace and its org.config.json");
  expect(once.exitCode).toBe(0);
}, 60_000);

test("org serve offers a confirmed server's tools over HTTP; one not confirmed stays off, said in its log", async () => {
  expect((await org(["mcp", "trust", "stubborn"])).exitCode).toBe(0);
  const serve = await startOrgServe({ workspace, modelUrl: model.url, env: { OLLAMA_MODEL: "scripted" }, checkoutDir: code.dir });
  const reader = (serve.child.stderr as ReadableStream<Uint8Array>).getReader();
  let log = "";
  try {
    const deadline = Date.now() + 30_000;
    while (!(log.includes("mcp: everything is up") && log.includes("mcp: stubborn is up")) && Date.now() < deadline) {
      const read = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
      if (!read || read.done) break;
      log += new TextDecoder().decode(read.value);
    }
    expect(log).toContain("mcp: waiting stays off: its command, args or env are new or changed since you last confirmed it");
    expect(log).toContain("mcp: everything is up: 12 tools");
    const response = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "agent", messages: [{ role: "user", content: "please echo" }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toContain("Echo: hi from once");
    // org killed outright (no exit handler runs): its lifeline takes every server with it.
    const servers = descendants(serve.child.pid).filter((pid) => {
      try {
        const program = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return program[0] === BUN || program.includes(EVERYTHING);
      } catch {
        return false;
      }
    });
    expect(servers.length).toBeGreaterThan(2);
    await serve.stop("SIGKILL");
    await waitUntil("the servers to go with org", () => servers.every((pid) => !existsSync(`/proc/${pid}`)), 10_000);
  } finally {
    reader.releaseLock();
    await serve.stop();
  }
}, 90_000);

test("the console asks about each server that is new or changed: no leaves it off, yes remembers it and starts it", async () => {
  const config = loadOrgConfig(
    join(workspace, "org.config.json"),
    { ...process.env, OLLAMA_BASE: model.url },
    { workspaceDir: workspace, checkoutDir: code.dir },
  );
  const waitingOnly = config.mcpServers.filter((server) => server.name === "waiting");
  const asked: ApprovalQuestion[] = [];
  const answering = (answer: string) => async (question: ApprovalQuestion) => {
    asked.push(question);
    return answer;
  };
  const hub = new McpHub({
    ...testSandboxAccess(),
    servers: waitingOnly,
    settings: config.mcp,
    workspaceDir: workspace,
    sandboxPolicy: sandboxPolicy({ poolSize: 0 }),
    version: "test",
  });
  try {
    hub.start();
    await confirmMcpServers(hub, answering("n"), true);
    expect(asked[0]?.text).toBe(
      `MCP server waiting is new or changed since you last confirmed it. It would run: ${BUN} ${EVERYTHING} stdio — on this host as you, unsandboxed`,
    );
    expect(asked[0]?.verdict("n")).toBe("waiting stays off (/mcp trust waiting starts it later)");
    expect(hub.status()[0]?.state).toBe("untrusted");
    await confirmMcpServers(hub, answering("y"), true);
    await hub.ready();
    expect(hub.status()[0]?.state).toBe("up");
  } finally {
    await hub.close();
  }
  // Remembered: the next start needs no question.
  expect(byName(await servers(), "waiting")?.state).toBe("up");
}, 60_000);
