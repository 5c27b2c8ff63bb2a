import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { removeAbandonedRuns } from "./abandoned-runs.ts";

describe("folders a killed toolsmith left", () => {
  test("only those of dead owners are removed; anything else under .org/toolsmith/ stays", () => {
    using repo = tempGitRepo();
    const root = join(repo.dir, ".org", "toolsmith");
    const dead = Bun.spawnSync(["/bin/true"]).pid;
    for (const name of [`run-${dead}-0badc0de`, `tool-run-${dead}-00c0ffee`, `run-${process.ppid}-12345678`, "notes"]) {
      mkdirSync(join(root, name, "scratch"), { recursive: true });
      writeFileSync(join(root, name, "scratch", "f"), "x");
    }
    expect(removeAbandonedRuns(repo.dir).sort()).toEqual([`run-${dead}-0badc0de`, `tool-run-${dead}-00c0ffee`]);
    expect(existsSync(join(root, `run-${process.ppid}-12345678`))).toBe(true);
    expect(existsSync(join(root, "notes"))).toBe(true);
  });
});
