import { describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { exitsWithin, isLive, sandboxesOf } from "../testing/process-tree.ts";
import { post } from "../testing/serve-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

// Far below the 60 s the command would run without the signal; far above what a loaded machine takes to stop.
const SIGNAL_BOUND_MS = 20_000;

// The agent runs a command that would take a minute; the signal comes while it runs.
const SLEEPER = {
  rules: [
    { when: { lastRole: "tool" as const }, reply: { text: "done" } },
    { reply: { toolCalls: [{ name: "sh", arguments: { cmd: "sleep 60" } }] } },
  ],
};

/** Starts `org <args>` in a fresh workspace, waits until it runs a sandbox, signals it, and checks how it ended. */
async function signalDuringSandbox(
  args: (workspace: string) => string[],
  signal: "SIGTERM" | "SIGINT",
  start?: (proc: Bun.Subprocess<"ignore", "pipe", "pipe">) => Promise<void>,
) {
  await using model = await startScriptedServer({ script: SLEEPER, port: 0 });
  const workspace = mkdtempSync(join(tmpdir(), "org-signal-ws-"));
  chmodSync(workspace, 0o755);
  try {
    const proc = Bun.spawn(orgCommand([...args(workspace)]), {
      env: { PATH: "/usr/bin:/bin", OLLAMA_BASE: model.url, OLLAMA_MODEL: "qwen3:8b", NO_COLOR: "1" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    await start?.(proc);
    let sandboxes: number[] = [];
    await waitUntil(
      "a sandbox running the command",
      () => {
        sandboxes = sandboxesOf(proc.pid);
        return sandboxes.length > 0;
      },
      60_000,
    );
    proc.kill(signal);
    const exited = await exitsWithin(proc, SIGNAL_BOUND_MS);
    if (!exited) proc.kill("SIGKILL");
    await waitUntil("the sandbox's processes to be gone", () => sandboxes.every((pid) => !isLive(pid)), SIGNAL_BOUND_MS);
    return { exited, stderr: exited ? await new Response(proc.stderr).text() : "" };
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

describe("org serve and org chat stop on a signal while a tool runs (real processes, real sandbox)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`serve: ${signal} during a turn's sandboxed command ends it long before it would end by itself, the sandbox gone`, async () => {
      const { exited, stderr } = await signalDuringSandbox(
        (workspace) => ["serve", "--port", "0", "--workspace", workspace],
        signal,
        async (proc) => {
          const reader = proc.stdout.getReader();
          const { value } = await reader.read();
          reader.releaseLock();
          const url = /listening on (http:\/\/\S+)/.exec(new TextDecoder().decode(value))?.[1] as string;
          // The turn's response is left streaming: the signal ends it.
          void fetch(post(`${url}/v1/messages`, { text: "run it", mode: "direct:agent" }))
            .then((response) => response.text())
            .catch(() => {});
        },
      );
      expect(exited).toBe(true);
      expect(stderr).toContain("stopping");
    }, 90_000);

    test(`chat --once: ${signal} during a sandboxed command ends it long before it would end by itself, the sandbox gone`, async () => {
      const { exited } = await signalDuringSandbox(
        (workspace) => ["chat", "--workspace", workspace, "--once", "run it", "--mode", "direct:agent", "--yes"],
        signal,
      );
      expect(exited).toBe(true);
    }, 90_000);
  }
});
