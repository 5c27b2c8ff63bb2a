// `org patch` end to end (issue 31, item 4): a real process, the scripted model server on 127.0.0.1, the real
// sandbox, real git repositories in temp dirs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOrgProcess } from "../testing/org-process.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { checkoutState, gitSync, tempGitRepo, testGitEnv } from "../testing/temp-git-repo.ts";

const repo = tempGitRepo("org-patch-repo-");
const dir = mkdtempSync(join(tmpdir(), "org-patch-test-"));
let server: ScriptedServer;

/** The edit a small model makes: sed -i, a heredoc, rm. */
const EDIT = "sed -i 's/hello/hello, world/' src/greet.py && rm old.txt && cat > config.json <<'EOF'\n{\"greeting\": \"world\"}\nEOF";

beforeAll(async () => {
  mkdirSync(join(repo.dir, "src"));
  writeFileSync(join(repo.dir, "src", "greet.py"), "def greet():\n    return 'hello'\n");
  writeFileSync(join(repo.dir, "old.txt"), "to be removed\n");
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "the project"]);
  mkdirSync(join(dir, "context"));
  writeFileSync(join(dir, "context", "notes.md"), "The greeting names the world.\n");
  const block = (prompt: string, outputs: string[]) =>
    `# A task\n\n\`\`\`yaml\nprompt: ${JSON.stringify(prompt)}\ncontext: [notes.md]\noutputs: ${JSON.stringify(outputs)}\nguarantees:\n  - config.json is valid JSON\n  - the tests keep passing\n\`\`\`\n`;
  writeFileSync(join(dir, "greet.md"), block("Make greet say {WHO}, drop old.txt, add config.json", ["src/*.py", "old.txt", "config.json"]));
  writeFileSync(join(dir, "outside.md"), block("Make greet say hello, world (outside)", ["src/*.py"]));
  writeFileSync(join(dir, "broken.md"), "# A task\n\nprompt: no yaml block here\n");
  server = await startScriptedServer({
    script: {
      models: ["qwen3:8b"],
      rules: [
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "^Make greet say" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: EDIT } }] },
        },
        // Told what broke, it makes the same mistake again, as a small model may.
        {
          when: { persona: "agent", lastRole: "user", lastMessage: "breaks the task's contract" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo again >> old.txt" } }] },
        },
        {
          when: { persona: "agent", lastRole: "tool" },
          reply: { text: "feat: greet the world\n\nThe greeting names the world; config.json holds it.\n---PATCH---" },
        },
      ],
    },
  });
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  repo[Symbol.dispose]();
  rmSync(dir, { recursive: true, force: true });
});

/** Every entry under `dir`, `.git/` included, with its mode, size, mtime and bytes: any write shows. */
function treeState(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const stat = lstatSync(join(dir, path));
    const line = `${path} ${stat.mode} ${stat.size} ${stat.mtimeMs}`;
    if (entry.isDirectory()) return [line, ...treeState(dir, path)];
    return [entry.isFile() ? `${line} ${Bun.hash(readFileSync(join(dir, path)))}` : line];
  });
}

async function orgPatch(args: string[], env: Record<string, string>) {
  return await runOrgProcess(["patch", "--repo", repo.dir, "--context", join(dir, "context"), ...args], {
    cwd: dir,
    env: { LLM_PROVIDER: "ollama", LLM_MODEL: "qwen3:8b", LLM_BASE_URL: server.url, TRACKING_BREADCRUMB: "JIRA-7", ...env },
  });
}

test("a task's patch applies with git apply in a clean clone and yields the expected files; the repository is not written", async () => {
  const before = checkoutState(repo.dir);
  const tree = treeState(repo.dir);
  const result = await orgPatch(["--task", join(dir, "greet.md"), "--var", "WHO=hello, world"], {});
  expect(result.exitCode).toBe(0);
  const [head, diff] = result.stdout.split("\n---PATCH---\n");
  expect(head).toBe("---COMMIT_MSG---\nfeat: greet the world\n\nThe greeting names the world; config.json holds it.\n\nTracking-Breadcrumb: JIRA-7");
  expect(diff).toStartWith("diff --git ");
  // Nothing under the repository was written, not even org's own `.org/`: it may be mounted read-only.
  // (Before git status below, which may refresh the index itself.)
  expect(treeState(repo.dir)).toEqual(tree);
  expect(checkoutState(repo.dir)).toBe(before);
  // The breadcrumb is in the audit line of the tool call; every completion asked for temperature 0 and a seed.
  expect(result.stderr).toMatch(/audit: \{.*"tool":"sh".*"breadcrumb":"JIRA-7"/);
  const chats = server.requests.filter((request) => request.path === "/v1/chat/completions");
  expect(chats.length).toBe(2);
  for (const request of chats) expect(request.body).toMatchObject({ temperature: 0, seed: 42 });
  expect(JSON.stringify(chats[0]?.body)).toContain("The greeting names the world.");

  const clone = join(dir, "clone");
  gitSync(dir, ["clone", "--quiet", repo.dir, clone]);
  const applied = Bun.spawnSync(["git", "apply", "-"], { cwd: clone, env: testGitEnv(), stdin: Buffer.from(diff ?? ""), stderr: "pipe" });
  expect(applied.stderr.toString()).toBe("");
  expect(applied.exitCode).toBe(0);
  expect(readFileSync(join(clone, "src", "greet.py"), "utf8")).toBe("def greet():\n    return 'hello, world'\n");
  expect(existsSync(join(clone, "old.txt"))).toBe(false);
  expect(JSON.parse(readFileSync(join(clone, "config.json"), "utf8"))).toEqual({ greeting: "world" });
  expect(gitSync(clone, ["status", "--porcelain"]).split("\n").filter(Boolean).sort()).toEqual([" D old.txt", " M src/greet.py", "?? config.json"]);
}, 30_000);

test("a result outside the outputs is told to the model, and still outside after the repair rounds exits 4 with no patch", async () => {
  const result = await orgPatch(["--task", join(dir, "outside.md")], {});
  expect(result.exitCode).toBe(4);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("repair round 2 of 2");
  expect(result.stderr).toContain('"old.txt" was deleted, but it is not among the outputs (src/*.py)');
}, 30_000);

test("LLM_PROVIDER=null needs no server and exits 5; a dead server exits 3; a task without its yaml block exits 2; --dry-run asks no model", async () => {
  const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const deadUrl = `http://127.0.0.1:${dead.port}`;
  dead.stop(true);
  const [none, unreachable, broken, dry] = await Promise.all([
    orgPatch(["--task", join(dir, "greet.md"), "--var", "WHO=x"], { LLM_PROVIDER: "null", LLM_BASE_URL: deadUrl }),
    orgPatch(["--task", join(dir, "greet.md"), "--var", "WHO=x"], { LLM_BASE_URL: deadUrl }),
    orgPatch(["--task", join(dir, "broken.md")], {}),
    orgPatch(["--task", join(dir, "greet.md"), "--var", "WHO=the dry run", "--dry-run"], { LLM_BASE_URL: deadUrl }),
  ]);
  expect([none.exitCode, none.stdout]).toEqual([5, ""]);
  expect([unreachable.exitCode, unreachable.stdout]).toEqual([3, ""]);
  expect(unreachable.stderr).toContain(`no model server answered at ${deadUrl}`);
  expect(unreachable.stderr).toContain("it reads LLM_PROVIDER, LLM_BASE_URL, LLM_MODEL and LLM_API_KEY");
  expect([broken.exitCode, broken.stdout]).toEqual([2, ""]);
  expect(broken.stderr).toContain("has 0 yaml blocks; it needs exactly one");
  expect([dry.exitCode, dry.stdout]).toEqual([0, ""]);
  expect(dry.stderr).toContain("Make greet say the dry run");
}, 30_000);
