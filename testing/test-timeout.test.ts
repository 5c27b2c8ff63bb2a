import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const directory = mkdtempSync(join(tmpdir(), "org-test-timeout-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/**
 * What follows `bun test` in `npm test` (testing/npm-test.sh), as the shell reads it (the worker count is computed
 * there), its preload named from anywhere.
 */
function npmTestArguments(): string {
  const script = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: { test: string } }).scripts.test;
  expect(script).toBe("sh testing/npm-test.sh");
  const command = readFileSync(join(REPO, "testing", "npm-test.sh"), "utf8")
    .split("\n")
    .find((line) => /(^|\s)bun test\s/.test(line));
  if (!command) throw new Error("testing/npm-test.sh does not run bun test");
  return command.slice(command.indexOf("bun test") + "bun test".length).replaceAll(" ./testing/", ` ${join(REPO, "testing")}/`);
}

test("npm test gives each test more than Bun's 5 s default, where Bun reads it", async () => {
  // A test that takes 5.5 s: under Bun's default it times out; under npm test's settings it passes.
  writeFileSync(join(directory, "slow.test.ts"), 'import { test } from "bun:test";\ntest("slow", () => Bun.sleep(5_500));\n');
  const child = Bun.spawn(["/bin/sh", "-c", `"$0" test ${npmTestArguments()}`, process.execPath], { cwd: directory, stdout: "pipe", stderr: "pipe" });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(stderr).toContain("1 pass");
  expect(exitCode).toBe(0);
}, 30_000);
