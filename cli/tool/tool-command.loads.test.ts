import { expect, test } from "bun:test";
import { modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { tempGitRepo } from "../../testing/temp-git-repo.ts";

// `org tool list` in a checkout with nothing to list is a folder read and one git process: its whole-process time is
// module loading. The toolsmith's, the registry's and the sandbox's code (and zod, 95 files) came along once with
// the other subcommands' help texts and `tool run`'s sandbox settings.
test("org tool list with no tools loads neither zod nor the sandbox nor another subcommand's code", async () => {
  using repo = tempGitRepo();
  const { stdout, exitCode, modules } = await modulesLoadedBy(["tool", "list", "--repo", repo.dir]);
  expect(exitCode).toBe(0);
  expect(stdout).toContain("no generated tools yet");
  expect(modules).toContain("cli/tool/tool-command.ts");
  const heavy = (path: string) =>
    path.startsWith("node_modules/") || path.startsWith("sandbox/") || /^cli\/tool\/tool-(new|search|stats)-command\.ts$/.test(path);
  expect(modules.filter(heavy)).toEqual([]);
});
