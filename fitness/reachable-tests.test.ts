import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runReachableTests } from "./reachable-tests.ts";

test("the gate's bun test takes no .env and no bunfig.toml from the candidate's worktree", async () => {
  const worktree = mkdtempSync(join(tmpdir(), "org-reachable-"));
  const marker = join(worktree, "preloaded");
  try {
    writeFileSync(join(worktree, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    writeFileSync(
      join(worktree, "loader.test.ts"),
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("no planted env", () => {\n  expect(process.env.ORG_PLANTED).toBeUndefined();\n  expect(GENERATED_DIR).toBe("tools/generated");\n});\n',
    );
    writeFileSync(join(worktree, ".env"), "ORG_PLANTED=1\n");
    writeFileSync(join(worktree, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
    writeFileSync(join(worktree, "bunfig.toml"), 'preload = ["./preload.ts"]\n[test]\npreload = ["./preload.ts"]\n');
    const check = await runReachableTests(worktree, process.execPath, 60_000);
    expect(check.figures).toMatchObject({ ran: ["loader.test.ts"], passed: 1, failed: 0 });
    expect(check.ok).toBe(true);
    expect(existsSync(marker)).toBe(false);
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
});
