// An open room follows its org.config.json, in a real terminal (tmux) on the playground: switched to the write view while
// the room is open, the agent's notes come as a diff to approve (before, the room still said "read-only" and hinted to
// set what was already set); a file that cannot be read is said, and the room goes on as it was.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { scriptFiles } from "../../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../../scripted-server/script.ts";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { shellWord } from "../../security/shell-word.ts";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";
import { withoutDelays } from "../../scripted-server/without-delays.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-config-reload-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
let server: ScriptedServer;
let tmux: TmuxServer;

beforeAll(async () => {
  tmux = await TmuxServer.start();
  server = await startScriptedServer({
    script: withoutDelays(mergeScripts(await Promise.all(scriptFiles("playground").map((file) => loadScript(file))))),
  });
  writeFileSync(join(workspace, "README.md"), "# Tiny adder\n");
  writeFileSync(join(workspace, "Makefile"), "test:\n\t@echo adds fine\n");
});
afterAll(async () => {
  await tmux?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

test("the room opens again on an edited org.config.json, in the same session; an unreadable one leaves it as it was", async () => {
  const session = uniqueSessionName("org-reload");
  const command = [
    `OLLAMA_BASE=${shellWord(server.url)} OLLAMA_MODEL=scripted NO_COLOR=1 ORG_EMBED_MODEL=off`,
    `exec ${orgCommand(["chat", "--workspace", workspace]).map(shellWord).join(" ")}`,
  ].join(" ");
  await tmux.newSession(session, command, { cwd: workspace, width: 150, height: 60 });
  await tmux.tmux("set-option", "-t", session, "remain-on-exit", "on");
  await tmux.waitFor(session, "group ›", 30_000);
  await tmux.type(session, "/mode direct:agent");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "direct:agent ›");

  await tmux.type(session, "write notes");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /I could not write NOTES\.md: \/workspace is read-only[\s\S]*direct:agent › \s*$/, 60_000);

  // The write view is a setting that waits for the person's word: the edit alone changes nothing the room runs on,
  // and says what waits; confirming it, from another terminal, opens the room again on it.
  writeFileSync(join(workspace, "org.config.json"), `${JSON.stringify({ sandbox: { workspace: "write" } }, null, 2)}\n`);
  // The notice names the config by its path, so where it wraps depends on where the test runs: any space may be a break.
  await tmux.waitFor(
    session,
    /org\.config\.json changed; nothing this room runs on did, so it goes on as it is\.\s+org: [\s\S]*?sandbox\.workspace\s+\(write\)[\s\S]*?'org\s+config\s+trust'/,
    30_000,
  );
  const trusted = Bun.spawn(orgCommand(["config", "trust", "--workspace", workspace]), { cwd: workspace, stdout: "pipe", stderr: "pipe" });
  expect({ code: await trusted.exited, stderr: await new Response(trusted.stderr).text() }).toEqual({ code: 0, stderr: "" });
  const reopened = await tmux.waitFor(
    session,
    /org\.config\.json changed \(sandbox\.workspace\): the room opened again on it, and session (\S+) goes on\./,
    30_000,
  );
  // The mode the session was in goes on.
  await tmux.waitFor(session, /goes on\.\s+direct:agent › \s*$/);
  await tmux.type(session, "write notes");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "allow? [y]es / [n]o / [a]lways for workspace_write:", 60_000);
  await tmux.type(session, "y");
  await tmux.waitFor(session, /I wrote NOTES\.md \(\d+ lines\) from what my commands printed; it was applied as change/, 60_000);
  expect(existsSync(join(workspace, "NOTES.md"))).toBe(true);
  const sessionId = /session (\S+) goes on/.exec(reopened)?.[1];
  expect(sessionId).toBeDefined();
  expect(reopened).toContain(`Session ${sessionId}.`);

  // A file that does not parse: said, and the room keeps the write view it has.
  writeFileSync(join(workspace, "org.config.json"), '{ "sandbox": { "workspace": "write" }\n');
  await tmux.waitFor(
    session,
    /org\.config\.json changed, but this room cannot use it: [^\n]*org\.config\.json[\s\S]*settings it opened with/,
    30_000,
  );
  // Fixed again, as the room already runs it: said, and nothing reopens.
  writeFileSync(join(workspace, "org.config.json"), `${JSON.stringify({ sandbox: { workspace: "write" } })}\n`);
  await tmux.waitFor(session, /org\.config\.json changed; nothing this room runs on did, so it goes on as it is\./, 30_000);
  await tmux.type(session, "/undo");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /undid change \S+: 1 file restored/, 30_000);
  expect(existsSync(join(workspace, "NOTES.md"))).toBe(false);

  await tmux.type(session, "/quit");
  await tmux.keys(session, "Enter");
  const done = await tmux.waitFor(session, "resume with:");
  expect(done).toContain(`--resume ${sessionId}`);
}, 180_000);
