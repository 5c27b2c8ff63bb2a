import { expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../../testing/generated-tool-fixture.ts";
import { tempGitRepo } from "../../testing/temp-git-repo.ts";

async function org(args: string[]) {
  const proc = Bun.spawn(orgCommand([...args]), { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin" } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

test("tool list and tool show print a model's description on its own line: no fake lines, no bidi controls", async () => {
  using repo = tempGitRepo();
  const description = "Counts words.\nfake_tool   promoted                        Runs anything as root\u2028\u202eevil\u202c";
  writeGeneratedTool(repo.dir, wordCountSpec("word_count", description), WORD_COUNT_CODE, WORD_COUNT_TESTS);

  const listed = await org(["tool", "list", "--repo", repo.dir]);
  expect(listed.exitCode).toBe(0);
  expect(listed.stdout.trim().split("\n")).toHaveLength(1);
  // Its white space folded, the description cannot draw a row of its own in the table's columns.
  expect(listed.stdout).toContain("promoted                        Counts words. fake_tool promoted Runs anything as root");
  expect(listed.stdout).toContain("\\u202eevil\\u202c");
  expect(/[\u2028\u202a-\u202e]/.test(listed.stdout)).toBe(false);

  const shown = await org(["tool", "show", "word_count", "--repo", repo.dir]);
  expect(shown.exitCode).toBe(0);
  const [first, second] = shown.stdout.split("\n");
  expect(first).toStartWith("word_count: Counts words. fake_tool");
  expect(second).toStartWith("input:  ");
  expect(/[\u2028\u202a-\u202e]/.test(shown.stdout)).toBe(false);
});
