// npm test's own temp folder (testing/npm-test.sh): the run gets one folder as TMPDIR and removes it when the run ends,
// after a pass, a failure or a SIGTERM, since what the test processes make in it (ORG_HOME, a tmux server's
// folder) would otherwise stay. The script runs as it is, with bun, tsgo and biome stand-ins first on PATH.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "./wait-until.ts";

const REPO = join(import.meta.dir, "..");
const scratch = mkdtempSync(join(tmpdir(), "org-npm-test-scratch-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the script with stand-ins: bun records the TMPDIR it got, writes in it, then passes, fails or waits. */
function setUp(name: string, bun: "pass" | "fail" | "wait"): { dir: string; base: string; said: string; env: Record<string, string> } {
  const dir = join(scratch, name);
  const base = join(dir, "tmp");
  const said = join(dir, "said");
  mkdirSync(join(dir, "testing"), { recursive: true });
  mkdirSync(join(dir, "bin"));
  mkdirSync(base);
  for (const file of ["npm-test.sh", "test-tmpdir.sh"]) copyFileSync(join(REPO, "testing", file), join(dir, "testing", file));
  writeFileSync(join(dir, "testing", "where-it-runs.files"), "some/file.test.ts\n");
  const tail = { pass: "exit 0", fail: "exit 1", wait: 'touch "$SAID.ready"; exec sleep 60' }[bun];
  const stand = {
    bun: `#!/bin/sh\nprintf '%s\\n' "$TMPDIR" > "$SAID"\nmkdir "$TMPDIR/org-home-abc" && echo x > "$TMPDIR/org-home-abc/confirmed"\n${tail}\n`,
    tsgo: "#!/bin/sh\nexit 0\n",
    biome: "#!/bin/sh\nexit 0\n",
  };
  for (const [command, text] of Object.entries(stand)) {
    writeFileSync(join(dir, "bin", command), text);
    chmodSync(join(dir, "bin", command), 0o755);
  }
  const env = { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, ORG_TEST_TMPDIR: base, TMPDIR: base, SAID: said, ORG_TEST_RUN: "" };
  return { dir, base, said, env };
}

test("the run's temp folder is bun's TMPDIR, and gone after a pass and after a failure", async () => {
  for (const bun of ["pass", "fail"] as const) {
    const { dir, base, said, env } = setUp(bun, bun);
    const child = Bun.spawn(["sh", "testing/npm-test.sh"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
    const code = await child.exited;
    expect(code).toBe(bun === "pass" ? 0 : 1);
    const folder = readFileSync(said, "utf8").trim();
    expect(folder.startsWith(join(base, "org-test-run-"))).toBe(true);
    expect(existsSync(folder)).toBe(false);
    expect(readdirSync(base)).toEqual([]);
  }
}, 30_000);

test("the folder is open to the sandbox's user as a temp dir is (sticky) while the run lasts, and a SIGTERM removes it too", async () => {
  const { dir, base, said, env } = setUp("killed", "wait");
  const child = Bun.spawn(["setsid", "sh", "testing/npm-test.sh"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  await waitUntil("the bun stand-in to start", () => existsSync(`${said}.ready`), 20_000);
  const folder = readFileSync(said, "utf8").trim();
  expect(statSync(folder).mode & 0o7777).toBe(0o1777);
  // The whole group, as a terminal's Ctrl-C or a CI's timeout reaches it.
  process.kill(-child.pid, "SIGTERM");
  expect(await child.exited).not.toBe(0);
  expect(existsSync(folder)).toBe(false);
  expect(readdirSync(base)).toEqual([]);
}, 30_000);
