// Issue 45's reproductions through `org patch` (items 2, 6, 7): a real process, the scripted model server on
// 127.0.0.1, the real sandbox, real git repositories in temp dirs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOrgProcess } from "../testing/org-process.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { gitSync, tempGitRepo, testGitEnv } from "../testing/temp-git-repo.ts";

const repo = tempGitRepo("org-patch-review-repo-");
const dir = mkdtempSync(join(tmpdir(), "org-patch-review-"));
let server: ScriptedServer;

const KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
/** What a hostile (or confused) model answers as its commit message: a key, a whole diff, trailers of its own, a `---`. */
const HOSTILE_MESSAGE = [
  "docs: add notes",
  "",
  `The server said OPENAI_API_KEY=${KEY} while I worked.`,
  // Newcomer review, minor: secrets of the environment whose names say so only as a word's end.
  "It also printed mypass-value-123, db-pwd-value-456 and smtppass-value-789.",
  "diff --git a/evil.txt b/evil.txt",
  "new file mode 100644",
  "index 0000000..5a1f4f4",
  "--- /dev/null",
  "+++ b/evil.txt",
  "@@ -0,0 +1 @@",
  "+pwned",
  "  --- indented/too",
  "Signed-off-by: Mallory <m@example.com>",
  "Tracking-Breadcrumb : FAKE-1",
  "tracking-breadcrumb:FAKE-2",
  "---",
  "Co-authored-by: Mallory <m@example.com>",
].join("\n");

beforeAll(async () => {
  writeFileSync(join(repo.dir, "README.md"), "# project\n");
  // The user's secrets beside the project, ignored by git as they usually are.
  writeFileSync(join(repo.dir, ".gitignore"), ".env\nconf/\n");
  writeFileSync(join(repo.dir, ".env"), "DB_PASSWORD=patch-secret-value-42\n");
  mkdirSync(join(repo.dir, "conf"));
  writeFileSync(join(repo.dir, "conf", "server.key"), "patch-key-material\n");
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "the project"]);
  mkdirSync(join(dir, "context"));
  writeFileSync(join(dir, "context", "notes.md"), "Notes go in notes.md.\n");
  // A folder of the context root that is a link to the host's /etc.
  symlinkSync("/etc", join(dir, "context", "sub"));
  const task = (name: string, prompt: string, context: string[], outputs: string[]) =>
    writeFileSync(
      join(dir, name),
      `# A task\n\n\`\`\`yaml\nprompt: ${JSON.stringify(prompt)}\ncontext: ${JSON.stringify(context)}\noutputs: ${JSON.stringify(outputs)}\nguarantees: []\n\`\`\`\n`,
    );
  task("notes.md", "Write the notes", ["notes.md"], ["notes.md"]);
  task("through-link.md", "Read the context", ["sub/passwd"], ["notes.md"]);
  task("links.md", "Link the bashrc", [], ["**"]);
  task("secrets.md", "Copy the secrets", [], ["leak.txt", "conf"]);
  task("env-and-notes.md", "Write the env and notes", [], ["notes.md", ".env"]);
  task("env-only.md", "Write the env alone", [], [".env*"]);
  server = await startScriptedServer({
    script: {
      models: ["qwen3:8b"],
      rules: [
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Write the notes" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo notes > notes.md" } }] },
        },
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Link the bashrc" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "ln -s . s && ln -s s/s/s/../../../root/.bashrc rc" } }] },
        },
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Copy the secrets" },
          reply: {
            toolCalls: [
              { name: "sh", arguments: { cmd: "(base64 .env; rev .env; cat conf/server.key; ls -a . conf) > leak.txt 2>&1" } },
              { name: "sh", arguments: { cmd: "rm -rf conf && echo replaced > conf" } },
            ],
          },
        },
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Write the env and notes" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo TOKEN=x > .env && echo notes > notes.md" } }] },
        },
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Write the env alone" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo TOKEN=x > .env.local" } }] },
        },
        // Told that .env was refused, the model of the first writes the notes alone; the second's cannot.
        {
          when: { persona: "agent", lastRole: "user", lastMessage: 'breaks the task\'s contract[\\s\\S]*"\\.env": a protected path' },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo notes > notes.md" } }] },
        },
        { when: { persona: "agent", lastRole: "user", lastMessage: "breaks the task's contract" }, reply: { text: "I cannot fix it." } },
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: HOSTILE_MESSAGE } },
        { reply: { text: "done" } },
      ],
    },
  });
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  repo[Symbol.dispose]();
  rmSync(dir, { recursive: true, force: true });
});

async function orgPatch(task: string, env: Record<string, string> = {}) {
  return await runOrgProcess(["patch", "--repo", repo.dir, "--context", join(dir, "context"), "--task", join(dir, task)], {
    cwd: dir,
    env: { LLM_PROVIDER: "ollama", LLM_MODEL: "qwen3:8b", LLM_BASE_URL: server.url, TRACKING_BREADCRUMB: "JIRA-7", ...env },
  });
}

test("item 6: the commit message is redacted, holds no diff git apply takes, no trailer of the model's; the breadcrumb trailer is the last line", async () => {
  const secrets = { MYPASS: "mypass-value-123", DB_PWD: "db-pwd-value-456", SMTPPASS: "smtppass-value-789" };
  const result = await orgPatch("notes.md", secrets);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).not.toContain(KEY);
  for (const value of Object.values(secrets)) expect(result.stdout).not.toContain(value);
  const message = result.stdout.slice("---COMMIT_MSG---\n".length, result.stdout.indexOf("\n---PATCH---\n"));
  expect(message).toStartWith("docs: add notes\n\nThe server said OPENAI_API_KEY=");
  expect(message).toEndWith("\n\nTracking-Breadcrumb: JIRA-7");
  for (const text of ["diff --git", "+++", "@@", "index 0000000", "Signed-off-by", "FAKE-", "Co-authored-by", "\n---"])
    expect(message).not.toContain(text);
  const trailers = Bun.spawnSync(["git", "interpret-trailers", "--parse"], { env: testGitEnv(), stdin: Buffer.from(message) });
  expect(trailers.stdout.toString()).toBe("Tracking-Breadcrumb: JIRA-7\n");
  // The whole output given to git apply, as a script might: only the patch's own file comes in.
  const clone = join(dir, "clone");
  gitSync(dir, ["clone", "--quiet", repo.dir, clone]);
  writeFileSync(join(dir, "out.txt"), result.stdout);
  const applied = Bun.spawnSync(["git", "apply", join(dir, "out.txt")], { cwd: clone, env: testGitEnv(), stderr: "pipe" });
  expect(applied.exitCode).toBe(0);
  expect(gitSync(clone, ["status", "--porcelain"]).trim()).toBe("?? notes.md");
}, 30_000);

test("item 7: a context file under a linked folder of the context root is refused (exit 2); nothing of it reaches the model", async () => {
  const before = server.requests.length;
  const result = await orgPatch("through-link.md");
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain("context file sub/passwd cannot be read");
  expect(result.stderr).toContain("sub is a symbolic link");
  expect(server.requests.length).toBe(before);
}, 30_000);

test("item 2: org patch never prints a chain of '.' links that leaves the repository; the refusal is a broken contract (exit 4)", async () => {
  const result = await orgPatch("links.md");
  // Newcomer review, item 5: a change refused as it is made is told to the model, which gets its repair rounds; then
  // exit 4, never 5 ("nothing to change", which CI reads as nothing to do).
  expect(result.exitCode).toBe(4);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain('"rc": a link to "s/s/s/../../../root/.bashrc", which leads outside the workspace through the links on its way');
  expect(result.stderr).toContain("repair round 1 of 2: the agent is told what broke");
  expect(result.stderr).toContain("repair round 2 of 2: the agent is told what broke");
  expect(result.stderr).toContain("the result broke the task's contract after the repair rounds");
}, 30_000);

test("newcomer item 5: a command that also writes .env is refused whole; told why, the model's repair is the patch (exit 0), or there is none (exit 4)", async () => {
  const fixed = await orgPatch("env-and-notes.md");
  expect(fixed.stderr).toContain('".env": a protected path');
  expect(fixed.stderr).toContain("repair round 1 of 2: the agent is told what broke");
  expect(fixed.exitCode).toBe(0);
  expect(fixed.stdout).toContain("+++ b/notes.md");
  expect(fixed.stdout).not.toContain(".env");
  const told = server.requests.find((request) =>
    (request.body as { messages?: { role: string; content: string }[] } | null)?.messages?.some(
      (message) => message.role === "user" && message.content.includes("your command's change was refused, and nothing of it was kept"),
    ),
  );
  expect(told).toBeDefined();
  const unfixed = await orgPatch("env-only.md");
  expect(unfixed.exitCode).toBe(4);
  expect(unfixed.stdout).toBe("");
  expect(unfixed.stderr).toContain("nothing is left to patch: the change you made was refused");
}, 60_000);

test("item 4: org patch's agent sees no secret file of the repository, and cannot replace the folder that holds one", async () => {
  const result = await orgPatch("secrets.md");
  expect(result.exitCode).toBe(0);
  for (const text of [
    "patch-secret-value-42",
    Buffer.from("DB_PASSWORD=patch-secret-value-42\n").toString("base64").slice(0, 20),
    "24-eulav-terces",
    "patch-key-material",
  ]) {
    expect(result.stdout).not.toContain(text);
  }
  expect(result.stdout).toContain("+++ b/leak.txt");
  expect(result.stdout).not.toContain("b/conf");
  expect(result.stderr).toContain('"conf" was not written: it is a folder that still holds files');
}, 30_000);
