import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { orgInvocation } from "./command/org-invocation.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-no-server-"));
chmodSync(workspace, 0o755);
const checkout = tempGitRepo("org-no-server-repo-");
afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  checkout[Symbol.dispose]();
});

async function org(args: string[], base: string) {
  const child = Bun.spawn(orgCommand(args), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: base, OLLAMA_MODEL: "qwen3:8b" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { output: stdout + stderr, exitCode };
}

test("chat, doctor and tool new all point to the bundled scripted server when no model answers, each with its own next command", async () => {
  const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const base = dead.url.origin;
  const port = dead.port;
  dead.stop(true);
  const scripted = `${orgInvocation()} scripted-server --port ${port} --script `;
  const runs = {
    chat: await org(["chat", "--workspace", workspace, "--once", "hello"], base),
    doctor: await org(["doctor", "--workspace", workspace, "--repo", checkout.dir], base),
    "tool new": await org(["tool", "new", "--goal", "count the words in a text", "--repo", checkout.dir], base),
  };
  const next = {
    chat: `OLLAMA_BASE=http://127.0.0.1:${port} OLLAMA_MODEL=scripted ${orgInvocation()} chat`,
    doctor: `OLLAMA_BASE=http://127.0.0.1:${port} OLLAMA_MODEL=scripted ${orgInvocation()} doctor`,
    "tool new": `OLLAMA_BASE=http://127.0.0.1:${port} OLLAMA_MODEL=scripted ${orgInvocation()} tool new --goal 'count the words in a text'`,
  };
  for (const [command, run] of Object.entries(runs)) {
    expect({ command, exitCode: run.exitCode }).toEqual({ command, exitCode: 1 });
    expect({ command, says: run.output.includes(scripted) }).toEqual({ command, says: true });
    expect({ command, next: run.output.split("\n").some((line) => line.trim() === next[command as keyof typeof next]) }).toEqual({
      command,
      next: true,
    });
  }
  // With --json, tool new still ends with its one JSON line.
  const json = await org(["tool", "new", "--goal", "count the words in a text", "--repo", checkout.dir, "--json"], base);
  expect(JSON.parse(json.output.split("\n")[0] ?? "")).toMatchObject({
    ok: false,
    attempts: 0,
    failure: expect.stringContaining(`no model server answers at ${base}`),
  });
  // tool new stops before the toolsmith makes anything in the repository.
  const branches = Bun.spawnSync(["git", "-C", checkout.dir, "branch", "--list", "cand/*"]).stdout.toString();
  expect(branches).toBe("");
}, 60_000);
