import { describe, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { checkoutState, gitSync, tempGitRepo } from "../../testing/temp-git-repo.ts";
import { countWorkflowWorkspace } from "../../testing/count-workflow.ts";
import { toolsmithRules, WORD_COUNT } from "../../testing/toolsmith-fixtures.ts";

async function org(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const proc = Bun.spawn(orgCommand(args), { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin", ...env }, ...(cwd ? { cwd } : {}) });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

describe("org tool (real process, scripted server, real sandbox, throw-away repo)", () => {
  test("tool new → tool list → tool show → tool run; the final JSON line has exactly the promised keys", async () => {
    using repo = tempGitRepo();
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT) } });
    const before = checkoutState(repo.dir);

    const made = await org(["tool", "new", "--goal", WORD_COUNT.goal, "--json", "--repo", repo.dir], { OLLAMA_BASE: server.url });
    expect(made.exitCode).toBe(0);
    const line = JSON.parse(made.stdout.trim().split("\n").at(-1) ?? "");
    expect(Object.keys(line).sort()).toEqual(["attempts", "branch", "commit", "name", "ok"]);
    expect(line).toMatchObject({ ok: true, name: "word_count", attempts: 3 });
    expect(made.stderr).toContain("✓ spec: word_count");
    expect(made.stderr).toContain("validation 6/6: determinism");
    expect(made.stderr).toContain(`✓ branch ${line.branch}`);
    expect(checkoutState(repo.dir).replace(`refs/heads/${line.branch} ${line.commit}\n`, "")).toBe(before);

    const listed = await org(["tool", "list", "--json", "--repo", repo.dir]);
    expect(JSON.parse(listed.stdout)).toEqual([
      { name: "word_count", status: "candidate", branch: line.branch, description: WORD_COUNT.spec.description },
    ]);

    const shown = await org(["tool", "show", "word_count", "--ref", line.branch, "--repo", repo.dir]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain("mutants caught");
    expect(shown.stdout).toContain("export default function wordCount");

    const ran = await org(["tool", "run", "word_count", "--ref", line.branch, "--inputs", '{"text":"one two three four"}', "--repo", repo.dir]);
    expect(ran).toMatchObject({ exitCode: 0, stdout: '{"words":4}\n' });

    const refused = await org(["tool", "run", "word_count", "--ref", line.branch, "--inputs", '{"text":5}', "--repo", repo.dir]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("does not match the tool's input schema");
  }, 90_000);

  test("a failed run prints ok:false with the failure, exits 1 and leaves no branch", async () => {
    using repo = tempGitRepo();
    const broken = WORD_COUNT.tool.replace('import { z } from "zod";', 'import { z } from "zod";\nimport { readFileSync } from "node:fs";');
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT, { tools: [broken] }) } });
    const made = await org(["tool", "new", "--goal", WORD_COUNT.goal, "--json", "--repo", repo.dir, "--base-url", server.url]);
    expect(made.exitCode).toBe(1);
    const line = JSON.parse(made.stdout.trim().split("\n").at(-1) ?? "");
    expect(Object.keys(line).sort()).toEqual(["attempts", "failure", "name", "ok"]);
    expect(line.failure).toMatch(/failed the policy stage after 3 repair rounds: tool.ts:2:1: imports "node:fs"/);
    expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
  }, 90_000);

  test("--config's toolsmith section reaches the pipeline: coverage 0.95 refuses tests that cover less", async () => {
    using repo = tempGitRepo();
    const configDir = mkdtempSync(join(tmpdir(), "org-tool-config-"));
    try {
      const configFile = join(configDir, "org.config.json");
      writeFileSync(configFile, JSON.stringify({ toolsmith: { coverage: 0.95, testRepairs: 0, implementationRepairs: 0 } }));
      // Tests that never give the empty text: its return line is the one left uncovered.
      const tool = WORD_COUNT.tool.replace('if (trimmed === "") return { words: 0 };', 'if (trimmed === "") {\n    return { words: 0 };\n  }');
      const tests = `import { expect, test } from "bun:test";\nimport wordCount from "./tool.ts";\ntest("words", () => {\n  expect(wordCount({ text: "one two three" })).toEqual({ words: 3 });\n  expect(() => wordCount({ text: 5 })).toThrow();\n});\n`;
      await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT, { tools: [tool], tests: [tests] }) } });
      const made = await org(["tool", "new", "--goal", WORD_COUNT.goal, "--json", "--repo", repo.dir, "--config", configFile], {
        OLLAMA_BASE: server.url,
      });
      expect(made.exitCode).toBe(1);
      const { failure } = JSON.parse(made.stdout.trim().split("\n").at(-1) ?? "");
      expect(failure).toMatch(/failed the tests stage after 0 tests repair rounds: the tests cover \d+ % of the lines of tool.ts; at least 95 %/);
      // Enough for the default 80 %: only the configured threshold refused them.
      expect(Number(/cover (\d+) %/.exec(failure)?.[1])).toBeGreaterThanOrEqual(80);
      expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("with the sandbox turned off the toolsmith refuses to validate, and no model is asked", async () => {
    using repo = tempGitRepo();
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT) } });
    const made = await org(["tool", "new", "--goal", WORD_COUNT.goal, "--json", "--repo", repo.dir], { OLLAMA_BASE: server.url, ORG_SANDBOX: "off" });
    expect(made.exitCode).toBe(1);
    expect(JSON.parse(made.stdout.trim())).toEqual({ ok: false, attempts: 0, failure: expect.stringContaining("ORG_SANDBOX=off") });
    // Only the server's model list was read (is anyone there?); no model was asked anything.
    expect(server.requests.filter((request) => request.path !== "/v1/models")).toHaveLength(0);
  }, 30_000);

  test("before promotion: the Try it line runs as printed, show finds the candidate, a workflow uses it with --ref", async () => {
    using repo = tempGitRepo();
    // A first example whose input needs quoting: a quote, a dollar and a backslash-n the shell must not touch.
    const spec = {
      ...WORD_COUNT.spec,
      examples: [{ input: { text: "it's $HOME\\n `x`" }, output: { words: 3 } }, ...(WORD_COUNT.spec.examples as unknown[]).slice(1)],
    };
    await using server = await startScriptedServer({ script: { rules: toolsmithRules(WORD_COUNT, { specs: [spec] }) } });
    const made = await org(["tool", "new", "--goal", WORD_COUNT.goal, "--repo", repo.dir], { OLLAMA_BASE: server.url });
    expect(made.exitCode).toBe(0);
    // A repository that is no org checkout gets its candidate, and is told first that it can never be promoted there.
    expect(made.stderr.split("\n")[0]).toBe(
      `note: ${repo.dir} is not a checkout of org (it has no bin/org, ops/start-current.sh, package.json), so no gate can judge or promote a candidate made there; it can be tried with 'tool run --ref'. Leave out --repo to grow this checkout's tools.`,
    );
    const [, branch, command] = /^word_count is on (cand\/\d{8}T\d{6}Z)\. Try it: (.+)$/m.exec(made.stdout) ?? [];
    expect(command).toEndWith(`tool run word_count --ref ${branch} --repo ${repo.dir} --inputs '{"text":"it'\\''s $HOME\\\\n \`x\`"}'`);
    expect(command).not.toContain("…");
    const tried = Bun.spawn(["/bin/sh", "-c", command as string], {
      cwd: tmpdir(),
      env: { PATH: "/usr/bin:/bin", HOME: repo.dir },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: 90_000,
    });
    const [triedOut, triedErr] = await Promise.all([new Response(tried.stdout).text(), new Response(tried.stderr).text(), tried.exited]);
    expect({ code: tried.exitCode, stdout: triedOut, stderr: triedErr }).toEqual({
      code: 0,
      stdout: '{"words":3}\n',
      stderr: "",
    });

    // Without --ref, show finds the candidate and says which branch and which --ref; run points at --ref.
    const shown = await org(["tool", "show", "word_count", "--repo", repo.dir]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout.split("\n")[0]).toBe(
      `word_count is not promoted; candidate on ${branch} (org tool show word_count --ref ${branch} --repo ${repo.dir}; run it with org tool run word_count --ref ${branch} --repo ${repo.dir} --inputs JSON)`,
    );
    expect(shown.stdout).toContain("export default function wordCount");
    const unref = await org(["tool", "run", "word_count", "--inputs", '{"text":"a"}', "--repo", repo.dir]);
    expect(unref).toMatchObject({ exitCode: 1, stderr: `org: word_count is not promoted; it is a candidate on ${branch}: add --ref ${branch}\n` });
    const missing = await org(["tool", "show", "line_count", "--repo", repo.dir]);
    expect(missing).toMatchObject({
      exitCode: 1,
      stderr: "org: no tool line_count: it is not promoted and no cand/* branch has it; see org tool list\n",
    });

    // A workflow in another workspace runs the candidate's tool with --ref, and cannot without it.
    const workspace = countWorkflowWorkspace("org-tool-workflow-");
    try {
      const withRef = await org(
        ["workflow", "run", "count.json", "--inputs", '{"text":"one two three four five"}', "--json", "--ref", branch as string, "--repo", repo.dir],
        {},
        workspace,
      );
      expect(withRef).toMatchObject({ exitCode: 0, stdout: '{"words":5}\n', stderr: "" });
      const checked = await org(["workflow", "check", "count.json", "--ref", branch as string, "--repo", repo.dir], {}, workspace);
      expect(checked).toMatchObject({ exitCode: 0, stdout: "ok: count.json can run — 1 step; tools: word_count; nested workflows: none\n" });
      // Without --ref the running checkout's promoted tools are offered instead: cli/workflow/workflow-without-ref.test.ts.
      const badRef = await org(["workflow", "run", "count.json", "--ref", "cand/20990101T000000Z", "--repo", repo.dir], {}, workspace);
      expect(badRef).toMatchObject({ exitCode: 1, stderr: `org: no branch cand/20990101T000000Z in ${repo.dir}; see org tool list\n` });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }, 120_000);

  test("wrong words are usage errors", async () => {
    const noGoal = await org(["tool", "new", "--json"]);
    expect(noGoal.exitCode).toBe(2);
    expect(noGoal.stderr).toContain("tool new needs --goal");
    const badRef = await org(["tool", "run", "word_count", "--inputs", "{}", "--ref", "--upload-pack=x"]);
    expect(badRef.exitCode).toBe(2);
    const badName = await org(["tool", "show", "../etc"]);
    expect(badName.exitCode).toBe(2);
    expect(badName.stderr).toContain("is not a tool name");
  }, 30_000);
});
