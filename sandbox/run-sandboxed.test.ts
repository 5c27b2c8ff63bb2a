import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";
import { scratchDirFor } from "./scratch-dir.ts";
import { MAX_WATCHED_DIRECTORIES } from "./scratch-walks.ts";

const root = mkdtempSync(join(tmpdir(), "org-run-sandboxed-"));
// Private (0700), as mkdtemp makes it: sandboxes get scratch as an open directory, not through its parents.
const scratchDir = join(root, "scratch");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sh = (cmd: string, extra: Partial<Parameters<typeof runInTestSandbox>[0]> = {}) =>
  runInTestSandbox({ argv: ["/bin/sh", "-c", cmd], scratchDir, timeoutMs: 5000, ...extra });

describe("Sandbox.run", () => {
  test("runs a command and returns its output and exit code", async () => {
    const result = await sh("echo out; echo err >&2; exit 3");
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, isCanceled: false, truncated: false });
    expect(result.stdout).toBe("out\n");
    expect(result.stderr).toBe("err\n");
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  test("feeds stdin and otherwise gives /dev/null", async () => {
    expect((await sh("cat", { stdin: "hello\n" })).stdout).toBe("hello\n");
    expect((await sh("cat; echo done")).stdout).toBe("done\n");
  });

  test("scratch is the working directory and persists on the host", async () => {
    const result = await sh("pwd; echo kept > note.txt");
    expect(result.stdout).toBe("/scratch\n");
    expect(readFileSync(join(scratchDir, "note.txt"), "utf8")).toBe("kept\n");
  });

  test("the command runs unprivileged with no capabilities, no_new_privs and seccomp", async () => {
    const result = await sh("id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status");
    expect(result.stdout).toBe("65534\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n");
  });

  test("limits are applied inside: processes, files, fds, address space", async () => {
    const result = await sh("exec bash -c 'ulimit -u; ulimit -n; ulimit -v; ulimit -f'", {
      limits: { processes: 33, openFiles: 77, memoryBytes: 512 * 1024 * 1024, fileSizeBytes: 1024 * 1024 },
    });
    expect(result.stdout).toBe("33\n77\n524288\n1024\n");
  });

  test.if(process.getuid?.() === 0)("as root, all sandboxes together are capped at 512 processes, from bwrap on", async () => {
    // bwrap's own process (pid 1 inside) carries the cap the launcher set before it dropped to the sandbox uid.
    const result = await sh("grep 'Max processes' /proc/1/limits");
    expect(result.stdout).toMatch(/^Max processes\s+512\s+512\s+processes\s*$/);
  });

  test("/tmp and /dev/shm are sized tmpfs", async () => {
    const result = await sh("df -k /tmp /dev/shm | tail -n 2 | awk '{print $1, $2}'", {
      limits: { tmpBytes: 4 * 1024 * 1024, shmBytes: 2 * 1024 * 1024 },
    });
    expect(result.stdout).toBe("tmpfs 4096\ntmpfs 2048\n");
  });

  test("a command past its timeout is killed and says so", async () => {
    const result = await sh("echo started; sleep 30", { timeoutMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL", stdout: "started\n" });
    expect(result.stderr).toContain("timeout");
  });

  test("an abort signal cancels the run", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await sh("sleep 30", { abortSignal: controller.signal });
    expect(result).toMatchObject({ isCanceled: true, timedOut: false, exitCode: null });
  });

  test("a run cancelled before it starts never starts", async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await sh("echo ran > cancelled.txt", { abortSignal: controller.signal });
    expect(result).toMatchObject({ isCanceled: true, exitCode: null, stdout: "" });
    expect(existsSync(join(scratchDir, "cancelled.txt"))).toBe(false);
    await expect(sh("true", { timeoutMs: 0 })).rejects.toThrow(/positive timeoutMs/);
  });

  test("output beyond the cap keeps head and tail and says how much was cut", async () => {
    const result = await sh("seq 1 100000", { limits: { outputBytes: 1000 } });
    expect(result.truncated).toBe(true);
    expect(result.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(result.stdout.endsWith("99999\n100000\n")).toBe(true);
    expect(result.stdout).toMatch(/\[… \d+ bytes of stdout cut …\]/);
  });

  test("a command killed by a signal inside reports the signal", async () => {
    const result = await sh("kill -XCPU $$");
    expect(result).toMatchObject({ exitCode: 152, signal: "SIGXCPU" });
  });

  test("a scratch with more directories than the watchdog watches is still bounded, by its poll", async () => {
    const crowded = join(root, "crowded");
    // An earlier run left the directories, as a package install would.
    // The watchdog watches each new directory as it comes: on a busy machine the 2 001 take more than a few seconds.
    const made = await sh(`mkdir $(seq -f 'd%g' 0 ${MAX_WATCHED_DIRECTORIES})`, { scratchDir: crowded, timeoutMs: 60_000 });
    expect(made.exitCode).toBe(0);
    const result = await sh("i=0; while head -c 1M /dev/zero > f$i; do i=$((i+1)); done", {
      scratchDir: crowded,
      timeoutMs: 20_000,
      limits: { scratchBytes: 16 * 1024 * 1024 },
    });
    expect(result.timedOut).toBe(false);
    expect(result.stderr).toContain("the scratch directory grew past its 16 MiB limit");
  }, 120_000);

  test("a scratch already over its limit is reported even when the command ends before a walk could stop it", async () => {
    const full = join(root, "full");
    expect((await sh("head -c 2M /dev/urandom > leftover", { scratchDir: full })).exitCode).toBe(0);
    const result = await sh("true", { scratchDir: full, limits: { scratchBytes: 1024 * 1024 } });
    // Either the first walk stopped it, or the last one, after the command ended, says so.
    expect(result.stderr).toMatch(/^\[sandbox: (killed because|when the command ended,) the scratch directory grew past its 1 MiB limit/);
  });

  test("at most four sandboxes run at once; the rest wait their turn", async () => {
    const shared = join(root, "shared");
    const runs = Array.from({ length: 7 }, () =>
      // Each run waits (up to 10 s) until a second one has started, so runs overlap however slowly they start.
      sh(
        "echo start >> order.log; n=0; while [ $(grep -c start order.log) -lt 2 ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; sleep 0.2; echo end >> order.log",
        { scratchDir: shared, timeoutMs: 20_000 },
      ),
    );
    expect((await Promise.all(runs)).every((result) => result.exitCode === 0)).toBe(true);
    let running = 0;
    let most = 0;
    for (const line of readFileSync(join(shared, "order.log"), "utf8").trim().split("\n")) {
      running += line === "start" ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
  });

  test("when org itself dies, its sandboxes die with it", async () => {
    const marker = `orgcrash${process.pid}x${Date.now().toString(36)}`;
    const script = [
      `import { Sandbox } from ${JSON.stringify(join(import.meta.dir, "run-sandboxed.ts"))};`,
      `import { DEFAULT_SANDBOX_POLICY } from ${JSON.stringify(join(import.meta.dir, "sandbox-policy.ts"))};`,
      `new Sandbox().run({ policy: DEFAULT_SANDBOX_POLICY, argv: ["/bin/bash", "-c", "exec -a ${marker} sleep 300"], scratchDir: ${JSON.stringify(scratchDir)} });`,
      `setTimeout(() => console.log("started"), 300);`,
    ].join("\n");
    const org = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const reader = (org.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const running = () =>
      readdirSync("/proc").filter((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(marker);
        } catch {
          return false;
        }
      });
    // "started" only says org had 300 ms: on a loaded machine the sandbox may come later.
    for (let wait = 0; wait < 1_500 && running().length === 0; wait += 1) await Bun.sleep(20);
    expect(running()).toHaveLength(1);
    org.kill("SIGKILL");
    await org.exited;
    for (let wait = 0; wait < 100 && running().length > 0; wait += 1) await Bun.sleep(20);
    expect(running()).toEqual([]);
  });

  test("scratch under a private (0700) directory works, and is left private with no setuid or setgid bit", async () => {
    const privateScratch = join(root, "private", "ws", ".org", "scratch", "default");
    const result = await sh("chmod 777 /scratch; cp /usr/bin/bash b; chmod 6755 b; mkdir -m 1777 t; echo ok", {
      scratchDir: privateScratch,
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: "ok\n" });
    expect(statSync(join(root, "private")).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, "private", "ws", ".org", "scratch")).mode & 0o777).toBe(0o700);
    expect(statSync(privateScratch).mode & 0o7777).toBe(0o700);
    expect(statSync(join(privateScratch, "b")).mode & 0o7777).toBe(0o755);
    expect(statSync(join(privateScratch, "t")).mode & 0o7777).toBe(0o755);
  });

  test("resetting modes after a run never follows a link out of scratch", async () => {
    const victim = join(root, "victim");
    writeFileSync(victim, "host file\n", { mode: 0o666 });
    chmodSync(victim, 0o2777);
    const result = await sh(`ln -s ${victim} link; mkdir d; ln -s ${root} d/up; echo ok`, { scratchDir: join(root, "links") });
    expect(result.stdout).toBe("ok\n");
    expect(statSync(victim).mode & 0o7777).toBe(0o2777);
    expect(statSync(root).mode & 0o7777).toBe(0o700);
  });

  test.if(process.getuid?.() === 0)("while a run holds its scratch open to everyone, another host user cannot reach it", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "org-open-workspace-"));
    try {
      // Parents open to all, as most workspaces' are; .org as other parts of org make it.
      chmodSync(workspace, 0o755);
      mkdirSync(join(workspace, ".org"), { mode: 0o755 });
      const scratch = scratchDirFor({ workspaceDir: workspace });
      const controller = new AbortController();
      const run = sh("chmod 777 /scratch; cp /usr/bin/bash b; chmod 6755 b; touch ready; sleep 30", {
        scratchDir: scratch,
        timeoutMs: 60_000,
        abortSignal: controller.signal,
      });
      for (let wait = 0; wait < 500 && !existsSync(join(scratch, "ready")); wait += 1) await Bun.sleep(20);
      expect(existsSync(join(scratch, "ready"))).toBe(true);
      expect(statSync(scratch).mode & 0o777).toBe(0o777);
      const nobody = Bun.spawnSync(["/bin/sh", "-c", `"$0/b" -p -c 'id -u'; ls "$0"`, scratch], {
        uid: 65534,
        gid: 65534,
        stdout: "pipe",
        stderr: "pipe",
      });
      controller.abort();
      await run;
      expect(nobody.stdout.toString()).toBe("");
      expect(nobody.stderr.toString()).toContain("Permission denied");
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  test("refuses a scratch path that is a symlink", async () => {
    const target = join(root, "elsewhere");
    const link = join(root, "link-scratch");
    mkdirSync(target);
    symlinkSync(target, link);
    await expect(sh("true", { scratchDir: link })).rejects.toThrow(/not a plain directory/);
    expect(statSync(target).uid).toBe(process.getuid?.() ?? 0);
  });

  test("refuses to pass one of the secret values it was given in env", async () => {
    await expect(sh("true", { env: { X: "tok-abcdef-123456" }, policy: sandboxPolicy({ secretValues: ["tok-abcdef-123456"] }) })).rejects.toThrow(
      /secrets/,
    );
    expect((await sh("echo $X", { env: { X: "not-a-secret" }, policy: sandboxPolicy({ secretValues: ["tok-abcdef-123456"] }) })).stdout).toBe(
      "not-a-secret\n",
    );
  });

  test("reads no setting from the environment: ORG_SANDBOX=off there alone still runs sandboxed", async () => {
    const previous = process.env.ORG_SANDBOX;
    process.env.ORG_SANDBOX = "off";
    try {
      expect((await sh("id -u; hostname")).stdout).toBe("65534\nsandbox\n");
    } finally {
      if (previous === undefined) delete process.env.ORG_SANDBOX;
      else process.env.ORG_SANDBOX = previous;
    }
  });
});
