import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxPolicy } from "./sandbox-policy.ts";
import { startSandboxedProcess } from "./sandboxed-process.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const dir = mkdtempSync(join(tmpdir(), "org-sandboxed-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const policy = sandboxPolicy({ poolSize: 0 });

test("a long-running sandboxed process talks over its pipes until killed, and nothing of it is left", async () => {
  const proc = await startSandboxedProcess({
    ...testSandboxAccess(),
    policy,
    argv: ["/bin/sh", "-c", 'while read -r line; do echo "got $line"; done'],
    scratchDir: join(dir, "echo"),
  });
  proc.stdin.write("hello\n");
  await proc.stdin.flush();
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toBe("got hello\n");
  reader.releaseLock();
  proc.kill("test over");
  expect(await proc.exited).toBeNull();
  expect(proc.killedFor).toBe("test over");
  await waitUntil("the launcher to be gone", () => !existsSync(`/proc/${proc.pid}`));
});

test("no network by default; with hosts, only those names resolve inside (no resolv.conf)", async () => {
  const script =
    "test -e /etc/resolv.conf && echo resolv || echo no-resolv; getent hosts allowed.test || echo no-allowed; getent hosts other.test || echo no-other";
  const run = async (hosts?: { name: string; addresses: string[] }[]) => {
    const proc = await startSandboxedProcess({
      ...testSandboxAccess(),
      policy,
      argv: ["/bin/sh", "-c", script],
      scratchDir: join(dir, "net"),
      ...(hosts ? { hosts } : {}),
    });
    proc.stdin.end();
    const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return out;
  };
  expect(await run()).toBe("no-resolv\nno-allowed\nno-other\n");
  // Its own network namespace: loopback is the only interface.
  const interfaces = await startSandboxedProcess({
    ...testSandboxAccess(),
    policy,
    argv: ["/bin/sh", "-c", "grep -c : /proc/net/dev"],
    scratchDir: join(dir, "net"),
  });
  interfaces.stdin.end();
  expect(await new Response(interfaces.stdout).text()).toBe("1\n");
  const allowed = await run([{ name: "allowed.test", addresses: ["192.0.2.7"] }]);
  expect(allowed).toMatch(/^no-resolv\n192\.0\.2\.7 +allowed\.test\nno-other\n$/);
});

test("a policy with the sandbox off refuses to start it rather than run it on the host", async () => {
  await expect(
    startSandboxedProcess({ ...testSandboxAccess(), policy: sandboxPolicy({ enabled: false }), argv: ["/bin/true"], scratchDir: join(dir, "off") }),
  ).rejects.toThrow("the sandbox is off (ORG_SANDBOX=off)");
});
