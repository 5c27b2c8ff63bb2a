import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { LAUNCHER_ENV, SANDBOX_INNER_UID, SANDBOX_NICENESS } from "./bwrap-argv.ts";

const root = mkdtempSync(join(tmpdir(), "org-launcher-identity-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `/proc/PID/limits` lines as name → "soft hard". */
function limitsOf(lines: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    lines
      .filter((line) => line.startsWith("Max "))
      .map((line) => {
        const [name = "", soft, hard] = line.split(/\s{2,}/);
        return [name, `${soft} ${hard}`];
      }),
  );
}

/** This process's niceness: field 19 of /proc/self/stat, after the parenthesised command name. */
function ownNiceness(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

// What every process the launcher line passes on shapes, read back from inside: bwrap's own environment (PID 1's,
// readable by the command), the ids, capabilities, no_new_privs, seccomp, niceness and every rlimit. The line may
// lose a process only while all of this stays as it is.
test("the sandbox's identity, environment, niceness and limits, read from inside", async () => {
  const script = [
    "tr '\\0' '\\n' < /proc/1/environ",
    "echo ids $(id -u) $(id -g) $(id -G)",
    "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
    "read -r s < /proc/self/stat; echo nice ${s##*) } | cut -d' ' -f1,18",
    "tail -n +2 /proc/self/limits",
  ].join("; ");
  const result = await runInTestSandbox({ argv: ["/bin/sh", "-c", script], scratchDir: join(root, "scratch"), timeoutMs: 10_000 });
  expect(result).toMatchObject({ exitCode: 0, stderr: "" });
  const lines = result.stdout.split("\n");
  const environment = lines.slice(
    0,
    lines.findIndex((line) => line.startsWith("ids ")),
  );
  expect(environment).toEqual(Object.entries(LAUNCHER_ENV).map(([name, value]) => `${name}=${value}`));
  const id = String(SANDBOX_INNER_UID);
  expect(lines).toContain(`ids ${id} ${id} ${id}`);
  const status = lines.filter((line) => /^[A-Za-z]+:\t/.test(line));
  expect(status).toEqual([
    `Uid:\t${id}\t${id}\t${id}\t${id}`,
    `Gid:\t${id}\t${id}\t${id}\t${id}`,
    "Groups:\t ",
    "CapInh:\t0000000000000000",
    "CapPrm:\t0000000000000000",
    "CapEff:\t0000000000000000",
    "CapBnd:\t0000000000000000",
    "CapAmb:\t0000000000000000",
    "NoNewPrivs:\t1",
    "Seccomp:\t2",
  ]);
  // `nice N`: the shell's own niceness (field 19 of its stat).
  expect(lines.find((line) => line.startsWith("nice "))?.split(" ")[1]).toBe(String(Math.min(19, ownNiceness() + SANDBOX_NICENESS)));
  const limits = limitsOf(lines);
  // What prlimit sets, and the rest as the launcher inherits them: this process's own, whatever the machine set.
  const own = limitsOf(readFileSync("/proc/self/limits", "utf8").split("\n"));
  expect(Object.keys(own)).toHaveLength(16);
  expect(limits).toEqual({
    ...own,
    // A run of 10 s gets its CPU seconds and one more as the hard limit.
    "Max cpu time": "10 11",
    "Max file size": "67108864 67108864",
    "Max core file size": "0 0",
    "Max processes": "64 64",
    "Max open files": "256 256",
    "Max locked memory": "65536 65536",
    "Max address space": "4294967296 4294967296",
  });
});
