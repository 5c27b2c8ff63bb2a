import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolsmithPhaseRoutes } from "../personas/model-router.ts";
import { plannerModel, toolsmithModel } from "../personas/persona-model.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { diagnosisModel } from "../supervise/diagnose-incident.ts";
import { loadConfirmedConfig, writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { routeLines } from "./model-routes.ts";
import { loadOrgConfig } from "./org-config.ts";
import { OrgConfigError } from "./org-config-error.ts";

// `models` in org.config.json, the router: parsed, gated where it sends elsewhere, and each purpose's call made to
// the routed model (the scripted server's request log says which model each request asked for).
const base = mkdtempSync(join(tmpdir(), "org-model-routes-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;
const workspace = () => {
  const dir = join(base, `w${dirs++}`);
  return mkdtempSync(`${dir}-`);
};

test("routes parse as a model id or a model on another server; an unknown purpose is named with its key", () => {
  const dir = workspace();
  const env = { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" };
  const file = writeConfirmedConfig(
    dir,
    {
      models: {
        byPurpose: { compaction: "small", "toolsmith.code": { model: "coder", baseUrl: "http://127.0.0.1:8", api: "openai" } },
        byTool: { web_fetch: "reader" },
      },
    },
    env,
  );
  const config = loadConfirmedConfig(file, env, { workspaceDir: dir, checkoutDir: dir });
  expect(config.models.byPurpose?.compaction).toBe("small");
  expect(routeLines(config.models)).toEqual([
    "compaction → small",
    "toolsmith.code → coder on http://127.0.0.1:8 (openai API)",
    "after web_fetch → reader",
  ]);
  writeFileSync(join(dir, "org.config.json"), JSON.stringify({ models: { byPurpose: { painting: "m" } } }));
  expect(() => loadOrgConfig(join(dir, "org.config.json"), env, { workspaceDir: dir, checkoutDir: dir })).toThrow(OrgConfigError);
  try {
    loadOrgConfig(join(dir, "org.config.json"), env, { workspaceDir: dir, checkoutDir: dir });
  } catch (error) {
    expect(String(error)).toContain("models.byPurpose");
  }
});

test("a route to another server waits for org config trust; until then the call stays on the model it stands in for", () => {
  const dir = workspace();
  const env = { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" };
  const file = join(dir, "org.config.json");
  writeFileSync(file, JSON.stringify({ models: { byPurpose: { planning: { model: "far", baseUrl: "http://10.0.0.7:11434" }, diagnosis: "near" } } }));
  const waiting = loadOrgConfig(file, env, { workspaceDir: dir, checkoutDir: dir });
  expect(waiting.models.byPurpose?.planning).toBeUndefined();
  expect(waiting.models.byPurpose?.diagnosis).toBe("near");
  expect(waiting.unconfirmed.map((setting) => setting.setting)).toContain("models.byPurpose.planning.baseUrl");
  expect(loadConfirmedConfig(file, env, { workspaceDir: dir, checkoutDir: dir }).models.byPurpose?.planning).toEqual({
    model: "far",
    baseUrl: "http://10.0.0.7:11434",
  });
});

test("planning, diagnosis and each toolsmith phase ask the model their route names, on its server", async () => {
  await using server = await startScriptedServer({
    script: { models: ["m", "planner", "doctor", "speccer", "coder", "tester", "far"], rules: [{ reply: { text: "ok" } }] },
  });
  await using other = await startScriptedServer({ script: { models: ["far"], rules: [{ reply: { text: "far ok" } }] } });
  const dir = workspace();
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "m", FAR_KEY: "sk-far" };
  const file = writeConfirmedConfig(
    dir,
    {
      models: {
        byPurpose: {
          planning: "planner",
          diagnosis: "doctor",
          "toolsmith.spec": "speccer",
          "toolsmith.code": "coder",
          "toolsmith.tests": { model: "far", baseUrl: other.url },
        },
      },
      servers: { [other.url]: { apiKeyEnv: "FAR_KEY" } },
    },
    env,
  );
  const config = loadConfirmedConfig(file, env, { workspaceDir: dir, checkoutDir: dir });
  const ask = { messages: [{ role: "user" as const, content: "hi" }] };
  await plannerModel(config).stream(ask);
  await diagnosisModel(config)?.stream(ask);
  const route = toolsmithPhaseRoutes(config);
  const smith = toolsmithModel(config);
  for (const phase of ["spec", "implementation", "tests"] as const) await route(phase, smith).stream(ask);
  // --model on `org workflow plan` still wins over the route.
  await plannerModel(config, "m").stream(ask);
  const asked = (requests: typeof server.requests) =>
    requests.filter((request) => request.path === "/v1/chat/completions").map((request) => (request.body as { model: string }).model);
  expect(asked(server.requests)).toEqual(["planner", "doctor", "speccer", "coder", "m"]);
  expect(asked(other.requests)).toEqual(["far"]);
  // The routed server's own key goes with it, and only there.
  expect(other.requests.at(-1)?.authorization).toBe("Bearer sk-far");
  expect(server.requests.every((request) => request.authorization === undefined)).toBe(true);
});
