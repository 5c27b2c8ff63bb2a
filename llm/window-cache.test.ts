import { expect, test } from "bun:test";
import type { ServerWindow } from "./discover-window.ts";
import { httpModel } from "./http-model.ts";
import { fallbackWindow } from "./model-window.ts";
import { scriptedModel } from "./scripted-model.ts";
import { SILENT_WINDOW_RETRY_MS, windowCache } from "./window-cache.ts";
import { wrapModel } from "./wrap-model.ts";

const said = (tokens: number): ServerWindow => ({
  window: { tokens, source: "llama.cpp", detail: `n_ctx ${tokens} from /props` },
  ollamaChat: false,
});
const silent: ServerWindow = { window: fallbackWindow(undefined), ollamaChat: false };

test("a model value asks its server once; another model id asks again; a wrapper passes the window through", async () => {
  let asked = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      if (new URL(request.url).pathname !== "/props") return new Response("404 page not found", { status: 404 });
      asked += 1;
      return Response.json({ default_generation_settings: { n_ctx: 2048 } });
    },
  });
  try {
    const model = wrapModel(httpModel({ server: `http://127.0.0.1:${server.port}`, modelId: "m" }), {});
    const [first, second] = await Promise.all([model.window(), model.window()]);
    expect(first).toEqual({ tokens: 2048, source: "llama.cpp", detail: "n_ctx 2048 from /props" });
    expect(second).toEqual(first);
    expect(asked).toBe(1);
    await model.withModelId("n", "/use").window();
    expect(asked).toBe(2);
  } finally {
    await server.stop(true);
  }
});

test("an abort gives the fallback at once, never an error; the discovery goes on for the next caller", async () => {
  let finish: (value: ServerWindow) => void = () => {};
  const cache = windowCache(
    () => new Promise<ServerWindow>((resolve) => (finish = resolve)),
    () => silent,
  );
  const controller = new AbortController();
  const waiting = cache.get(controller.signal);
  controller.abort();
  expect(await waiting).toEqual(silent);
  expect(cache.settled()).toBeUndefined();
  finish(said(8192));
  expect((await cache.get()).window.tokens).toBe(8192);
  expect(cache.settled()?.window.tokens).toBe(8192);
});

test("a window no server said is asked again after a while; one a server said is kept", async () => {
  let clock = 0;
  let calls = 0;
  const answers = [silent, said(4096), said(9999)];
  const cache = windowCache(
    async () => answers[calls++] ?? silent,
    () => silent,
    () => clock,
  );
  expect((await cache.get()).window.source).toBe("default");
  expect((await cache.get()).window.source).toBe("default");
  expect(calls).toBe(1);
  clock += SILENT_WINDOW_RETRY_MS + 1;
  expect((await cache.get()).window.tokens).toBe(4096);
  clock += 10 * SILENT_WINDOW_RETRY_MS;
  expect((await cache.get()).window.tokens).toBe(4096);
  expect(calls).toBe(2);
});

test("a failing discovery gives the fallback", async () => {
  const cache = windowCache(
    () => Promise.reject(new Error("boom")),
    () => silent,
  );
  expect(await cache.get()).toEqual(silent);
});

test("the scripted model's window: given, else contextTokens, else the default", async () => {
  expect(await scriptedModel([{ text: "x" }]).window()).toEqual(fallbackWindow(undefined));
  expect((await scriptedModel([{ text: "x" }], { contextTokens: 2048 }).window()).source).toBe("config");
  const window = { tokens: 1000, source: "vllm" as const, detail: "max_model_len 1000 from /v1/models" };
  expect(
    await scriptedModel([{ text: "x" }], { window })
      .withModelId("y", "/use")
      .window(),
  ).toEqual(window);
});
