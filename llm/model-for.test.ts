import { expect, test } from "bun:test";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { modelFor } from "./model-for.ts";
import { serverKeys } from "./server-keys.ts";
import { wrapModel } from "./wrap-model.ts";

const script = { models: ["m", "n"], rules: [{ reply: { text: "hi" } }] };

// The one key rule, proved where it is enforced: real servers on 127.0.0.1 record the Authorization header each got,
// for a completion, a model list and a probe alike.
test("modelFor: OPENAI_API_KEY only to OLLAMA_BASE's server, a named key only to its own, URL credentials as a header, none elsewhere", async () => {
  await using near = await startScriptedServer({ script });
  await using far = await startScriptedServer({ script });
  await using other = await startScriptedServer({ script });
  await using proxy = await startScriptedServer({ script });
  const proxyUrl = `http://bob:s3cret%40pass@127.0.0.1:${proxy.port}/v1`;
  const keys = serverKeys({
    defaultServer: near.url,
    defaultKey: "openai-key-1",
    named: [{ server: `${far.url}/v1`, key: "far-key-2" }],
    urls: [proxyUrl],
  });
  const ask = async (server: string) => {
    const model = modelFor({ server, modelId: "m", retry: { retries: 0 } }, keys);
    await model.stream({ messages: [{ role: "user", content: "hello" }] });
    await model.listModels();
    expect((await model.probe()).reachable).toBe(true);
    return model;
  };
  await ask(near.url);
  await ask(far.url);
  await ask(other.url);
  // The same port by another name is another origin: no key goes there.
  await ask(`http://localhost:${near.port}`);
  const behindProxy = await ask(proxyUrl);
  expect(behindProxy.server).toBe(`http://127.0.0.1:${proxy.port}/v1`);
  const got = (server: typeof near) => [
    ...new Set(server.requests.map((request) => `${request.method} ${request.path} ${request.authorization ?? "none"}`)),
  ];
  expect(got(near)).toEqual([
    "POST /v1/chat/completions Bearer openai-key-1",
    "GET /v1/models Bearer openai-key-1",
    "POST /v1/chat/completions none",
    "GET /v1/models none",
  ]);
  expect(got(far)).toEqual(["POST /v1/chat/completions Bearer far-key-2", "GET /v1/models Bearer far-key-2"]);
  expect(got(other)).toEqual(["POST /v1/chat/completions none", "GET /v1/models none"]);
  const basic = `Basic ${Buffer.from("bob:s3cret@pass").toString("base64")}`;
  expect(got(proxy)).toEqual([`POST /v1/chat/completions ${basic}`, `GET /v1/models ${basic}`]);
  // A model switched to another id keeps its server's key.
  far.requests.length = 0;
  await modelFor({ server: far.url, modelId: "m" }, keys)
    .withModelId("n", "/use")
    .stream({ messages: [{ role: "user", content: "again" }] });
  expect(far.requests.map((request) => request.authorization)).toEqual(["Bearer far-key-2"]);
});

test("serverKeys: a name that is no URL keys nothing (no `__proto__` origin), and no server gets another's key", () => {
  const keys = serverKeys({ defaultServer: "__proto__", defaultKey: "k", named: [{ server: "not a url", key: "k2" }] });
  expect(Object.keys(keys)).toEqual([]);
  expect(Object.getPrototypeOf(keys)).toBe(Object.prototype);
});

test("probe: an unreachable server is said, never thrown, within its bound; a wrapped model probes and lists through its inner one", async () => {
  const server = await startScriptedServer({ script });
  const url = server.url;
  await server.stop();
  const model = modelFor({ server: url, modelId: "m" }, {});
  const probe = await model.probe(AbortSignal.timeout(10_000));
  expect(probe).toMatchObject({ server: url, reachable: false });
  let streamed = 0;
  const wrapped = wrapModel(model, {
    async wrapStream({ doStream }) {
      streamed += 1;
      return await doStream();
    },
  });
  expect(await wrapped.probe()).toMatchObject({ server: url, reachable: false });
  expect(wrapped.withModelId("n", "/use").modelId).toBe("n");
  expect(streamed).toBe(0);
});
