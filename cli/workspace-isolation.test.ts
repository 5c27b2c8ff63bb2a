import { afterAll, beforeAll, describe, expect, test } from "bun:test";
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

async function orgIn(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = Bun.spawn([LAUNCHER, ...args], { cwd: workspace.dir, env: environment(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
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
    const child = Bun.spawn([LAUNCHER, "serve", "--port", "0"], { cwd: workspace.dir, env: environment(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
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
    const child = Bun.spawn(orgCommand(["chat", "--once", "hello", "--json", "--mode", "direct:agent"]), { cwd: workspace.dir, env: environment(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expectUntouched(stdout + stderr);
    expect(stdout).toContain("an untouched answer");
    expect(code).toBe(0);
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
