// The write view through the user's paths (issue 31): `org chat --once` applies an agent's change, `org undo`
// lists it, refuses over the user's later edit, takes it back with --force, and the resumed session's models no
// longer carry the turn that made it. Real processes, the scripted server on 127.0.0.1, the real sandbox.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatMessage } from "../llm/chat-types.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-undo-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const org = (args: string[], env: Record<string, string> = {}) => runOrgProcess(args, { cwd: workspace, env });

test("org chat applies the agent's change under the write view; org undo lists it, refuses over a later edit, --force takes it back, and the turn leaves the context", async () => {
  mkdirSync(join(workspace, "src"));
  writeFileSync(join(workspace, "src", "sum.sh"), "sum() { echo $(($1 - $2)); }\n");
  writeFileSync(join(workspace, "org.config.json"), JSON.stringify({ sandbox: { workspace: "write" } }));
  gitSync(workspace, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(workspace, ["add", "."]);
  gitSync(workspace, ["commit", "--quiet", "-m", "first"]);
  const gitBefore = checkoutState(workspace);
  await using server = await startScriptedServer({
    script: {
      models: ["qwen3:8b"],
      rules: [
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "fix" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "sed -i 's/ - / + /' src/sum.sh && printf 'adds\\n' > NOTES.md" } }] },
        },
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "Fixed: sum adds now." } },
        { reply: { text: "ok" } },
      ],
    },
  });
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" };

  const fixed = await org(["chat", "--once", "@agent fix the sum", "--json", "--yes"], env);
  expect(fixed.exitCode).toBe(0);
  const notices = fixed.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
    .flatMap((event) => (event.type === "notice" ? [event.message] : []));
  expect(notices).toContain("✎ agent changed 2 files (+2 −1) — /diff shows it");
  expect(readFileSync(join(workspace, "src", "sum.sh"), "utf8")).toBe("sum() { echo $(($1 + $2)); }\n");

  const listed = await org(["undo", "--list", "--json"]);
  expect(listed.exitCode).toBe(0);
  const [record] = JSON.parse(listed.stdout);
  expect(record).toMatchObject({
    persona: "agent",
    stats: { files: 2, added: 2, removed: 1 },
    files: [{ path: "NOTES.md", status: "added" }, { path: "src/sum.sh" }],
  });
  expect(record.undone).toBeUndefined();

  writeFileSync(join(workspace, "NOTES.md"), "the user's own notes\n");
  const refused = await org(["undo"]);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain('this file was changed in the workspace meanwhile: "NOTES.md"');
  expect(readFileSync(join(workspace, "src", "sum.sh"), "utf8")).toBe("sum() { echo $(($1 + $2)); }\n");

  const forced = await org(["undo", "--force", "--json"]);
  expect(forced.exitCode).toBe(0);
  expect(JSON.parse(forced.stdout)).toMatchObject({ id: record.id, undone: expect.any(String) });
  expect(readFileSync(join(workspace, "src", "sum.sh"), "utf8")).toBe("sum() { echo $(($1 - $2)); }\n");
  expect(gitSync(workspace, ["status", "--porcelain"])).toBe("");
  expect(checkoutState(workspace)).toBe(gitBefore);

  const resumed = await org(["chat", "--resume", "--once", "@agent and now?", "--json"], env);
  expect(resumed.exitCode).toBe(0);
  const messages = (server.requests.at(-1)?.body as { messages: ChatMessage[] }).messages;
  // The undone turn is out of the context, the ask with the reply; the new message is in.
  expect(JSON.stringify(messages)).not.toContain("fix the sum");
  expect(JSON.stringify(messages)).not.toContain("Fixed: sum adds now.");
  expect(JSON.stringify(messages)).toContain("and now?");
}, 60_000);
