import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "../testing/wait-until.ts";
import { HOSTILE_WORDS } from "./hostile-words.ts";
import type { SandboxResult } from "./sandbox-result.ts";
import { runInTestSandbox as runSandboxed, testSandbox } from "../testing/test-sandbox.ts";
import { DEFAULT_SANDBOX_POLICY } from "./sandbox-policy.ts";
import { MAX_POOL_SIZE } from "./sandbox-pool.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";

const pool = testSandbox.pool;

/** A call as these tests give it: the default policy unless it names one. */
type TestRun = Parameters<typeof runSandboxed>[0];

const root = mkdtempSync(join(tmpdir(), "org-sandbox-pool-"));
afterEach(() => pool.resize(MAX_POOL_SIZE));
afterAll(() => {
  pool.discardAll();
  rmSync(root, { recursive: true, force: true });
});

let scratchCount = 0;
const freshScratch = () => join(root, `scratch-${scratchCount++}`);

/** The pool refills once the caller has its result (setImmediate). */
const refilled = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A call run twice on one scratch: the second is a repeat, so a sandbox for the next one starts (a call on a
 * scratch no call used just before starts none).
 */
async function repeated(options: TestRun): Promise<SandboxResult> {
  const first = await runSandboxed(options);
  await runSandboxed(options);
  await refilled();
  return first;
}

/** No sandbox waiting, and no refill of an earlier call still to come. */
async function emptyPool(): Promise<void> {
  await refilled();
  pool.discardAll();
}

/** A process gone from /proc: ended and reaped, not a zombie left behind. */
const gone = (pid: number) => !existsSync(`/proc/${pid}`);

/**
 * A call run on a fresh sandbox, then again handed to the sandbox left waiting for it. On a scratch the last call used
 * with the same options the fresh run is a repeat already and leaves that sandbox; on another a second run does.
 */
async function freshAndPooled(
  options: Omit<TestRun, "scratchDir">,
  scratchDir = freshScratch(),
): Promise<{ fresh: SandboxResult; pooled: SandboxResult; tookWaiting: boolean }> {
  await emptyPool();
  const handedBefore = pool.handOvers;
  const fresh = await runSandboxed({ ...options, scratchDir });
  expect(pool.handOvers).toBe(handedBefore);
  await refilled();
  if (pool.waitingPids().length === 0) await repeated({ ...options, scratchDir });
  const before = pool.handOvers;
  const [waiting] = pool.waitingPids();
  const pooled = await runSandboxed({ ...options, scratchDir });
  // Single use: the sandbox that took the call is out of the pool and gone with its command.
  if (waiting !== undefined) {
    expect(pool.waitingPids()).not.toContain(waiting);
    await waitUntil("the used sandbox is gone and reaped", () => gone(waiting));
  }
  return { fresh, pooled, tookWaiting: pool.handOvers === before + 1 };
}

const withoutTime = (result: SandboxResult) => ({ ...result, durationMs: 0 });

test("a call like the last one is handed to the sandbox waiting for it, with the same result as a fresh one", async () => {
  const cases: string[][] = [
    ["/usr/bin/printf", "[%s]\\n", ...HOSTILE_WORDS],
    ["/usr/bin/env"],
    [
      "/bin/sh",
      "-c",
      // Each descriptor's mode and target without ls's date: a fresh and a pooled call a minute apart print the same.
      "ls -l /proc/self/fd | sed -E 's/^([^ ]+) .* ([0-9]+ -> )/\\1 \\2/; s/:\\[[0-9]*\\]//'; grep -E '^(Cap|NoNewPrivs|Seccomp|Sig)' /proc/self/status; ulimit -a; id; umask; pwd",
    ],
    ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
    ["/bin/sh", "-c", "kill -9 $$"],
    ["no-such-command", "-x"],
    ["-leading-dash"],
    ["/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"],
    ["/bin/sh", "-c", 'touch /scratch/pwned; echo "$@"', "sh", "$(touch /scratch/pwned2)", "`id`"],
  ];
  // One scratch for all: each case's fresh run repeats the last call's key, so it leaves the sandbox its pooled run takes.
  const scratchDir = freshScratch();
  for (const argv of cases) {
    const { fresh, pooled, tookWaiting } = await freshAndPooled({ argv, timeoutMs: 10_000 }, scratchDir);
    expect(tookWaiting).toBe(true);
    expect(withoutTime(pooled)).toEqual(withoutTime(fresh));
    if (argv[2]?.startsWith("ls -l /proc/self/fd")) expect(fresh.stdout).toMatch(/^lr-x------ 0 -> \/dev\/null\nl-wx------ 1 -> pipe$/m);
  }
});

test("limit messages are the same: a timeout counted from the hand-over, and the output cap", async () => {
  const timeout = await freshAndPooled({ argv: ["/bin/sleep", "5"], timeoutMs: 300 });
  expect(timeout.tookWaiting).toBe(true);
  expect(withoutTime(timeout.pooled)).toEqual(withoutTime(timeout.fresh));
  expect(timeout.pooled.timedOut).toBe(true);
  const flood = await freshAndPooled({ argv: ["/bin/sh", "-c", "yes"], timeoutMs: 20_000, limits: { outputKillBytes: 256 * 1024 } });
  expect(flood.tookWaiting).toBe(true);
  expect(flood.pooled.stderr).toBe(flood.fresh.stderr);
  expect(flood.pooled.stderr).toContain("[sandbox: killed because it wrote more than 256 KiB of output]");
});

test("the timeout starts at the hand-over, not when the waiting sandbox started", async () => {
  const scratchDir = freshScratch();
  await emptyPool();
  await repeated({ argv: ["/bin/true"], scratchDir, timeoutMs: 1000 });
  expect(pool.waitingPids()).toHaveLength(1);
  await Bun.sleep(1500); // the waiting sandbox is now older than the call's whole timeout
  const before = pool.handOvers;
  const result = await runSandboxed({ argv: ["/bin/sh", "-c", "sleep 0.2; echo done"], scratchDir, timeoutMs: 1000 });
  expect(pool.handOvers).toBe(before + 1);
  expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: "done\n" });
});

test("a call whose configuration differs starts a fresh sandbox, and the waiting one is not used", async () => {
  const scratchDir = freshScratch();
  await emptyPool();
  await repeated({ argv: ["/bin/true"], scratchDir, timeoutMs: 5000 });
  expect(pool.waitingPids()).toHaveLength(1);
  const handOvers = pool.handOvers;
  const differing: Partial<TestRun>[] = [
    { network: true, policy: sandboxPolicy({ network: true }) },
    { limits: { tmpBytes: 4 * 1024 * 1024 } },
    { env: { EXTRA: "1" } },
    { stdin: "text\n" },
    { scratchDir: freshScratch() },
    { readOnlyMounts: [{ source: root, target: "/extra" }] },
  ];
  for (const change of differing) {
    const result = await runSandboxed({
      argv: ["/bin/sh", "-c", "cat; echo ${EXTRA:-}; df -k /tmp | tail -n 1 | awk '{print $2}'"],
      scratchDir,
      timeoutMs: 5000,
      ...change,
    });
    expect(result.exitCode).toBe(0);
    expect(pool.handOvers).toBe(handOvers);
  }
});

test("a waiting sandbox whose scratch directory was replaced is ended, and the call gets the new directory", async () => {
  const scratchDir = freshScratch();
  await emptyPool();
  await repeated({ argv: ["/bin/sh", "-c", "echo old > mark"], scratchDir, timeoutMs: 5000 });
  const [waiting] = pool.waitingPids();
  if (waiting === undefined) throw new Error("a sandbox should wait after the first call");
  rmSync(scratchDir, { recursive: true });
  mkdirSync(scratchDir, { mode: 0o700 });
  const result = await runSandboxed({ argv: ["/bin/sh", "-c", "ls; echo new > mark"], scratchDir, timeoutMs: 5000 });
  expect(result).toMatchObject({ exitCode: 0, stdout: "" });
  expect(readFileSync(join(scratchDir, "mark"), "utf8")).toBe("new\n");
  await waitUntil("the replaced sandbox is gone and reaped", () => gone(waiting));
});

test("a scratch directory removed after a call is not made again by the refill", async () => {
  const scratchDir = freshScratch();
  await emptyPool();
  await runSandboxed({ argv: ["/bin/true"], scratchDir, timeoutMs: 5000 });
  await runSandboxed({ argv: ["/bin/true"], scratchDir, timeoutMs: 5000 });
  rmSync(scratchDir, { recursive: true });
  await refilled();
  expect(pool.waitingPids()).toEqual([]);
  expect(existsSync(scratchDir)).toBe(false);
});

test("the pool is bounded, single use, and can be turned off", async () => {
  await emptyPool();
  for (let call = 0; call < MAX_POOL_SIZE + 2; call += 1) {
    await repeated({ argv: ["/bin/true"], scratchDir: freshScratch(), timeoutMs: 5000 });
    expect(pool.waitingPids().length).toBeLessThanOrEqual(MAX_POOL_SIZE);
  }
  const waiting = pool.waitingPids();
  expect(waiting).toHaveLength(MAX_POOL_SIZE);
  pool.resize(0);
  expect(pool.waitingPids()).toEqual([]);
  for (const pid of waiting) await waitUntil(`waiting sandbox ${pid} is gone and reaped`, () => gone(pid));
  await repeated({ argv: ["/bin/true"], scratchDir: freshScratch(), timeoutMs: 5000 });
  expect(pool.waitingPids()).toEqual([]);
});

test("calls that each open a scratch of their own (the toolsmith's stages, the gate) start no sandbox ahead", async () => {
  await emptyPool();
  for (let call = 0; call < 3; call += 1) {
    await runSandboxed({ argv: ["/bin/true"], scratchDir: freshScratch(), timeoutMs: 5000 });
    await refilled();
    expect(pool.waitingPids()).toEqual([]);
  }
});

test("waiting sandboxes never keep org running, and die with it", async () => {
  const scratchDir = freshScratch();
  const script = (thenWait: boolean) =>
    [
      `import { Sandbox } from ${JSON.stringify(join(import.meta.dir, "run-sandboxed.ts"))};`,
      `import { DEFAULT_SANDBOX_POLICY } from ${JSON.stringify(join(import.meta.dir, "sandbox-policy.ts"))};`,
      "const sandbox = new Sandbox();",
      `await sandbox.run({ policy: DEFAULT_SANDBOX_POLICY, argv: ["/bin/true"], scratchDir: ${JSON.stringify(scratchDir)}, timeoutMs: 5000 });`,
      `await sandbox.run({ policy: DEFAULT_SANDBOX_POLICY, argv: ["/bin/true"], scratchDir: ${JSON.stringify(scratchDir)}, timeoutMs: 5000 });`,
      "await new Promise((resolve) => setImmediate(resolve));",
      "console.log(JSON.stringify(sandbox.pool.waitingPids()));",
      thenWait ? "setInterval(() => {}, 1000);" : "",
    ].join("\n");
  // Ends on its own although a sandbox waits: the pool holds no reference on the event loop.
  const finishing = Bun.spawn([process.execPath, "-e", script(false)], { stdout: "pipe", stderr: "pipe" });
  const [stdout] = await Promise.all([new Response(finishing.stdout).text(), finishing.exited]);
  expect(finishing.exitCode).toBe(0);
  const [left] = JSON.parse(stdout) as number[];
  if (left === undefined) throw new Error("the child should have had a sandbox waiting");
  await waitUntil("the sandbox of an org that exited is gone", () => gone(left));
  // Killed outright: the launcher's lifeline takes the waiting sandbox with it.
  const killed = Bun.spawn([process.execPath, "-e", script(true)], { stdout: "pipe", stderr: "pipe" });
  const reader = killed.stdout.getReader();
  const { value } = await reader.read();
  const [waiting] = JSON.parse(new TextDecoder().decode(value)) as number[];
  if (waiting === undefined) throw new Error("the child should have a sandbox waiting");
  expect(gone(waiting)).toBe(false);
  killed.kill("SIGKILL");
  await killed.exited;
  await waitUntil("the sandbox of a killed org is gone", () => gone(waiting));
});

test("a sandbox started when a session opens takes its first call", async () => {
  await emptyPool();
  const scratchDir = freshScratch();
  testSandbox.prestart({ policy: DEFAULT_SANDBOX_POLICY, scratchDir, env: { EXTRA: "1" } });
  testSandbox.prestart({ scratchDir, policy: sandboxPolicy({ enabled: false }) });
  expect(pool.waitingPids()).toEqual([]);
  testSandbox.prestart({ policy: DEFAULT_SANDBOX_POLICY, scratchDir });
  expect(pool.waitingPids()).toHaveLength(1);
  const before = pool.handOvers;
  const result = await runSandboxed({ argv: ["/bin/sh", "-c", "echo first; pwd"], scratchDir, timeoutMs: 5000 });
  expect(pool.handOvers).toBe(before + 1);
  expect(result).toMatchObject({ exitCode: 0, stdout: "first\n/scratch\n", stderr: "" });
});
