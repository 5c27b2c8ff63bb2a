import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = mkdtempSync(join(tmpdir(), "org-first-run-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A fresh process each time: what a first call pays depends on module state no other test has touched.
async function firstRuns(commands: string[]): Promise<{ exitCodes: (number | null)[]; launches: number }> {
  const script = [
    `import { Sandbox } from ${JSON.stringify(join(import.meta.dir, "run-sandboxed.ts"))};`,
    `import { DEFAULT_SANDBOX_POLICY } from ${JSON.stringify(join(import.meta.dir, "sandbox-policy.ts"))};`,
    "const sandbox = new Sandbox();",
    "const exitCodes = [];",
    `for (const cmd of ${JSON.stringify(commands)}) {`,
    `  const result = await sandbox.run({ policy: DEFAULT_SANDBOX_POLICY, argv: ["/bin/sh", "-c", cmd], scratchDir: ${JSON.stringify(join(root, "scratch"))}, timeoutMs: 20_000 });`,
    "  exitCodes.push(result.exitCode);",
    "}",
    "console.log(JSON.stringify({ exitCodes, launches: sandbox.launches }));",
  ].join("\n");
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (proc.exitCode !== 0) throw new Error(`the first-run script failed: ${stderr}`);
  return JSON.parse(stdout);
}

test("a first run that succeeds starts one sandbox, with no probe before it", async () => {
  expect(await firstRuns(["true", "true"])).toEqual({ exitCodes: [0, 0], launches: 2 });
});

test("a first run that fails is checked by the probe once, and its own exit code is kept", async () => {
  // The probe tells a command's failure from a bwrap that could not start; after a success none is needed.
  expect(await firstRuns(["exit 3", "exit 4"])).toEqual({ exitCodes: [3, 4], launches: 3 });
  expect(await firstRuns(["true", "exit 3"])).toEqual({ exitCodes: [0, 3], launches: 2 });
});
