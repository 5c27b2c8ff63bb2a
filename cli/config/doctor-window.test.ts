import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../../config/org-config.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { windowChecks } from "./doctor-window.ts";

const configDir = mkdtempSync(join(tmpdir(), "doctor-window-"));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));
const signal = new AbortController().signal;
const script = { models: ["m"], rules: [{ reply: { text: "hi" } }] };
const configFor = (url: string) => loadOrgConfig(join(configDir, "org.config.json"), { OLLAMA_BASE: url, OLLAMA_MODEL: "m" });

test("each persona's window comes from its server, with the source, and what its system prompt and tools take", async () => {
  await using server = await startScriptedServer({ script, contextTokens: 16_384 });
  const config = configFor(server.url);
  const checks = await windowChecks(config, [{ server: server.url, reachable: true, models: ["m"] }], signal);
  expect(checks.map((check) => check.name)).toEqual(["agent's window", "python's window", "toolsmith's window"]);
  const agent = checks[0];
  expect(agent).toMatchObject({ status: "ok", window: { tokens: 16_384, source: "llama.cpp", detail: "n_ctx 16384 from /props" } });
  // The agent is offered sh, workflow_run, plan_workflow and the rest: their schemas are most of what it takes.
  expect(agent?.window?.systemAndToolsTokens).toBeGreaterThan(checks[2]?.window?.systemAndToolsTokens ?? 0);
  expect(agent?.detail).toStartWith("16384 tokens (llama.cpp: n_ctx 16384 from /props); its system prompt and tools take about ");
});

test("a window the system prompt and tools take more than half of, or one no server said, is a warning with its fix", async () => {
  await using small = await startScriptedServer({ script, contextTokens: 600 });
  const [agent] = await windowChecks(configFor(small.url), [{ server: small.url, reachable: true, models: ["m"] }], signal);
  expect(agent).toMatchObject({
    status: "warn",
    detail: expect.stringContaining("more than half of it"),
    fix: expect.stringContaining("fewer tools"),
  });

  await using silent = await startScriptedServer({ script });
  const [unsaid] = await windowChecks(configFor(silent.url), [{ server: silent.url, reachable: true, models: ["m"] }], signal);
  expect(unsaid).toMatchObject({ status: "warn", window: { tokens: 4096, source: "default" }, fix: expect.stringContaining("contextTokens") });
  // A server that does not answer is its model's check to fail, not a window to guess.
  expect(await windowChecks(configFor(silent.url), [{ server: silent.url, reachable: false, error: "refused" }], signal)).toEqual([]);
});
