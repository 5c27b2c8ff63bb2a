import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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
 * A PATH with only what the launcher runs (`readlink`, for a link; no `dirname`): never an `org`, though `npm link` may
 * have put this checkout's in /usr/bin or npm's prefix.
 */
function pathWithoutOrg(): string {
  const tools = join(scratch, "launcher-tools");
  mkdirSync(tools, { recursive: true });
  for (const tool of ["readlink"]) {
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

/** A checkout holding this launcher and, as its bun, a script that prints BUN_JSC_useJIT ("unset" without it) and its arguments. */
function checkoutWithEchoBun(name: string): string {
  const checkout = join(scratch, name);
  mkdirSync(join(checkout, "bin"), { recursive: true });
  mkdirSync(join(checkout, "node_modules", ".bin"), { recursive: true });
  copyFileSync(LAUNCHER, join(checkout, "bin", "org"));
  chmodSync(join(checkout, "bin", "org"), 0o755);
  const bun = join(checkout, "node_modules", ".bin", "bun");
  writeFileSync(bun, `#!/bin/sh\nprintf '%s\\n' "\${BUN_JSC_useJIT-unset}" "$@"\n`);
  chmodSync(bun, 0o755);
  return realpathSync(checkout);
}

test("the launcher turns bun's JIT off for 'org sandbox' alone, found through links of either kind", async () => {
  const checkout = checkoutWithEchoBun("echo-checkout");
  const links = join(scratch, "echo-links");
  mkdirSync(join(links, "deeper"), { recursive: true });
  // An absolute link to a relative one, run by a bare name from PATH: the launcher follows both back to the checkout.
  symlinkSync(join(checkout, "bin", "org"), join(links, "deeper", "org"));
  symlinkSync(join("deeper", "org"), join(links, "org"));
  const flags = [`--config=${checkout}/bunfig.toml`, `--tsconfig-override=${checkout}/tsconfig.json`, `${checkout}/main.ts`];
  const path = `${links}:${pathWithoutOrg()}`;
  const sandbox = await shell("org sandbox run -- 'a b'", scratch, path);
  expect(sandbox.stderr).toBe("");
  expect(sandbox.stdout).toBe(["0", "--no-env-file", "--no-install", ...flags, "sandbox", "run", "--", "a b", ""].join("\n"));
  for (const other of ["chat --once hi", "--help", "tool list"]) {
    const run = await shell(`org ${other}`, scratch, path);
    expect(run.stdout).toBe(["unset", "--no-env-file", "--no-install", ...flags, ...other.split(" "), ""].join("\n"));
  }
  const byPath = await shell(`${shellWord(join(checkout, "bin", "org"))} sandbox check`, links, path);
  expect(byPath.stdout.split("\n").slice(0, 2)).toEqual(["0", "--no-env-file"]);
});

test("the launcher hands bun the checkout's real path, with or without a link, '.' or '..' in its own, '..' after a link", async () => {
  // Without a link on the way the shell's tests find it; through a link, pwd -P does: both must give the same words.
  const checkout = checkoutWithEchoBun("real-path-checkout");
  const linked = join(scratch, "real-path-link");
  symlinkSync(checkout, linked);
  // A '..' after a link is the folder above the link's target, as the kernel took it: scratch/bin does not exist.
  const binLink = join(scratch, "real-path-bin-link");
  symlinkSync(join(checkout, "bin"), binLink);
  const flags = [`--config=${checkout}/bunfig.toml`, `--tsconfig-override=${checkout}/tsconfig.json`, `${checkout}/main.ts`];
  for (const launcher of [
    `${checkout}/bin/org`,
    `${checkout}//bin/../bin/./org`,
    `${checkout}/bin/../../real-path-checkout/bin/org`,
    `${linked}/bin/org`,
    `${binLink}/../bin/org`,
  ]) {
    const run = await shell(`${shellWord(launcher)} --version`, scratch, pathWithoutOrg());
    expect({ launcher, stdout: run.stdout }).toEqual({
      launcher,
      stdout: ["unset", "--no-env-file", "--no-install", ...flags, "--version", ""].join("\n"),
    });
  }
  const missing = await shell(`${shellWord(join(scratch, "no-such-checkout", "bin", "..", "bin", "org"))} --version`, scratch, pathWithoutOrg());
  expect(missing.exitCode).not.toBe(0);
});

test("with a bun from PATH instead of the checkout's own, the launcher leaves bun's options alone", async () => {
  // Another version of bun may not know the option, and bun refuses to start on one it does not know.
  const checkout = checkoutWithEchoBun("path-bun-checkout");
  const onPath = join(scratch, "path-bun");
  mkdirSync(onPath);
  renameSync(join(checkout, "node_modules", ".bin", "bun"), join(onPath, "bun"));
  const sandbox = await shell(`${shellWord(join(checkout, "bin", "org"))} sandbox run -- /bin/true`, scratch, `${onPath}:${pathWithoutOrg()}`);
  expect(sandbox.stderr).toBe("");
  expect(sandbox.stdout.split("\n").slice(0, 2)).toEqual(["unset", "--no-env-file"]);
});

test("what the launcher sets for org's own bun never reaches the sandboxed command or bwrap's PID 1", async () => {
  const elsewhere = join(scratch, "jit-elsewhere");
  mkdirSync(elsewhere);
  const script = "tr '\\0' '\\n' < /proc/1/environ; echo --; env";
  const run = await shell(`${shellWord(LAUNCHER)} sandbox run --workspace . -- /bin/sh -c ${shellWord(script)}`, elsewhere, pathWithoutOrg());
  expect(run.exitCode).toBe(0);
  const result = JSON.parse(run.stdout);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toContain("PATH=/usr/bin:/bin\n--\n");
  expect(result.stdout).not.toContain("BUN_JSC");
}, 60_000);

test("inside the checkout, 'npx org' runs the launcher too", async () => {
  const child = Bun.spawn(["npx", "--no-install", "org", "--version"], {
    cwd: join(REPO_DIR, "cli"),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 140_000,
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  // stderr shown only on a failure: npm may warn of its own settings there.
  expect({ exitCode, stdout, stderr: exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stdout: "0.1.0\n", stderr: "" });
  // npm's exec reads the whole install tree before it runs the bin: 30 s ran out at a load of 20, 60 s at 35.
}, 150_000);

test("paths the shell would split or expand are quoted so they come back whole", async () => {
  const words = ["plain/path-1.ts", "/tmp/my project/org", "it's $HOME; `x`", "*"];
  const quoted = words.map(shellWord);
  expect(quoted[0]).toBe("plain/path-1.ts");
  const child = Bun.spawn(["/bin/sh", "-c", `printf '%s\\n' ${quoted.join(" ")}`], { stdout: "pipe" });
  expect(await new Response(child.stdout).text()).toBe(`${words.join("\n")}\n`);
});
