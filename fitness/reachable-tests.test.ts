import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dealByDuration, recordedDurations, runReachableTests } from "./reachable-tests.ts";

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

test("the tests stage deals files by their recorded durations, so no process ends long after the others", () => {
  const durations = new Map([
    ["a.test.ts", 9000],
    ["b.test.ts", 8000],
    ["c.test.ts", 5000],
    ["d.test.ts", 4000],
    ["e.test.ts", 1000],
    ["f.test.ts", 1000],
  ]);
  const files = [...durations.keys()];
  const total = (share: string[]) => share.reduce((sum, file) => sum + (durations.get(file) ?? 0), 0);
  // Dealt in turn by name the heaviest share is a + d = 13 s; by duration none passes 10 s.
  const shares = dealByDuration(files, durations, 3);
  expect(shares.map(total).sort((x, y) => y - x)).toEqual([10000, 9000, 9000]);
  expect(shares.flat().sort()).toEqual(files);
  // A file the table lacks weighs the median of those it has (200 here): with 300, 200, 200, 100 the two shares weigh 400 each.
  expect(
    dealByDuration(
      ["x.test.ts", "y.test.ts", "z.test.ts", "new.test.ts"],
      new Map([
        ["x.test.ts", 100],
        ["y.test.ts", 300],
        ["z.test.ts", 200],
      ]),
      2,
    ),
  ).toEqual([
    ["x.test.ts", "y.test.ts"],
    ["new.test.ts", "z.test.ts"],
  ]);
  expect(dealByDuration(["only.test.ts"], new Map(), 4)).toEqual([["only.test.ts"]]);
});

test("the durations come from a readable table, and a missing or malformed one weighs every file the same", () => {
  const directory = mkdtempSync(join(tmpdir(), "org-timings-"));
  try {
    const table = join(directory, "test-timings.json");
    writeFileSync(table, JSON.stringify({ version: 1, files: { "a.test.ts": 1200 } }));
    expect([...recordedDurations(table)]).toEqual([["a.test.ts", 1200]]);
    writeFileSync(table, JSON.stringify({ version: 1, files: { "a.test.ts": -5 } }));
    expect(recordedDurations(table).size).toBe(0);
    writeFileSync(table, "not json");
    expect(recordedDurations(table).size).toBe(0);
    expect(recordedDurations(join(directory, "absent.json")).size).toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
