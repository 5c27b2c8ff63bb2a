import { expect, test } from "bun:test";
import { isolatedBunFlags, orgCommand } from "../config/org-bun-command.ts";
import { join } from "node:path";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
async function org(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(orgCommand(args), { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

// `org --help` as a process prints it, asked once for the tests that read it.
let mainHelpRun: ReturnType<typeof org> | undefined;
const mainHelp = () => {
  mainHelpRun ??= org(["--help"]);
  return mainHelpRun;
};

/**
 * What `org ARGS` reports for a command line main() refuses, from main.ts's own two calls in this process (main, then
 * failureReport for what it threw): a process each was a second of CPU for this file's loops, and the process's stderr
 * is this text (the loop below checks one case both ways).
 */
async function refusedInProcess(args: string[]): Promise<{ stderr: string; exitCode: number }> {
  const { failureReport, main } = await import("./org-main.ts");
  const outcome = await main(args).then(
    (exitCode) => ({ stderr: "", exitCode }),
    async (error: unknown) => {
      const failure = await failureReport(error);
      return { stderr: failure.text, exitCode: failure.exitCode };
    },
  );
  return outcome;
}

/** A command's help as `org COMMAND --help` prints it: runOrg prints the loaded command's `help`. */
async function commandHelp(name: string): Promise<string> {
  const { commands } = await import("./command-table.ts");
  const entry = commands.find((command) => command.name === name);
  if (!entry) throw new Error(`no command ${name} in the command table`);
  return `${(await entry.load()).help}\n`;
}

test("'help COMMAND' prints that command's help; an unknown one is a usage error", async () => {
  const chat = await org(["help", "chat"]);
  expect(chat.exitCode).toBe(0);
  expect(chat.stdout).toBe((await org(["chat", "--help"])).stdout);
  expect(chat.stdout).toContain("--workspace DIR");
  const unknown = await org(["help", "nope"]);
  expect(unknown.exitCode).toBe(2);
  expect(unknown.stderr).toContain("no command 'nope'. Commands: chat, demo, serve, sandbox, scripted-server, tool, workflow");
});

test("help and the version are the same through the command table, for an isolated start spelled otherwise", async () => {
  const [noEnv = "", noInstall = ""] = isolatedBunFlags();
  const checkout = join(import.meta.dir, "..");
  // The same files by another path: only the command table (after node:fs resolved them) takes this start.
  const respelled = [`--config=${checkout}/./bunfig.toml`, `--tsconfig-override=${checkout}/cli/../tsconfig.json`];
  for (const args of [["--help"], ["help"], ["--version"], ["-v"]]) {
    const child = Bun.spawn([process.execPath, noEnv, noInstall, ...respelled, join(checkout, "main.ts"), ...args], {
      cwd: "/",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ stderr, exitCode }).toEqual({ stderr: "", exitCode: 0 });
    expect(stdout).toBe((await (args[0] === "--help" ? mainHelp() : org(args))).stdout);
  }
});

test("a mistyped ORG_SANDBOX stops org before anything runs, saying which values it takes", async () => {
  const result = await org(["sandbox", "run", "--", "true"], { ORG_SANDBOX: "maybe" });
  expect(result.exitCode).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toBe(
    "org: ORG_SANDBOX=maybe is not a setting org knows: leave it unset (or 'on') to sandbox every tool, or 'off' to run them on the host unsandboxed\n",
  );
  // Help still shows, so the user can read what the settings are.
  expect((await org(["--help"], { ORG_SANDBOX: "maybe" })).exitCode).toBe(0);
});

test("an address the system refuses is one line naming it, not a stack trace", async () => {
  const result = await org([
    "scripted-server",
    "--script",
    join(import.meta.dir, "..", "demo", "demo-script.json"),
    "--host",
    "192.0.2.1",
    "--port",
    "0",
  ]);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toBe(
    "org: cannot listen on 192.0.2.1: no interface of this machine has that address; use --host 127.0.0.1 or one of its own addresses\n",
  );
});

test("every subcommand refuses an unknown flag and a missing value the same way, pointing at its own --help", async () => {
  const cases: [string[], string, string][] = [
    [["chat", "--colour"], "unknown option '--colour' for chat", "chat"],
    [["chat", "--mode"], "--mode needs a value", "chat"],
    [["demo", "--slow"], "unknown option '--slow' for demo", "demo"],
    [["demo", "--workspace"], "--workspace needs a value", "demo"],
    [["sandbox", "run", "--bogus", "--", "true"], "unknown option '--bogus' for sandbox run", "sandbox"],
    [["sandbox", "check", "--workspace"], "--workspace needs a value", "sandbox"],
    [["scripted-server", "--verbose"], "unknown option '--verbose' for scripted-server", "scripted-server"],
    [["scripted-server", "--script"], "--script needs a value", "scripted-server"],
    [["serve", "--portt", "1"], "unknown option '--portt' for serve", "serve"],
    [["serve", "--port"], "--port needs a value", "serve"],
    [["instance", "start", "--fast"], "unknown option '--fast' for instance", "instance"],
  ];
  for (const [args, message, command] of cases) {
    const result = await refusedInProcess(args);
    expect({ args, exitCode: result.exitCode }).toEqual({ args, exitCode: 2 });
    const [first, hint, ...more] = result.stderr.trimEnd().split("\n");
    expect(first).toBe(`org: ${message}`);
    expect(hint).toMatch(new RegExp(`^Run '(org|\\S+/bin/org) ${command} --help' for usage\\.$`));
    expect(more).toEqual([]);
  }
  // The process prints exactly that on stderr, nothing on stdout, and exits with that code (demo's wrong flag).
  const [args] = cases[2] as [string[], string, string];
  expect(args).toEqual(["demo", "--slow"]);
  expect(await org(args)).toEqual({ ...(await refusedInProcess(args)), stdout: "" });
}, 60_000);

test("every help text speaks of the one command, org, and never of bun main.ts", async () => {
  const main = await mainHelp();
  expect(main.stdout).toContain("Usage: org [command] [options]");
  const commands = ["chat", "demo", "serve", "sandbox", "scripted-server", "instance", "fitness", "promote", "rollback", "candidate"];
  expect(main.stdout).toContain(`Commands:\n  ${commands[0]}`);
  for (const command of commands) {
    const help = await commandHelp(command);
    expect(help).toMatch(new RegExp(`^Usage:\\s+org ${command}`));
    expect(help).not.toContain("main.ts");
  }
  // What a process prints for COMMAND --help is that text ('help COMMAND' above runs chat's both ways).
  const demo = await org(["demo", "--help"]);
  expect(demo).toEqual({ stdout: await commandHelp("demo"), stderr: "", exitCode: 0 });
  expect(demo.stdout).toContain("Usage: org demo [--fast]");
  expect(main.stdout).not.toContain("main.ts");
}, 60_000);

test("invariant 10: an error that quotes outside text reaches the terminal with its escape sequences made visible", async () => {
  const result = await org(["chat", "--once", "hi", "--mode", "direct:x\x1b]0;pwned\x07\u009b"]);
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain('no persona "x\\x1b]0;pwned\\x07\\u009b"');
  expect(result.stderr).not.toMatch(/[\x1b\x07\u009b]/);
});

test("the command table names each command and its summary as the loaded command does, in --help order", async () => {
  const { commands } = await import("./command-table.ts");
  for (const entry of commands) {
    const command = await entry.load();
    expect({ name: command.name, summary: command.summary }).toEqual({ name: entry.name, summary: entry.summary });
  }
  const help = (await mainHelp()).stdout;
  const listed = help
    .split("Commands:\n")[1]
    ?.split("\n\n")[0]
    ?.split("\n")
    .map((line) => line.trim().split(/\s+/)[0]);
  expect(listed).toEqual(commands.map((entry) => entry.name));
}, 60_000);

test("org --help's serve line names every kind of route serve --help lists", async () => {
  const main = (await mainHelp()).stdout;
  const serveLine = main.split("\n").find((line) => line.trimStart().startsWith("serve "));
  const routes = await commandHelp("serve");
  // Each route of serve's own help, and the word its summary must use for it.
  const kinds: [string, string][] = [
    ["/v1/messages", "SSE messages"],
    ["/v1/jobs", "jobs"],
    ["/v1/chat/completions", "OpenAI chat API"],
    ["/v1/tools", "tools"],
    ["/mcp", "MCP"],
    ["/health", "health"],
    ["/metrics", "metrics"],
  ];
  for (const [route, word] of kinds) {
    expect({ route, listed: routes.includes(` ${route}`) }).toEqual({ route, listed: true });
    expect({ route, summary: serveLine?.includes(word) }).toEqual({ route, summary: true });
  }
}, 60_000);
