import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { runnerMounts, SANDBOX_BUN, SANDBOX_RUNNER, TOOLCHAIN_ENV, toolchainMounts } from "./sandbox-toolchain.ts";

const root = mkdtempSync(join(tmpdir(), "org-toolchain-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a tool's run mounts bun, the runner and zod only, each as the checking sandboxes mount it", () => {
  const run = runnerMounts();
  const all = toolchainMounts();
  for (const mount of run) expect(all).toContainEqual(mount);
  const targets = run.map((mount) => mount.target);
  expect(targets).toContain(SANDBOX_BUN);
  expect(targets).toContain(SANDBOX_RUNNER);
  expect(targets).toContain("/node_modules/zod");
  // Never the compiler, the test runners or the packages only tests and the typecheck read.
  expect(targets.filter((target) => /tsgo|isolated|preload|fast-check|pure-rand|@types|bun-types|undici/.test(target))).toEqual([]);
  expect(all.length).toBeGreaterThan(run.length);
});

test("inside a tool run's sandbox, /org and /node_modules hold exactly what runnerMounts names", async () => {
  const result = await runInTestSandbox({
    argv: ["/bin/sh", "-c", "ls -A /org /org/runner /node_modules"],
    scratchDir: join(root, "scratch"),
    readOnlyMounts: runnerMounts(),
    env: TOOLCHAIN_ENV,
  });
  expect(result).toMatchObject({ exitCode: 0, stderr: "" });
  const listed = new Map<string, string[]>();
  let folder = "";
  for (const line of result.stdout.split("\n")) {
    if (line.endsWith(":")) folder = line.slice(0, -1);
    else if (line !== "") listed.set(folder, [...(listed.get(folder) ?? []), line]);
  }
  const expected = (parent: string) =>
    [
      ...new Set(
        runnerMounts().flatMap(({ target }) => (target.startsWith(`${parent}/`) ? [target.slice(parent.length + 1).split("/")[0] ?? ""] : [])),
      ),
    ].sort();
  expect(Object.fromEntries([...listed].map(([name, entries]) => [name, entries.sort()]))).toEqual({
    "/org": expected("/org"),
    "/org/runner": expected("/org/runner"),
    "/node_modules": expected("/node_modules"),
  });
  expect(listed.get("/org")).not.toContain("tsgo");
  // zod's entry is the shim over the package, mounted after it, so `import "zod"` loads the bytecode bundle.
  const shim = runnerMounts().find(({ target }) => target === "/node_modules/zod/index.js");
  expect(shim).toBeDefined();
  const entry = await runInTestSandbox({
    argv: ["/bin/cat", "/node_modules/zod/index.js"],
    scratchDir: join(root, "scratch"),
    readOnlyMounts: runnerMounts(),
  });
  expect(entry.stdout).toStartWith('export * from "org-bundled-zod/');
  expect(entry.stdout).toBe(await Bun.file(shim?.source ?? "").text());
});
