import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { StaleMountsError } from "./run-sandboxed.ts";

const root = mkdtempSync(join(tmpdir(), "org-launcher-gate-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const shown = join(root, "shown");
mkdirSync(shown, { mode: 0o755 });
writeFileSync(join(shown, "file"), "seen\n", { mode: 0o644 });

// With a read-only mount (as root: the launcher's mount table, the gate one fd further) and without one.
const layouts = [
  { name: "without a mount", mounts: {} },
  { name: "with a read-only mount", mounts: { readOnlyMounts: [{ source: shown, target: "/shown" }] } },
];

for (const { name, mounts } of layouts) {
  test(`a run with ready runs its command only on a yes, asked once, ${name}`, async () => {
    const scratchDir = join(root, `scratch-${name.replaceAll(" ", "-")}`);
    const marker = join(scratchDir, "ran");
    const argv = ["/bin/sh", "-c", "cat /shown/file 2>/dev/null; : > /scratch/ran"];
    let asked = 0;
    const yes = await runInTestSandbox({ argv, scratchDir, timeoutMs: 10_000, ...mounts, ready: () => ++asked > 0 });
    expect([yes.exitCode, asked, existsSync(marker)]).toEqual([0, 1, true]);
    expect(yes.stdout).toBe("readOnlyMounts" in mounts ? "seen\n" : "");
    rmSync(marker);
    const no = runInTestSandbox({ argv, scratchDir, timeoutMs: 10_000, ...mounts, ready: () => false });
    await expect(no).rejects.toBeInstanceOf(StaleMountsError);
    const failing = runInTestSandbox({
      argv,
      scratchDir,
      timeoutMs: 10_000,
      ...mounts,
      ready: () => {
        throw new Error("the check failed");
      },
    });
    await expect(failing).rejects.toThrow("the check failed");
    // Neither sandbox ran its command, not even after its launcher was told.
    await Bun.sleep(200);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);
}
