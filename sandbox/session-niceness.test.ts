import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SANDBOX_NICENESS } from "./bwrap-argv.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { readSessionNiceness } from "./session-niceness.ts";

const root = mkdtempSync(join(tmpdir(), "org-session-niceness-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Prints the session's niceness once it is at least the sandbox's, or what it still is after 10 s.
const AWAIT_NICED = `n=0; read -r _ _ v < /proc/self/autogroup; while [ $v -lt ${SANDBOX_NICENESS} ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); read -r _ _ v < /proc/self/autogroup; done; echo $v`;

describe.skipIf(!existsSync("/proc/self/autogroup"))("the sandbox's session niceness (kernel autogroups)", () => {
  // The test's own process may sit in the boot session's group, which the kernel shows as an empty file, so
  // the process read here starts a session of its own, as bwrap's --new-session does.
  test("reads a process's session group and its niceness", async () => {
    const child = Bun.spawn(["sleep", "30"], { detached: true, stdio: ["ignore", "ignore", "ignore"] });
    try {
      const session = readSessionNiceness(child.pid);
      expect(session?.group).toMatch(/^\d+$/);
      expect(session?.niceness).toBe(0);
      expect(session?.group).not.toBe(readSessionNiceness(process.pid)?.group);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    expect(readSessionNiceness(2 ** 22 + 1)).toBeUndefined();
  });

  test("a sandbox's session is made nicer than org's, and stays so when the sandbox tries to lower it or starts a new session", async () => {
    const result = await runInTestSandbox({
      argv: ["/bin/sh", "-c", `${AWAIT_NICED}; { echo 0 > /proc/self/autogroup; } 2>/dev/null; ${AWAIT_NICED}; setsid -w sh -c '${AWAIT_NICED}'`],
      scratchDir: join(root, "scratch"),
      timeoutMs: 25_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`${SANDBOX_NICENESS}\n${SANDBOX_NICENESS}\n${SANDBOX_NICENESS}\n`);
  }, 30_000);
});
