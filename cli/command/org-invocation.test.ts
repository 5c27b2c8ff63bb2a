import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellWord } from "../../security/shell-word.ts";
import { LAUNCHER, orgInvocation, orgPath, REPO_DIR } from "./org-invocation.ts";

const scratch = mkdtempSync(join(tmpdir(), "org-launcher-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A global prefix laid out as `npm link` leaves it: lib/node_modules/org → the checkout, bin/org → its launcher. */
function linkedPrefix(name: string): string {
  const prefix = join(scratch, name);
  mkdirSync(join(prefix, "lib", "node_modules"), { recursive: true });
  mkdirSync(join(prefix, "bin"));
  symlinkSync(REPO_DIR, join(prefix, "lib", "node_modules", "org"));
  symlinkSync(join("..", "lib", "node_modules", "org", "bin", "org"), join(prefix, "bin", "org"));
  return prefix;
}

/** Runs a shell command line in `cwd` with only `PATH` (no bun on it unless the PATH has one). */
async function shell(commandLine: string, cwd: string, path: string) {
  const child = Bun.spawn(["/bin/sh", "-c", commandLine], { cwd, env: { PATH: path, HOME: scratch }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * A PATH with only what the launcher runs (`dirname`, `readlink`): never an `org`, though `npm link` may have put
 * this checkout's in /usr/bin or npm's prefix.
 */
function pathWithoutOrg(): string {
  const tools = join(scratch, "launcher-tools");
  mkdirSync(tools, { recursive: true });
  for (const tool of ["dirname", "readlink"]) {
    const found = Bun.which(tool, { PATH: SYSTEM_PATH });
    if (found === null) throw new Error(`${tool} is not in ${SYSTEM_PATH}: install coreutils`);
    if (!existsSync(join(tools, tool))) symlinkSync(found, join(tools, tool));
  }
  return tools;
}

test("the hint says 'org' when the org on PATH is this checkout's launcher, else the launcher's absolute path", () => {
  const prefix = linkedPrefix("hint");
  expect(orgInvocation(join(prefix, "bin", "org"))).toBe("org");
  expect(orgInvocation(LAUNCHER)).toBe("org");
  expect(orgInvocation(null)).toBe(LAUNCHER);
  const other = join(scratch, "other-org");
  writeFileSync(other, "#!/bin/sh\n");
  expect(orgInvocation(other)).toBe(LAUNCHER);
  expect(orgInvocation(join(scratch, "missing", "org"))).toBe(LAUNCHER);
  expect(orgPath(join("demo", "demo-script.json"), REPO_DIR)).toBe(join("demo", "demo-script.json"));
  expect(orgPath("main.ts", tmpdir())).toBe(join(REPO_DIR, "main.ts"));
});

test("installed the way npm link does, 'org' runs from any directory with no bun on PATH, and its hints say 'org'", async () => {
  const prefix = linkedPrefix("linked");
  const elsewhere = join(scratch, "elsewhere");
  mkdirSync(elsewhere);
  const path = `${join(prefix, "bin")}:${SYSTEM_PATH}`;
  expect((await shell("command -v bun || echo none", elsewhere, path)).stdout.trim()).not.toContain("node_modules");

  const help = await shell("org --help", elsewhere, path);
  expect(help.stderr).toBe("");
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain("Usage: org [command] [options]");

  const wrong = await shell("org chat --colour", elsewhere, path);
  expect(wrong.exitCode).toBe(2);
  expect(wrong.stderr).toBe("org: unknown option '--colour' for chat\nRun 'org chat --help' for usage.\n");
});

test("without org on PATH the hint is the launcher's absolute path, and that command runs from another directory", async () => {
  const elsewhere = join(scratch, "no-link");
  mkdirSync(elsewhere);
  const path = pathWithoutOrg();
  const wrong = await shell(`${shellWord(LAUNCHER)} demo --slow`, elsewhere, path);
  expect(wrong.exitCode).toBe(2);
  const hint = /^Run '(.+) --help' for usage\.$/m.exec(wrong.stderr)?.[1];
  expect(hint).toBe(`${shellWord(LAUNCHER)} demo`);
  const help = await shell(`${hint} --help`, elsewhere, path);
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toStartWith("Usage: org demo");
});

test("inside the checkout, 'npx org' runs the launcher too", async () => {
  const child = Bun.spawn(["npx", "--no-install", "org", "--version"], { cwd: join(REPO_DIR, "cli"), stdout: "pipe", stderr: "pipe" });
  const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  expect(exitCode).toBe(0);
  expect(stdout).toBe("0.1.0\n");
  // npm's exec reads the whole install tree before it runs the bin: 30 s ran out at a load of 20.
}, 60_000);

test("paths the shell would split or expand are quoted so they come back whole", async () => {
  const words = ["plain/path-1.ts", "/tmp/my project/org", "it's $HOME; `x`", "*"];
  const quoted = words.map(shellWord);
  expect(quoted[0]).toBe("plain/path-1.ts");
  const child = Bun.spawn(["/bin/sh", "-c", `printf '%s\\n' ${quoted.join(" ")}`], { stdout: "pipe" });
  expect(await new Response(child.stdout).text()).toBe(`${words.join("\n")}\n`);
});
