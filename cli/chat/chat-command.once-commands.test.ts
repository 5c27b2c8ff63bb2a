// `org chat --once "/…"` as real processes: a slash command runs on the session as the room runs it and never reaches the
// models as text; one typed wrong, /quit, and one that confirms or starts a server or lowers a guard (/mcp trust, /undo
// --force, /save FILE: issue 51 item 15) are refused before a session is made (exit 2); `//` sends a line that starts
// with `/`; with --resume, /mode, /history and /output act on the session that was.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";

// org's code alone: the checkout's promoted tools are no part of this test.
const code = orgCodeCopy("org-once-commands-code-");
const scratch = mkdtempSync(join(tmpdir(), "org-once-commands-"));
chmodSync(scratch, 0o755);
let server: ScriptedServer;
let made = 0;

beforeAll(async () => {
  server = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "counted." } },
        { when: { persona: "agent", lastMessage: "count to nine" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "seq 1 9" } }] } },
        { when: {}, reply: { text: "heard: {{lastMessage}}" } },
      ],
    },
    port: 0,
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
  code[Symbol.dispose]();
});

/** A fresh workspace: the agent (sh allowed) and python, so "everyone" is more than one persona. */
function freshWorkspace(): string {
  const dir = join(scratch, `ws-${++made}`);
  Bun.spawnSync(["mkdir", "-p", dir]);
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, "org.config.json"),
    JSON.stringify({
      personas: [
        { name: "agent", kind: "agent", tools: { sh: "allow" } },
        { name: "python", kind: "python" },
      ],
    }),
  );
  return dir;
}

async function chat(workspace: string, args: string[]) {
  const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace, ...args], { checkoutDir: code.dir }), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

/** A `--once "/…" --json` run whose command failed: exit 1, and its last JSON line is the command's one line. */
function expectFailedCommand(run: { stdout: string; exitCode: number }, command: string, line: string): void {
  expect(run.exitCode).toBe(1);
  expect(JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "")).toEqual({ type: "command", command, ok: false, lines: [line] });
}

/** The user messages the models were sent, in order. */
const sentToModels = () =>
  server.requests
    .filter((request) => request.path.endsWith("/chat/completions"))
    .map(
      (request) =>
        (request.body as { messages: { role: string; content: string }[] }).messages.filter((message) => message.role === "user").at(-1)?.content,
    );

const transcript = (workspace: string) => {
  const dir = join(workspace, ".org", "sessions");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".jsonl"))
    .map((name) => readFileSync(join(dir, name), "utf8"))
    .join("");
};

test("/wish is noted for org grow; no model hears it; --json ends with the command's line", async () => {
  const workspace = freshWorkspace();
  const before = sentToModels().length;
  const wished = await chat(workspace, ["--once", "/wish a tool that counts the words in a text"]);
  expect(wished.exitCode).toBe(0);
  expect(wished.stdout).toBe("· wish noted for org grow: a tool that counts the words in a text\n");
  expect(wished.stderr).toMatch(/^transcript: \S+\.jsonl\n$/);
  expect(transcript(workspace)).toContain('"reason":"wish"');
  // No turn follows a command, so the agent's sh started no sandbox ahead of one: the session has no scratch.
  expect(existsSync(join(workspace, ".org", "scratch"))).toBe(false);
  const json = await chat(workspace, ["--once", "/wish convert currencies", "--json"]);
  const lines = json.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  expect(lines.at(-1)).toEqual({ type: "command", command: "wish", ok: true, lines: [] });
  expect(lines).toContainEqual(expect.objectContaining({ type: "notice", reason: "wish", message: "convert currencies" }));
  // Before the fix both went to every persona as a message (and the toolsmith built a tool from one).
  expect(sentToModels().length).toBe(before);
});

test("a command typed wrong, and /quit, are refused before anything is made; // sends a line that starts with /", async () => {
  const workspace = freshWorkspace();
  const before = sentToModels().length;
  const typo = await chat(workspace, ["--once", "/wisj a tool"]);
  expect(typo).toEqual({
    exitCode: 2,
    stdout: "",
    stderr: "org: unknown command /wisj. Did you mean /wish? Type /help for the list, or // to send a message starting with /. Nothing was sent.\n",
  });
  const usage = await chat(workspace, ["--once", "/history lots", "--json"]);
  expect(usage.exitCode).toBe(2);
  expect(JSON.parse(usage.stdout)).toEqual({
    type: "error",
    kind: "usage",
    message: "/history takes a positive number, e.g. /history 50. Usage: /history [N] Nothing was sent.",
  });
  const quit = await chat(workspace, ["--once", "/quit"]);
  expect(quit.exitCode).toBe(2);
  expect(quit.stderr).toContain("--once leaves by itself");
  expect(existsSync(join(workspace, ".org"))).toBe(false);
  expect(sentToModels().length).toBe(before);
  const slashed = await chat(workspace, ["--once", "//wish is only text here", "--mode", "direct:agent"]);
  expect(slashed.exitCode).toBe(0);
  expect(slashed.stdout).toContain("agent │ heard: /wish is only text here");
  expect(sentToModels().slice(before)).toEqual(["/wish is only text here"]);
});

test("/mode, /undo and /help run as in the room; with --resume, /history and /output read the session that was", async () => {
  const workspace = freshWorkspace();
  const before = sentToModels().length;
  const mode = await chat(workspace, ["--once", "/mode direct:python"]);
  expect(mode).toMatchObject({ exitCode: 0, stdout: "· mode is now direct:python\n" });
  const shown = await chat(workspace, ["--resume", "--once", "/mode"]);
  expect(shown.stdout).toBe("mode: direct:python  (others: group, direct:agent, direct:python, file:<path>)\n");
  const undo = await chat(workspace, ["--once", "/undo"]);
  expect(undo.exitCode).toBe(1);
  expect(undo.stdout).toStartWith("/undo: ");
  const help = await chat(workspace, ["--once", "/help"]);
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain("/output [N]");
  expect(sentToModels().length).toBe(before);

  const counted = await chat(workspace, ["--once", "count to nine", "--mode", "direct:agent"]);
  expect(counted.exitCode).toBe(0);
  expect(counted.stdout).toContain("agent │ ✓ sh · ");
  expect(counted.stdout).toMatch(/ · 12 lines of output · \/output 1\nagent │ {3}exit code: 0\n/);
  expect(counted.stdout).toContain("agent │   … 6 more lines: /output 1\n");
  const history = await chat(workspace, ["--resume", "--once", "/history"]);
  expect(history.stdout).toContain('agent: counted.\n    ⚙ sh {"cmd":"seq 1 9"} → ✓ 12 lines of output · /output 1\n');
  const output = await chat(workspace, ["--resume", "--once", "/output 1"]);
  expect(output).toMatchObject({
    exitCode: 0,
    stdout: `── sh for agent, result 1 ──\nexit code: 0\nstdout:\n${[1, 2, 3, 4, 5, 6, 7, 8, 9].join("\n")}\nstderr: (empty)\n`,
  });
  const missing = await chat(workspace, ["--resume", "--once", "/output 5", "--json"]);
  expectFailedCommand(missing, "output", "/output: there is no result 5: give a number from 1 to 1, or none for the newest");
}, 60_000);

test("/mcp of a workspace with no server says so; /mcp trust, /undo --force and /save FILE are refused from --once, naming the way that remains", async () => {
  const none = freshWorkspace();
  const listed = await chat(none, ["--once", "/mcp"]);
  expect(listed.exitCode).toBe(0);
  expect(listed.stdout).toStartWith("no MCP servers: ");

  // Issue 51 item 15: a script hands --once someone else's text. A server whose start leaves a mark: it never starts.
  const some = freshWorkspace();
  writeFileSync(join(some, "started.sh"), `echo started > ${JSON.stringify(join(some, "started"))}\nexec sleep 30\n`);
  writeFileSync(join(some, "org.config.json"), JSON.stringify({ mcpServers: { files: { command: "/bin/sh", args: ["started.sh"] } } }));
  const trust = await chat(some, ["--once", "/mcp trust files"]);
  expect(trust).toMatchObject({ exitCode: 2, stdout: "" });
  expect(trust.stderr).toContain("/mcp trust confirms an MCP server and starts it, so it is never run from --once: run 'org mcp trust files'");
  const json = await chat(some, ["--once", "/mcp trust files", "--json"]);
  expect(json.exitCode).toBe(2);
  expect(JSON.parse(json.stdout)).toMatchObject({ type: "error", kind: "usage" });
  // Nothing was confirmed: the next turn starts nothing either, and says the server waits.
  const turn = await chat(some, ["--once", "/mcp"]);
  expect(turn.stdout).toContain("files");
  expect(existsSync(join(some, "started"))).toBe(false);

  const force = await chat(some, ["--once", "/undo --force"]);
  expect(force.exitCode).toBe(2);
  expect(force.stderr).toContain("run 'org undo --force'");
  const outside = join(scratch, `saved-${made}.txt`);
  const save = await chat(some, ["--once", `/save ${outside}`]);
  expect(save.exitCode).toBe(2);
  expect(save.stderr).toContain("/save FILE writes wherever FILE says, so it is never run from --once");
  expect(existsSync(outside)).toBe(false);
  // /save alone writes into the session's own .org/transcripts/, as before.
  expect((await chat(some, ["--once", "/save"])).exitCode).toBe(0);
}, 60_000);
