import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { freePort } from "../testing/free-port.ts";
import { hostileWorkspace } from "../testing/hostile-workspace.ts";
import { orgClone } from "../testing/org-clone.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

// Issue 18 §1 through tmux: ops/run.sh and `org instance start` start org in a tmux window. Neither the
// workspace's files nor the tmux server's own global environment may configure it or turn the sandbox off.
const REPO = join(import.meta.dir, "..");
// Made when the tests start, not when the file is imported: an import that runs no test leaves nothing behind.
let workspace: ReturnType<typeof hostileWorkspace>;
let clone: ReturnType<typeof orgClone>;
let tmux: TmuxServer;
let model: Awaited<ReturnType<typeof startScriptedServer>>;

beforeAll(async () => {
  workspace = hostileWorkspace("org-iso-tmux-");
  clone = orgClone("org-iso-clone-");
  tmux = await TmuxServer.start();
  model = await startScriptedServer({ script: { rules: [{ reply: { text: "an untouched answer" } }] }, port: 0 });
  // A tmux server that outlives the tests' sessions, whose global environment the windows would inherit.
  await tmux.newSession("keep", "exec sleep 2147483647");
});
afterAll(async () => {
  await model?.stop();
  await tmux?.close();
  workspace?.[Symbol.dispose]();
  clone?.[Symbol.dispose]();
});

function environment(session: string): Record<string, string | undefined> {
  const { ORG_SANDBOX: _sandbox, OLLAMA_MODEL: _model, ...env } = tmux.env;
  return { ...env, OLLAMA_BASE: model.url, NO_COLOR: "1", ORG_TMUX_SESSION: session };
}

describe("org in tmux, started from a hostile workspace, with a tmux server whose global environment sets ORG_SANDBOX", () => {
  test("ops/run.sh: the room answers; the global ORG_SANDBOX=maybe and the workspace's files count for nothing", async () => {
    await tmux.tmux("set-environment", "-g", "ORG_SANDBOX", "maybe");
    const session = uniqueSessionName("org-iso-run");
    const started = await runOpsScript(REPO, "run.sh", ["--once", "hello", "--mode", "direct:agent"], {
      cwd: workspace.dir,
      env: environment(session),
    });
    expect(started.code).toBe(0);
    const pane = await tmux.waitFor(`=${session}:=chat`, /org exited with code \d+/, 60_000);
    expect(pane).toContain("an untouched answer");
    expect(pane).toContain("org exited with code 0");
    expect(pane).not.toContain("ORG_SANDBOX=maybe");
    expect(workspace.markers()).toEqual([]);
    await tmux.tmux("kill-session", "-t", `=${session}`);
  }, 90_000);

  test("instance start current: a global ORG_SANDBOX=off and a .env in the checkout leave its tools sandboxed", async () => {
    await tmux.tmux("set-environment", "-g", "ORG_SANDBOX", "off");
    writeFileSync(join(clone.dir, ".env"), "ORG_SANDBOX=off\n");
    writeFileSync(join(clone.dir, ".env.local"), "ORG_SANDBOX=off\n");
    writeFileSync(join(clone.dir, "iso.config.json"), JSON.stringify({ serve: { tools: { sh: "allow" } } }));
    // The person's own setting (serve runs sh over HTTP), confirmed for the checkout that current serves.
    confirmConfig(join(clone.dir, "iso.config.json"), {}, { workspaceDir: clone.dir, checkoutDir: clone.dir });
    const session = uniqueSessionName("org-iso-inst");
    const port = freePort();
    const env = { ...environment(session), ORG_CURRENT_PORT: String(port) };
    try {
      const started = await runOpsScript(clone.dir, "start-current.sh", ["--config", "iso.config.json"], { cwd: workspace.dir, env });
      expect(started.all).toContain("current: started; healthy");
      expect(started.code).toBe(0);
      const response = await fetch(`http://127.0.0.1:${port}/v1/tools/sh/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: { cmd: "pwd" } }),
      });
      const result = (await response.json()) as { ok: boolean; data: { stdout: string } };
      // In the sandbox the shell starts in the read view of the workspace; on the host it would be the checkout's path.
      expect(result.data.stdout).toBe("/workspace\n");
      expect(workspace.markers()).toEqual([]);
    } finally {
      await runOpsScript(clone.dir, "stop.sh", [], { cwd: clone.dir, env });
    }
  }, 120_000);
});
