// The room in a real terminal (tmux), as a person uses it: an MCP server's start-up notice that arrives while the prompt
// holds half a message is written above the prompt, which is drawn again with what was typed; a tool's output shows its
// first lines under its result, /output N the whole of it, and /history names each result's number.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { shellWord } from "../../security/shell-word.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";

const EVERYTHING = join(import.meta.dir, "..", "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const workspace = mkdtempSync(join(tmpdir(), "org-room-output-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
// org's code alone: the checkout's promoted tools are no part of this test.
const code = orgCodeCopy("org-room-output-code-");
const gate = join(workspace, "mcp-may-start");
// Fourteen lines in all: "exit code: 0", "stdout:", twelve of the command's, "stderr: (empty)".
const LISTING = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo row-$i; done";

let server: Awaited<ReturnType<typeof startScriptedServer>>;
let tmux: TmuxServer;
beforeAll(async () => {
  tmux = await TmuxServer.start();
  server = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "listed twelve rows." } },
        { when: { persona: "agent", lastMessage: "list the rows" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: LISTING } }] } },
        { when: { persona: "agent" }, reply: { text: "agent heard: {{lastMessage}}" } },
      ],
    },
    port: 0,
  });
  // An MCP server that starts only once the test lets it: its "is up" notice comes while the prompt is open.
  writeFileSync(
    join(workspace, "org.config.json"),
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent" }],
      mcp: { startTimeoutS: 120 },
      mcpServers: {
        gated: {
          command: "/bin/sh",
          args: ["-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$1" "$2" stdio', gate, process.execPath, EVERYTHING],
        },
      },
    }),
  );
  const trusted = Bun.spawn(orgCommand(["mcp", "trust", "gated"], { checkoutDir: code.dir }), { cwd: workspace, stdout: "ignore", stderr: "pipe" });
  if ((await trusted.exited) !== 0) throw new Error(`org mcp trust failed: ${await new Response(trusted.stderr).text()}`);
});
afterAll(async () => {
  await tmux?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

/** The pane's lines without the blank rows below the last one written. */
const lines = (pane: string) => pane.replace(/\s+$/, "").split("\n");

test("a notice that comes while the prompt is open goes above it; the prompt comes back with what was typed", async () => {
  const session = uniqueSessionName("org-output");
  const command = [
    `OLLAMA_BASE=${shellWord(server.url)} OLLAMA_MODEL=scripted NO_COLOR=1 ORG_EMBED_MODEL=off`,
    `exec ${orgCommand(["chat", "--workspace", workspace], { checkoutDir: code.dir }).map(shellWord).join(" ")}`,
  ].join(" ");
  await tmux.newSession(session, command, { cwd: workspace, width: 150, height: 60 });
  await tmux.tmux("set-option", "-t", session, "remain-on-exit", "on");
  await tmux.waitFor(session, "group ›", 30_000);
  await tmux.type(session, "hello wor");
  await tmux.waitFor(session, "group › hello wor");
  writeFileSync(gate, "");
  const pane = await tmux.waitFor(session, /mcp: gated is up[^\n]*\n[\s\S]*group › hello wor\s*$/, 60_000);
  const shown = lines(pane);
  // Before the fix: "group › hello wor· mcp: gated is up…", with no prompt after it.
  expect(shown.find((line) => line.includes("mcp: gated is up"))).toStartWith("· mcp: gated is up");
  expect(shown.at(-1)).toBe("group › hello wor");
  // The line is still the user's: typing goes on where it stopped.
  await tmux.type(session, "ld");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "agent │ agent heard: hello world");

  // A tool's output: its first six lines under its result, and how many more /output 1 shows.
  await tmux.type(session, "list the rows");
  await tmux.keys(session, "Enter");
  const listed = await tmux.waitFor(session, /agent │ listed twelve rows\./);
  expect(listed).toMatch(/agent │ ✓ sh · \d+ ms · 15 lines of output · \/output 1\n/);
  expect(listed).toContain(
    [
      "agent │   exit code: 0",
      "agent │   stdout:",
      "agent │   row-1",
      "agent │   row-2",
      "agent │   row-3",
      "agent │   row-4",
      "agent │   … 9 more lines: /output 1",
    ].join("\n"),
  );
  expect(listed).not.toContain("row-5");
  await tmux.type(session, "/output 1");
  await tmux.keys(session, "Enter");
  const whole = await tmux.waitFor(session, /── sh for agent, result 1 ──[\s\S]*row-12\nstderr: \(empty\)\n/);
  expect(whole).toContain("row-5\nrow-6");
  await tmux.type(session, "/output 2");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "/output: there is no result 2: give a number from 1 to 1, or none for the newest");
  await tmux.type(session, "/history");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /agent: listed twelve rows\.\n {4}⚙ sh \{"cmd":"for i in [^\n]*→ ✓ 15 lines of output · \/output 1/);
  await tmux.type(session, "/quit");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "resume with:");
}, 120_000);
