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

test("no network by default; with hosts, its only way out is an egress guard that lets it reach those hosts alone", async () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from allowed\n") });
  try {
    const run = async (script: string, hosts?: string[]) => {
      const proc = await startSandboxedProcess({
        ...testSandboxAccess(),
        policy,
        argv: ["/bin/sh", "-c", script],
        scratchDir: join(dir, "net"),
        ...(hosts ? { hosts } : {}),
        egressSeams: { resolver: async () => ["127.0.0.1"], treatAsPublic: new Set(["127.0.0.1"]), ports: [port] },
      });
      proc.stdin.end();
      const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      return out;
    };
    const port = server.port ?? 0;
    // Its own network namespace: loopback is the only interface, with hosts or without.
    const reach = [
      "grep -c : /proc/net/dev",
      "env | grep -c -i _proxy=",
      `curl -sS --max-time 5 http://allowed.test:${port}/ || echo no-allowed`,
      `curl -sS --max-time 5 http://other.test:${port}/ || echo no-other`,
      `curl -sS --max-time 3 --noproxy '*' http://127.0.0.1:${port}/ || echo no-direct`,
    ].join("; ");
    expect(await run(reach)).toBe("1\n0\nno-allowed\nno-other\nno-direct\n");
    const allowed = await run(reach, ["allowed.test"]);
    expect(allowed).toStartWith(`1\n6\nhello from allowed\norg's egress guard refused other.test:${port}: not on sandbox.egress.allow`);
    expect(allowed).toEndWith("no-direct\n");
  } finally {
    server.stop(true);
  }
});

test("a policy with the sandbox off refuses to start it rather than run it on the host", async () => {
  await expect(
    startSandboxedProcess({ ...testSandboxAccess(), policy: sandboxPolicy({ enabled: false }), argv: ["/bin/true"], scratchDir: join(dir, "off") }),
  ).rejects.toThrow("the sandbox is off (ORG_SANDBOX=off)");
});
