import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { modulesLoadedBy } from "../testing/loaded-modules.ts";

const CHECKOUT = join(import.meta.dir, "..");

// `org --help` and `org --version` are bun's start and little more: every module they load is paid by the first thing
// a newcomer types. node:fs and node:path together once cost them a third of their time (loaded by the checkout's
// paths and the version), and the command table with the code that runs a command another third.
const VERSION: string = JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")).version;
const LAUNCHER_CHECK = ["cli/quick-answer.ts", "config/org-bun-command.ts", "config/workspace-paths.ts", "main.ts"];

for (const [args, printed, own] of [
  [["--help"], "Usage: org [command] [options]", ["cli/main-help.ts", "cli/command/command-summaries.ts"]],
  [["-h"], "Usage: org [command] [options]", ["cli/main-help.ts", "cli/command/command-summaries.ts"]],
  [["help"], "Usage: org [command] [options]", ["cli/main-help.ts", "cli/command/command-summaries.ts"]],
  [["--version"], VERSION, ["config/version.ts", "package.json"]],
  [["-v"], VERSION, ["config/version.ts", "package.json"]],
] satisfies [string[], string, string[]][]) {
  test(`org ${args.join(" ")} loads only its answer and the launcher's check, and none of them imports a node: module`, async () => {
    const { stdout, exitCode, modules } = await modulesLoadedBy(args);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(printed);
    expect(modules.toSorted()).toEqual([...LAUNCHER_CHECK, ...own].toSorted());
    // Dynamic imports (`await import("node:fs")`) are left for the paths that need them.
    const staticNodeImports = modules.filter((path) => /^import [^;]*from "node:/m.test(readFileSync(join(CHECKOUT, path), "utf8")));
    expect(staticNodeImports).toEqual([]);
  });
}

test("'help COMMAND' goes on to the command table and the command", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(["help", "undo"]);
  expect(exitCode).toBe(0);
  expect(stdout).toContain("Usage: org undo");
  expect(modules).toContain("cli/command-table.ts");
  expect(modules).toContain("cli/undo-command.ts");
});
