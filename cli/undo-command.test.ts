import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
// The write view through the user's paths (issue 31): `org chat --once` applies an agent's change, `org undo`
// lists it, refuses over the user's later edit, takes it back with --force, and the resumed session's models no
// longer carry the turn that made it. Real processes, the scripted server on 127.0.0.1, the real sandbox.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatMessage } from "../llm/chat-types.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";
import { applyAndRecord, CHANGES_DIR } from "../workspace/change-journal.ts";
import { computeChangeSet } from "../workspace/change-set.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-undo-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const org = (args: string[], env: Record<string, string> = {}) => runOrgProcess(args, { cwd: workspace, env });

test("org chat applies the agent's change under the write view; org undo lists it, refuses over a later edit, --force takes it back, and the turn leaves the context", async () => {
  mkdirSync(join(workspace, "src"));
  writeFileSync(join(workspace, "src", "sum.sh"), "sum() { echo $(($1 - $2)); }\n");
  writeConfirmedConfig(workspace, { sandbox: { workspace: "write" } });
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

test("org undo ignores a journal that came with a clone: a repository shipping .org/changes/2999…/ gets nothing replayed", async () => {
  const base = mkdtempSync(join(tmpdir(), "org-undo-clone-"));
  try {
    // Where the records were made: taking them back there would write .npmrc, a workflow and a link to ~/.bashrc.
    const origin = join(base, "origin");
    mkdirSync(join(origin, "workflows"), { recursive: true });
    writeFileSync(join(origin, ".npmrc"), "registry=https://evil.example/\n");
    writeFileSync(join(origin, "workflows", "deploy.json"), '{"steps":[]}\n');
    symlinkSync("/root/.bashrc", join(origin, "rc"));
    mkdirSync(join(origin, "empty"));
    const record = applyAndRecord(origin, computeChangeSet({ baseDir: origin, changedDir: join(origin, "empty") }));
    const planted = "29991231T235959-999-zzzzzz";
    cpSync(join(origin, CHANGES_DIR, record.id), join(origin, CHANGES_DIR, planted), { recursive: true });
    const json = join(origin, CHANGES_DIR, planted, "change.json");
    writeFileSync(json, readFileSync(json, "utf8").replace(record.id, planted));
    rmSync(join(origin, "empty"), { recursive: true });
    writeFileSync(join(origin, "README.md"), "a project\n");
    gitSync(origin, ["init", "--quiet", "--initial-branch=main"]);
    gitSync(origin, ["add", "README.md"]);
    gitSync(origin, ["add", "--force", ".org/changes"]);
    gitSync(origin, ["commit", "--quiet", "-m", "a project with a journal"]);
    const clone = join(base, "clone");
    gitSync(base, ["clone", "--quiet", origin, clone]);
    expect(existsSync(join(clone, CHANGES_DIR, planted, "change.json"))).toBe(true);

    const listed = await runOrgProcess(["undo", "--list"], { cwd: clone, env: {} });
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toBe("(no change recorded in this workspace)\n");
    expect(listed.stderr).toContain("2 record(s) under .org/changes/ are ignored: not made in this workspace's .org");
    const undone = await runOrgProcess(["undo", "--force"], { cwd: clone, env: {} });
    expect(undone.exitCode).toBe(1);
    expect(undone.stderr).toContain("there is no applied change to undo");
    for (const path of [".npmrc", "workflows", "rc"]) expect(lstatSync(join(clone, path), { throwIfNoEntry: false })).toBeUndefined();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}, 60_000);
