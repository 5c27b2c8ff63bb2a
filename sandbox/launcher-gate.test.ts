import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/**
 * This process's own children now, from every thread's list (a child is listed under the thread that made it); not
 * their children, as `descendants` would give: the launcher's watcher, a subshell with its command line, is not stopped.
 */
function ownChildren(): Set<number> {
  const found = new Set<number>();
  for (const thread of readdirSync("/proc/self/task")) {
    const text = readFileSync(`/proc/self/task/${thread}/children`, "utf8").trim();
    for (const pid of text === "" ? [] : text.split(" ")) found.add(Number(pid));
  }
  return found;
}

/** A process's command line once it has one (a child still in its exec shows none for a moment); empty once it is gone. */
function commandLine(pid: number): string {
  const until = Date.now() + 5_000;
  for (;;) {
    try {
      const text = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (text !== "" || Date.now() > until) return text;
    } catch {
      return "";
    }
  }
}

// The check says no, or throws (the call then ends with its error): either way the launcher is not waited for forever.
const answers = [
  { name: "says no", answer: () => false, ends: (run: Promise<unknown>) => expect(run).rejects.toBeInstanceOf(StaleMountsError) },
  {
    name: "throws",
    answer: () => {
      throw new Error("the check failed");
    },
    ends: (run: Promise<unknown>) => expect(run).rejects.toThrow("the check failed"),
  },
];

for (const { name, answer, ends } of answers) {
  test(`when the check ${name}, a launcher that hangs before its gate is killed, and the run ends`, async () => {
    const scratchDir = join(root, `scratch-hung-${name.replace(" ", "-")}`);
    const before = ownChildren();
    const stopped: number[] = [];
    const run = runInTestSandbox({
      argv: ["/bin/true"],
      scratchDir,
      timeoutMs: 10_000,
      ready: () => {
        // The launcher stands still (as one stuck in a mount would) before it could read the answer.
        for (const pid of ownChildren()) {
          // Only a launcher waiting at a gate: another child of this worker (a server, a sandbox kept ready) is left be.
          if (before.has(pid) || !commandLine(pid).includes("read -r go <&")) continue;
          process.kill(pid, "SIGSTOP");
          stopped.push(pid);
        }
        return answer();
      },
    });
    await ends(run);
    expect(stopped.length).toBeGreaterThan(0);
    for (const pid of stopped) expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 30_000);
}
