import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSandboxed } from "./run-sandboxed.ts";

const root = mkdtempSync(join(tmpdir(), "org-unsandboxed-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("ORG_SANDBOX=off runs on the host only with a loud warning, every time", async () => {
  const previous = process.env.ORG_SANDBOX;
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  process.env.ORG_SANDBOX = "off";
  try {
    // A harmless command that shows where it ran: the host has no "sandbox" hostname and keeps its uid.
    for (let run = 0; run < 2; run += 1) {
      const result = await runSandboxed({ argv: ["/bin/sh", "-c", "id -u; pwd"], scratchDir: join(root, "scratch"), timeoutMs: 5000 });
      expect(result.stdout).toBe(`${process.getuid?.()}\n${join(root, "scratch")}\n`);
    }
  } finally {
    process.stderr.write = write;
    if (previous === undefined) delete process.env.ORG_SANDBOX;
    else process.env.ORG_SANDBOX = previous;
  }
  expect(written.filter((line) => line.includes("UNSANDBOXED"))).toHaveLength(2);
  // Back to normal: sandboxed again.
  const result = await runSandboxed({ argv: ["/bin/sh", "-c", "id -u"], scratchDir: join(root, "scratch"), timeoutMs: 5000 });
  expect(result.stdout).toBe("65534\n");
});
