import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { modulesLoadedBy } from "../testing/loaded-modules.ts";

const CHECKOUT = join(import.meta.dir, "..");

// `org --help` is bun's start and little more: every module it loads is paid by the first thing a newcomer types.
// node:fs and node:path together once cost it a third of its time (loaded by the checkout's paths and the version).
test("org --help loads only the command table and the launcher's check, and none of them imports a node: module", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(["--help"]);
  expect(exitCode).toBe(0);
  expect(stdout).toContain("Usage: org [command] [options]");
  expect(modules.toSorted()).toEqual([
    "cli/command-table.ts",
    "cli/command/command-summaries.ts",
    "cli/command/command.ts",
    "cli/org-main.ts",
    "cli/run-org.ts",
    "cli/sandbox-command-entry.ts",
    "config/org-bun-command.ts",
    "config/workspace-paths.ts",
    "main.ts",
  ]);
  // Dynamic imports (`await import("node:fs")`) are left for the paths that need them.
  const staticNodeImports = modules.filter((path) => /^import [^;]*from "node:/m.test(readFileSync(join(CHECKOUT, path), "utf8")));
  expect(staticNodeImports).toEqual([]);
});
