// A killed test run leaves nothing running: a run of two test files that start tmux servers and org serve instances
// (one in a tmux window, outside the test process's tree, as the ops scripts start current and candidate; one a child
// of the test) is killed mid-way, and none of its processes is left 10 s later.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ancestorTagged,
  descendantsOf,
  isSameProcess,
  ownRunId,
  type ProcessIdentity,
  processesTagged,
  startTime,
  TEST_RUN_ENV,
  watcherClaimFile,
} from "./test-run-reaper.ts";

const REPO = join(import.meta.dir, "..");

/**
 * A test file of the killed run: `org serve` in a window of a tmux server of its own (outside the test process's tree,
 * as the ops scripts start current and candidate), or as its child; then it waits to be killed. What suite files like
 * instances/side-by-side.tmux.test.ts start, without the clone of org and the ops scripts they make first (two clones
 * per killed run were most of this test's CPU).
 */
function sliceFile(where: "tmux" | "child"): string {
  const imports = (file: string) => JSON.stringify(join(REPO, file));
  return `import { test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from ${imports("config/org-bun-command.ts")};
import { shellWord } from ${imports("security/shell-word.ts")};
import { TmuxServer } from ${imports("testing/tmux.ts")};
void [shellWord, TmuxServer];

test("org serve, ${where === "tmux" ? "in a tmux window" : "a child"}, until killed", async () => {
  const workspace = mkdtempSync(join(tmpdir(), "org-killed-serve-"));
  const serve = orgCommand(["serve", "--port", "0", "--workspace", workspace]);
  ${
    where === "tmux"
      ? 'await (await TmuxServer.start()).newSession("current", serve.map(shellWord).join(" "));'
      : 'Bun.spawn(serve, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });'
  }
  await Bun.sleep(600_000);
}, 700_000);
`;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The watchers of run `runId` (`test-run-watcher.ts RUN_ID …`), found by their command line. */
function watchersOf(runId: string): ProcessIdentity[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && commandLine(Number(entry)).includes(`test-run-watcher.ts ${runId} `))
    .flatMap((entry) => {
      const start = startTime(Number(entry));
      return start === undefined ? [] : [{ pid: Number(entry), start }];
    });
}

/** Polls `check` every 200 ms until it returns true or `timeoutMs` passes; returns whether it did. */
async function within(timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await Bun.sleep(200);
  }
  return check();
}

/**
 * Starts the slice as npm test does (workers, the preload, a run id of its own under this run's), in a process
 * group of its own; once it runs a tmux server and an org serve, `kill` ends it; returns what of it is left 10 s later.
 */
async function killMidway(kill: (pid: number) => void): Promise<{ before: string[]; left: string[] }> {
  const runId = `reaper-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const tag = [process.env[TEST_RUN_ENV], runId].filter(Boolean).join(" ");
  // The killed files never reach their afterAll: their clones and workspaces go in a folder of this test's, removed here.
  const temporary = mkdtempSync(join(tmpdir(), "org-killed-run-"));
  const slice = (["tmux", "child"] as const).map((where) => {
    const file = join(temporary, `serve-${where}.test.ts`);
    writeFileSync(file, sliceFile(where));
    return file;
  });
  const child = Bun.spawn(
    [
      process.execPath,
      "test",
      "--preload",
      join(import.meta.dir, "test-run-preload.ts"),
      "--timeout",
      "60000",
      "--parallel=2",
      "--no-isolate",
      ...slice,
    ],
    {
      cwd: REPO,
      env: { ...process.env, [TEST_RUN_ENV]: tag, TMPDIR: temporary },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      detached: true,
    },
  );
  try {
    const seen = new Map<string, ProcessIdentity>();
    const runs = () => {
      for (const identity of [...processesTagged(TEST_RUN_ENV, runId), ...descendantsOf(child.pid)])
        seen.set(`${identity.pid}:${identity.start}`, identity);
      const lines = [...seen.values()].filter(isSameProcess).map((identity) => commandLine(identity.pid));
      // Both files' serves: the one in the tmux window and the test's child.
      return lines.some((line) => /^tmux /.test(line)) && lines.filter((line) => /main\.ts serve /.test(line)).length >= 2;
    };
    const started = await within(180_000, runs);
    const before = [...seen.values()].filter(isSameProcess).map((identity) => commandLine(identity.pid));
    expect({ started, before }).toMatchObject({ started: true });
    // Both workers ran the preload; one watcher serves the run, and it is gone with the run, its claim removed.
    const watchers = () => watchersOf(runId);
    const claim = watcherClaimFile(runId, temporary);
    expect(watchers()).toHaveLength(1);
    expect(existsSync(claim)).toBe(true);
    kill(child.pid);
    const alive = () => [...seen.values(), ...processesTagged(TEST_RUN_ENV, runId), ...watchers()].filter(isSameProcess);
    await within(10_000, () => alive().length === 0 && !existsSync(claim));
    expect(existsSync(claim)).toBe(false);
    return { before, left: alive().map((identity) => `${identity.pid} ${commandLine(identity.pid)}`) };
  } finally {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    rmSync(temporary, { recursive: true, force: true });
  }
}

test("bun test killed with SIGKILL mid-way: its tmux servers, org serve instances and every other process are gone 10 s later", async () => {
  const { before, left } = await killMidway((pid) => process.kill(pid, "SIGKILL"));
  expect(before.length).toBeGreaterThan(2);
  expect(left).toEqual([]);
}, 240_000);

test("a CI timeout that sends SIGTERM to the run's process group leaves nothing either", async () => {
  const { left } = await killMidway((pid) => process.kill(-pid, "SIGTERM"));
  expect(left).toEqual([]);
}, 240_000);

test("a bun test that a test starts with the run's tag as inherited reaps nothing of the run when it ends", async () => {
  // As testing/test-timeout.test.ts does: the inner run's own id is the outer run's. Its end must not end the outer
  // run (a watcher of its own did: it sent SIGTERM to every process of the suite).
  const directory = mkdtempSync(join(tmpdir(), "org-nested-run-"));
  writeFileSync(join(directory, "quick.test.ts"), 'import { test } from "bun:test";\ntest("quick", () => {});\n');
  const tag = `nested-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const env = { ...process.env, [TEST_RUN_ENV]: tag };
  // The outer run's other processes, and the process the inner run is started from, all carry the tag.
  const sentinel = Bun.spawn(["sleep", "120"], { env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    const inner = Bun.spawn(
      [
        "/bin/sh",
        "-c",
        '"$0" test --preload "$1" ./quick.test.ts; echo "inner ended $?"; sleep 5',
        process.execPath,
        join(import.meta.dir, "test-run-preload.ts"),
      ],
      {
        cwd: directory,
        env,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "ignore",
      },
    );
    const output = await new Response(inner.stdout).text();
    expect(output).toContain("inner ended 0");
    // The shell and the sentinel outlived the inner run's end by the 5 s the shell waits, more than a watcher needs.
    expect(await inner.exited).toBe(0);
    expect(sentinel.killed || sentinel.exitCode !== null).toBe(false);
  } finally {
    sentinel.kill("SIGKILL");
    rmSync(directory, { recursive: true, force: true });
  }
}, 60_000);

test("ancestorTagged tells a process below one carrying the same run id, and only that", () => {
  const own = ownRunId();
  // This test process runs under npm test's tag (or none); its parent chain never carries a made-up id.
  expect(ancestorTagged(process.pid, `no-such-run-${process.pid}`)).toBe(false);
  if (own !== undefined && process.env.BUN_TEST_WORKER_ID) expect(ancestorTagged(process.pid, own)).toBe(true);
});
