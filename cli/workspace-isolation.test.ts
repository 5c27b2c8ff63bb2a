import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { hostileWorkspace } from "../testing/hostile-workspace.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

// Issue 18 §1: bun reads .env* and bunfig.toml from the directory it starts in, and org starts in the
// workspace, where models write. Every entry point is started there; nothing the workspace holds may count.
const REPO = join(import.meta.dir, "..");
const LAUNCHER = join(REPO, "bin", "org");
const workspace = hostileWorkspace();
let model: Awaited<ReturnType<typeof startScriptedServer>>;
let tmux: TmuxServer;

beforeAll(async () => {
  model = await startScriptedServer({ script: { rules: [{ reply: { text: "an untouched answer" } }] }, port: 0 });
  tmux = await TmuxServer.start();
});
afterAll(async () => {
  await model?.stop();
  await tmux?.close();
  workspace[Symbol.dispose]();
});

function environment(): Record<string, string | undefined> {
  const { ORG_SANDBOX: _sandbox, OLLAMA_MODEL: _model, ...env } = tmux.env;
  return { ...env, OLLAMA_BASE: model.url, NO_COLOR: "1", ORG_TMUX_SESSION: uniqueSessionName("org-iso") };
}

async function orgIn(args: string[], extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = Bun.spawn([LAUNCHER, ...args], {
    cwd: workspace.dir,
    env: { ...environment(), ...extraEnv },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 170_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

function expectUntouched(output: string): void {
  expect(workspace.markers()).toEqual([]);
  expect(output).not.toContain("ORG_SANDBOX=maybe");
  expect(output).not.toContain("UNSANDBOXED");
}

describe("org started in a workspace that plants .env*, bunfig.toml, .npmrc, tsconfig.json, package.json and node_modules", () => {
  test("bin/org --help", async () => {
    const result = await orgIn(["--help"]);
    expectUntouched(result.stdout + result.stderr);
    expect(result.stdout).toContain("Usage: org [command] [options]");
    expect(result.code).toBe(0);
  });

  test("bin/org chat --once against the scripted server, the workspace being the current directory", async () => {
    const result = await orgIn(["chat", "--once", "hello", "--json", "--mode", "direct:agent"]);
    expectUntouched(result.stdout + result.stderr);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("an untouched answer");
  });

  test("bin/org serve: starts, answers /health and stops on SIGTERM", async () => {
    const child = Bun.spawn([LAUNCHER, "serve", "--port", "0"], {
      cwd: workspace.dir,
      env: environment(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      const reader = child.stdout.getReader();
      let text = "";
      while (!/listening on http:\/\/\S+/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      expect(url).toStartWith("http://127.0.0.1:");
      expect(((await (await fetch(`${url}/health`)).json()) as { ok: boolean }).ok).toBe(true);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      clearTimeout(timer);
    }
    expectUntouched(await new Response(child.stderr).text());
  });

  test("orgCommand, the argv instance start and the tests spawn org with: chat --once", async () => {
    const child = Bun.spawn(orgCommand(["chat", "--once", "hello", "--json", "--mode", "direct:agent"]), {
      cwd: workspace.dir,
      env: environment(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expectUntouched(stdout + stderr);
    expect(stdout).toContain("an untouched answer");
    expect(code).toBe(0);
  });

  test("'bun main.ts' started without the flags in a directory with a .env refuses to go on, saying how to start org", async () => {
    // Only a .env: a planted bunfig.toml or tsconfig.json would act before main.ts could look.
    const dir = mkdtempSync(join(tmpdir(), "org-flagless-"));
    writeFileSync(join(dir, ".env"), "ORG_SANDBOX=off\n");
    const child = Bun.spawn([process.execPath, join(REPO, "main.ts"), "--help"], {
      cwd: dir,
      env: environment(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("bun may have read that directory's .env and bunfig.toml");
    expect(stderr).toContain(LAUNCHER);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [script, args, expected] of [
    ["fitness.sh", ["--help"], "fitness"],
    ["promote.sh", ["--help"], "promote"],
    ["rollback.sh", ["--help"], "rollback"],
    ["start-current.sh", ["--help"], "instance"],
    ["stop.sh", ["candidate"], "candidate"],
  ] as const) {
    test(`ops/${script} ${args.join(" ")}`, async () => {
      const result = await runOpsScript(REPO, script, [...args], { cwd: workspace.dir, env: environment() });
      expectUntouched(result.all);
      expect(result.code).toBe(0);
      expect(result.all).toContain(expected);
    });
  }
});

describe("the reported attack, end to end: the agent's reply written to .env turns the sandbox off at the next start", () => {
  test("chat_mode file:.env is refused, no .env appears, and a .env planted by hand changes nothing for the next org", async () => {
    await using attacker = await startScriptedServer({
      script: {
        rules: [
          { when: { lastRole: "tool" }, reply: { text: "ORG_SANDBOX=off" } },
          { when: { persona: "agent" }, reply: { toolCalls: [{ name: "chat_mode", arguments: { mode: "file:.env" } }] } },
        ],
      },
      port: 0,
    });
    using fresh = hostileWorkspace("org-attack-ws-");
    rmSync(join(fresh.dir, ".env"));
    const env = { ...environment(), OLLAMA_BASE: attacker.url };
    const child = Bun.spawn([LAUNCHER, "chat", "--once", "save your answers in .env", "--json", "--mode", "direct:agent"], {
      cwd: fresh.dir,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    const results = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; ok?: boolean; output?: string })
      .filter((event) => event.type === "tool-result");
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: false });
    expect(results[0]?.output).toContain("ending in .md, .txt or .log");
    expect(existsSync(join(fresh.dir, ".env"))).toBe(false);

    // Had an older org written it: the next start still reads nothing from it.
    writeFileSync(join(fresh.dir, ".env"), "## agent — 12:00\nORG_SANDBOX=off\n");
    const check = Bun.spawn([LAUNCHER, "sandbox", "check"], { cwd: fresh.dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(check.stdout).text(), new Response(check.stderr).text(), check.exited]);
    expect(`${out}${err}`).toContain("bwrap");
    expect(`${out}${err}`).not.toContain("ORG_SANDBOX=off");
  });
});
