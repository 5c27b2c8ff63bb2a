import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../../config/org-config.ts";
import { probeModelServer } from "../../llm/probe-model-server.ts";
import { probeServers } from "../../personas/server-probe.ts";
import { startFrameServer } from "../../testing/frame-server.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { loadConfirmedConfig, writeConfirmedConfig } from "../../testing/confirmed-config.ts";
import { modelCheck, serverCheck } from "./doctor-checks.ts";

// A model server on 127.0.0.1 whose /api/show says what each model can do.
const capabilities: Record<string, unknown> = { tooly: { capabilities: ["completion", "tools"] }, chatty: { capabilities: ["completion"] } };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const { model } = (await request.json()) as { model: string };
    return Object.hasOwn(capabilities, model) ? Response.json(capabilities[model]) : new Response("no", { status: 404 });
  },
});
const baseUrl = `http://127.0.0.1:${server.port}`;
const configDir = mkdtempSync(join(tmpdir(), "doctor-checks-"));
afterAll(() => {
  server.stop(true);
  rmSync(configDir, { recursive: true, force: true });
});
const config = loadOrgConfig(join(configDir, "org.config.json"), { OLLAMA_BASE: baseUrl, OLLAMA_MODEL: "tooly" });
const persona = config.personas[0];
if (!persona) throw new Error("the default config has personas");
const signal = new AbortController().signal;

test("a server that does not answer fails with how to start one; one that does lists its models", () => {
  expect(serverCheck({ server: baseUrl, reachable: false, error: "refused" })).toMatchObject({ status: "fail", detail: "no answer (refused)" });
  expect(serverCheck({ server: baseUrl, reachable: true, models: ["a", "b"] })).toMatchObject({ status: "ok", detail: "answers; 2 model(s): a, b" });
  expect(serverCheck({ server: baseUrl, reachable: true, models: [], refused: "GET /v1/models answered HTTP 401" })).toMatchObject({
    status: "fail",
    fix: expect.stringContaining("apiKeyEnv"),
  });
});

test("a model is checked on its server: missing, able to call tools, not able, or unknown", async () => {
  const probe = { server: baseUrl, reachable: true as const, models: ["tooly", "chatty", "quiet"] };
  expect((await modelCheck(config, persona, undefined, signal)).status).toBe("fail");
  expect(await modelCheck(config, { ...persona, model: "absent" }, probe, signal)).toMatchObject({
    status: "fail",
    fix: expect.stringContaining("ollama pull absent"),
  });
  expect(await modelCheck(config, persona, probe, signal)).toMatchObject({ status: "ok", detail: "present; can call tools" });
  expect((await modelCheck(config, { ...persona, model: "chatty" }, probe, signal)).status).toBe("fail");
  expect((await modelCheck(config, { ...persona, model: "quiet" }, probe, signal)).status).toBe("warn");
});

test("an Anthropic server is probed with its key (x-api-key on /v1/models) and its model is checked without Ollama's /api/show", async () => {
  await using claude = await startScriptedServer({ script: { models: ["claude-test"], rules: [{ reply: { text: "hi" } }] } });
  const dir = mkdtempSync(join(configDir, "anthropic-"));
  const env = { OLLAMA_BASE: baseUrl, ANTHROPIC_API_KEY: "sk-ant-doctor" };
  const file = writeConfirmedConfig(
    dir,
    { personas: [{ name: "agent", kind: "agent", model: "claude-test", baseUrl: claude.url, api: "anthropic", apiKeyEnv: "ANTHROPIC_API_KEY" }] },
    env,
  );
  const anthropic = loadConfirmedConfig(file, env, { workspaceDir: dir, checkoutDir: dir });
  const [probe] = await probeServers(anthropic, signal);
  expect(probe).toMatchObject({ reachable: true, models: ["claude-test"] });
  const agent = anthropic.personas[0];
  if (!agent || !probe) throw new Error("one persona, one server");
  expect(await modelCheck(anthropic, agent, probe, signal)).toMatchObject({
    status: "ok",
    detail: expect.stringContaining("Anthropic's Messages API"),
  });
  expect((await modelCheck(anthropic, { ...agent, model: "claude-absent" }, probe, signal)).fix).not.toContain("ollama pull");
  expect(claude.requests.map((request) => [request.path, request.apiKey])).toEqual([["/v1/models", "sk-ant-doctor"]]);
});

test("a server that refuses the key on /v1/models (Anthropic's 401) fails the server check, naming the key to fix", async () => {
  const body = JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
  await using refusing = startFrameServer([{ status: 401, headers: { "content-type": "application/json" }, chunks: [body] }]);
  const probe = await probeModelServer(refusing.url, { server: refusing.url, authorization: "Bearer sk-wrong", anthropic: true });
  expect(probe).toMatchObject({ reachable: true, refused: expect.stringContaining("HTTP 401") });
  expect(serverCheck(probe)).toMatchObject({ status: "fail", detail: expect.stringContaining("refuses the credentials") });
});
