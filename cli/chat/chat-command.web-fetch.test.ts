import { afterAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../../room/room-event.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { writeConfirmedConfig } from "../../testing/confirmed-config.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-web-fetch-chat-"));
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** One `chat --once --json` turn in which the agent asks web_fetch for `url`; the model then repeats the tool's result. */
async function turnFetching(url: string, config: unknown): Promise<RoomEvent[]> {
  // A page that must never be read: it listens on loopback, as a metadata service or an admin panel would.
  await using model = await startScriptedServer({
    script: {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "tool said: {{lastMessage}}" } },
        { reply: { toolCalls: [{ name: "web_fetch", arguments: { url } }] } },
      ],
    },
    port: 0,
  });
  writeConfirmedConfig(workspace, config);
  const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace, "--once", "read that page", "--json", "--mode", "direct:agent"]), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: model.url, OLLAMA_MODEL: "qwen3:8b", ORG_PROFILE: "dev" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as RoomEvent);
}

test("a persona that may use web_fetch is still refused a loopback page, from the room as a user runs it", async () => {
  await using secret = {
    server: Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("INTERNAL-ONLY-PAGE") }),
    async [Symbol.asyncDispose]() {
      await this.server.stop(true);
    },
  };
  const url = `http://127.0.0.1:${secret.server.port}/`;
  const events = await turnFetching(url, {
    personas: [{ name: "agent", kind: "agent", tools: { web_fetch: "allow" } }],
    network: { allowedHosts: ["*"] },
  });
  const result = events.find((event) => event.type === "tool-result");
  expect(result).toMatchObject({ type: "tool-result", ok: false, call: { name: "web_fetch" } });
  expect((result as { output: string }).output).toMatch(/port \d+ is refused|loopback/);
  expect(JSON.stringify(events)).not.toContain("INTERNAL-ONLY-PAGE");
  for (const other of ["http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://169.254.169.254/latest/meta-data/"]) {
    const refused = (
      await turnFetching(other, { personas: [{ name: "agent", kind: "agent", tools: { web_fetch: "allow" } }], network: { allowedHosts: ["*"] } })
    ).find((event) => event.type === "tool-result");
    expect((refused as { output: string }).output).toMatch(/loopback|link-local/);
  }
});

test("web_fetch is denied to a persona whose tools do not turn it on", async () => {
  const events = await turnFetching("http://example.com/", { network: { allowedHosts: ["*"] } });
  const result = events.find((event) => event.type === "tool-result") as { ok: boolean; output: string } | undefined;
  expect(result?.ok).toBe(false);
  expect(result?.output).toContain('there is no tool named "web_fetch"');
});
