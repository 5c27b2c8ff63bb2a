import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";

// Real processes write through standardOutput into what a command's output meets: a pipe read late (it fills), one
// made non-blocking by whoever shares it, one whose reader is gone, a file, /dev/null, a terminal (tmux).

const scratch = mkdtempSync(join(tmpdir(), "org-standard-output-"));
const MODULE = join(import.meta.dir, "standard-output.ts");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A script that writes `lines` numbered lines of ~1 kB to stdout, a line of its own to stderr every 100. */
function writer(options: { nonBlocking?: boolean } = {}): string {
  const file = join(scratch, `writer-${options.nonBlocking ? "nonblocking" : "plain"}.ts`);
  writeFileSync(
    file,
    `import { standardOutput } from ${JSON.stringify(MODULE)};
${
  options.nonBlocking
    ? `import { dlopen } from "bun:ffi";
// What a parent sharing the pipe may do: O_NONBLOCK set on the open file (F_GETFL 3, F_SETFL 4, O_NONBLOCK 0o4000).
const { symbols } = dlopen("libc.so.6", { fcntl: { args: ["i32", "i32", "i32"], returns: "i32" } });
if (symbols.fcntl(1, 4, symbols.fcntl(1, 3, 0) | 0o4000) !== 0) throw new Error("fcntl failed");`
    : ""
}
const out = standardOutput(1);
const err = standardOutput(2);
const lines = Number(process.argv[2]);
try {
  for (let i = 0; i < lines; i++) {
    out.write(\`line \${i} \${"x".repeat(1000)}\\n\`);
    if (i % 100 === 0) err.write(\`at \${i}\\n\`);
  }
  err.write(\`terminal \${out.isTerminal} \${out.columns()}\\n\`);
} catch (error) {
  err.write(\`failed \${error.code}\\n\`);
  process.exitCode = 3;
}
`,
  );
  return file;
}

const expected = (lines: number) => Array.from({ length: lines }, (_, i) => `line ${i} ${"x".repeat(1000)}\n`).join("");

async function readLate(options: { nonBlocking?: boolean }) {
  // 2 MB against a 64 kB pipe whose reader starts 0.5 s late (a pipe this process reads is drained as it fills): the
  // writer waits on the full pipe until the reader comes. Its exit code follows on stderr.
  const script = '{ "$0" "$1" 2000; echo "exit $?" >&2; } | { sleep 0.5; cat; }';
  const child = Bun.spawn(["/bin/sh", "-c", script, process.execPath, writer(options)], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode: Number(/exit (\d+)\n$/.exec(stderr)?.[1]) };
}

test("into a pipe read late, every line arrives whole and in order, blocking or not", async () => {
  for (const nonBlocking of [false, true]) {
    const { stdout, stderr, exitCode } = await readLate({ nonBlocking });
    expect({ nonBlocking, exitCode, stderr: stderr.split("\n").at(-3) }).toEqual({ nonBlocking, exitCode: 0, stderr: "terminal false undefined" });
    expect(stdout.length).toBe(expected(2000).length);
    expect(stdout === expected(2000)).toBe(true);
    expect(stderr.match(/^at \d+$/gm)?.length).toBe(20);
  }
}, 60_000);

test("a pipe whose reader is gone throws EPIPE from write, and the process goes on to say so", async () => {
  const child = Bun.spawn(["/bin/sh", "-c", `${JSON.stringify(process.execPath)} ${JSON.stringify(writer())} 2000 | head -c 10 >/dev/null`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(exitCode).toBe(0);
  expect(stderr).toContain("failed EPIPE");
}, 60_000);

test("a file and /dev/null are no terminal and take every byte written", async () => {
  const file = join(scratch, "out.txt");
  const toFile = Bun.spawnSync([process.execPath, writer(), "300"], { stdout: Bun.file(file), stderr: "pipe" });
  expect(toFile.exitCode).toBe(0);
  expect(readFileSync(file, "utf8") === expected(300)).toBe(true);
  const toNull = Bun.spawnSync([process.execPath, writer(), "300"], { stdout: "ignore", stderr: "pipe" });
  expect(toNull.exitCode).toBe(0);
  expect(toNull.stderr.toString()).toContain("terminal false undefined");
}, 60_000);

let tmux: TmuxServer;
beforeAll(async () => {
  tmux = await TmuxServer.start();
});
afterAll(async () => {
  await tmux?.close();
});

test("a terminal (tmux) is one, with its width, and shows what was written", async () => {
  const said = join(scratch, "tty-said.txt");
  const session = uniqueSessionName("org-stdout");
  await tmux.newSession(session, `${JSON.stringify(process.execPath)} ${JSON.stringify(writer())} 3 2>${JSON.stringify(said)}; sleep 30`, {
    width: 132,
    height: 40,
  });
  const screen = await tmux.waitFor(session, "line 2 xxx");
  expect(screen).toContain("line 0 xxx");
  for (let waited = 0; waited < 100 && !readFileSync(said, { encoding: "utf8", flag: "a+" }).includes("terminal"); waited += 1) await Bun.sleep(50);
  expect(readFileSync(said, "utf8")).toContain("terminal true 132");
}, 60_000);
