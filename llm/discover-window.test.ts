import { describe, expect, test } from "bun:test";
import { discoverWindow } from "./discover-window.ts";
import { DEFAULT_WINDOW_TOKENS } from "./model-window.ts";

type Answer = unknown | ((request: Request) => Response | Promise<Response>);

/** A small server that answers only the routes given (JSON bodies or handlers), 404 elsewhere: a shape the scripted server does not play. */
function fakeServer(routes: Record<string, Answer>) {
  const asked: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      asked.push(`${request.method} ${path}`);
      const answer = routes[path];
      if (answer === undefined) return new Response("404 page not found", { status: 404 });
      return typeof answer === "function" ? answer(request) : Response.json(answer);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, asked, [Symbol.dispose]: () => void server.stop(true) };
}

const OLLAMA_SHOW = {
  parameters: 'num_ctx                        16384\nstop                           "<|im_end|>"',
  model_info: { "general.architecture": "qwen3", "qwen3.context_length": 40960 },
  capabilities: ["completion", "tools"],
};
const OLLAMA_PS = { models: [{ name: "qwen3:8b", model: "qwen3:8b", context_length: 8192 }] };

describe("Ollama", () => {
  test("through the OpenAI-compatible API: the loaded model's context from /api/ps, the trained length from /api/show", async () => {
    using server = fakeServer({ "/api/show": OLLAMA_SHOW, "/api/ps": OLLAMA_PS });
    const found = await discoverWindow(server.url, "qwen3:8b", { api: "openai" });
    expect(found).toEqual({
      window: { tokens: 8192, source: "ollama", detail: "context_length 8192 of the loaded model in /api/ps", trainedTokens: 40960 },
      ollamaChat: false,
    });
    expect(server.asked).toContain("POST /api/show");
  });

  test("not loaded: the Modelfile's num_ctx; neither: Ollama's default, said as such, or contextTokens when set", async () => {
    using withParameter = fakeServer({ "/api/show": OLLAMA_SHOW });
    expect((await discoverWindow(withParameter.url, "qwen3:8b", { api: "openai" })).window.detail).toBe("num_ctx 16384 from /api/show parameters");
    using bare = fakeServer({ "/api/show": { ...OLLAMA_SHOW, parameters: "" } });
    const plain = await discoverWindow(bare.url, "qwen3", { api: "openai" });
    expect(plain.window).toMatchObject({ tokens: DEFAULT_WINDOW_TOKENS, source: "ollama", trainedTokens: 40960 });
    expect(plain.window.detail).toStartWith("Ollama's default num_ctx of 4096");
    const configured = await discoverWindow(bare.url, "qwen3", { api: "openai", contextTokens: 6000 });
    expect(configured.window).toMatchObject({ tokens: 6000, source: "config", trainedTokens: 40960 });
  });

  test("on its own API (the default) org sets num_ctx: up to the cap, within the trained length", async () => {
    using server = fakeServer({ "/api/show": OLLAMA_SHOW, "/api/ps": OLLAMA_PS });
    const auto = await discoverWindow(server.url, "qwen3:8b", {});
    expect(auto.ollamaChat).toBe(true);
    // The Modelfile's 16384 is more than org's own cap of 8192: org never asks for less than the model is set up with.
    expect(auto.window).toMatchObject({ tokens: 16384, source: "ollama", trainedTokens: 40960 });
    const capped = await discoverWindow(server.url, "qwen3:8b", { maxContextTokens: 100_000 });
    expect(capped.window).toMatchObject({ tokens: 40960, detail: "num_ctx set per request, up to the trained length 40960 from /api/show" });
    const set = await discoverWindow(server.url, "qwen3:8b", { maxContextTokens: 12_000 });
    expect(set.window).toMatchObject({ tokens: 12_000, detail: "num_ctx set per request, up to maxContextTokens 12000" });
  });

  test("an /api/show without model_info's architecture is not Ollama's (the scripted server's plain mode)", async () => {
    using server = fakeServer({
      "/api/show": { model_info: {}, parameters: "num_ctx 9999" },
      "/props": { default_generation_settings: { n_ctx: 2048 } },
    });
    expect(await discoverWindow(server.url, "m", {})).toEqual({
      window: { tokens: 2048, source: "llama.cpp", detail: "n_ctx 2048 from /props" },
      ollamaChat: false,
    });
  });
});

test("llama.cpp, vLLM and LM Studio say their windows in their own shapes", async () => {
  using llama = fakeServer({ "/props": { default_generation_settings: { n_ctx: 4096, n_predict: -1 } } });
  expect((await discoverWindow(`${llama.url}/v1`, "any", {})).window).toEqual({
    tokens: 4096,
    source: "llama.cpp",
    detail: "n_ctx 4096 from /props",
  });
  using vllm = fakeServer({
    "/v1/models": {
      object: "list",
      data: [
        { id: "other", max_model_len: 999_999 },
        { id: "Qwen/Qwen3-8B", max_model_len: 32768 },
      ],
    },
  });
  expect((await discoverWindow(vllm.url, "Qwen/Qwen3-8B", {})).window).toEqual({
    tokens: 32768,
    source: "vllm",
    detail: "max_model_len 32768 from /v1/models",
  });
  using lmStudio = fakeServer({
    "/api/v0/models": { data: [{ id: "qwen3-8b", state: "loaded", max_context_length: 40960, loaded_context_length: 8192 }] },
  });
  expect((await discoverWindow(lmStudio.url, "qwen3-8b", {})).window).toEqual({
    tokens: 8192,
    source: "lm-studio",
    detail: "loaded_context_length 8192 from /api/v0/models",
    trainedTokens: 40960,
  });
  using notLoaded = fakeServer({ "/api/v0/models": { data: [{ id: "qwen3-8b", state: "not-loaded", max_context_length: 40960 }] } });
  expect((await discoverWindow(notLoaded.url, "qwen3-8b", { contextTokens: 12_000 })).window).toMatchObject({
    tokens: 12_000,
    source: "config",
    trainedTokens: 40960,
  });
});

test("hostile answers count as none: out of range, not numbers, the wrong model, a body over the limit, HTML", async () => {
  const hostile: Record<string, Answer>[] = [
    { "/props": { default_generation_settings: { n_ctx: -1 } } },
    { "/props": { default_generation_settings: { n_ctx: 1e12 } } },
    { "/props": { default_generation_settings: { n_ctx: 4096.5 } } },
    { "/props": { default_generation_settings: { n_ctx: "4096; rm -rf /" } } },
    { "/props": { default_generation_settings: null } },
    { "/v1/models": { data: [{ id: "someone-else", max_model_len: 8192 }] } },
    { "/v1/models": { data: "not a list" } },
    {
      "/api/show": { model_info: { "general.architecture": "x", "x.context_length": 8 }, parameters: "num_ctx 99999999999" },
      "/api/ps": { models: "no" },
    },
    { "/props": () => new Response(`{"default_generation_settings":{"n_ctx":8192},"pad":"${"x".repeat(3 * 1024 * 1024)}"}`) },
    { "/props": () => new Response("<html>8192</html>", { headers: { "content-type": "text/html" } }) },
  ];
  for (const routes of hostile) {
    using server = fakeServer(routes);
    const found = await discoverWindow(server.url, "m", { api: "openai" });
    expect({ routes: Object.keys(routes), tokens: found.window.tokens, source: found.window.source }).toEqual({
      routes: Object.keys(routes),
      tokens: DEFAULT_WINDOW_TOKENS,
      source: routes["/api/show"] ? "ollama" : "default",
    });
  }
});

test("a server that never answers, or none at all, gives the fallback within the bound", async () => {
  using silent = fakeServer({ "/props": () => new Promise<Response>(() => {}) });
  const from = performance.now();
  const found = await discoverWindow(silent.url, "m", { timeoutMs: 300, contextTokens: 3000 });
  expect(performance.now() - from).toBeLessThan(5_000);
  expect(found.window).toEqual({ tokens: 3000, source: "config", detail: "contextTokens 3000 in org.config.json" });
  const closed = fakeServer({});
  const url = closed.url;
  closed[Symbol.dispose]();
  expect((await discoverWindow(url, "m", {})).window.source).toBe("default");
});
