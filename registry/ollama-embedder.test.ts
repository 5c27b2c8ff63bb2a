import { describe, expect, test } from "bun:test";
import { EMBED_BATCH, EmbeddingUnavailableError, ollamaEmbedder } from "./ollama-embedder.ts";

/** A server on 127.0.0.1 that answers /api/embed with `body`. */
function serverAnswering(body: () => Response) {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: body });
  return { url: `http://127.0.0.1:${server.port}`, [Symbol.dispose]: () => void server.stop(true) };
}

describe("an embedding server that answers nonsense is no server", () => {
  test.each([
    ["uneven vectors", () => Response.json({ embeddings: [[1, 2], [1]] }), "vectors of uneven, changed or no length"],
    ["fewer vectors than texts", () => Response.json({ embeddings: [[1, 2]] }), "answered 1 vectors of uneven, changed or no length for 2 texts"],
    ["not JSON", () => new Response("<html>"), "something that is not JSON"],
    ["no embeddings key", () => Response.json({ data: [] }), 'without an "embeddings" list'],
    ["strings for numbers", () => Response.json({ embeddings: [["1"], ["2"]] }), 'without an "embeddings" list'],
    [
      "an error status",
      () => new Response('{"error":"model \\"nomic-embed-text\\" not found, try pulling it first"}', { status: 404 }),
      "answered 404",
    ],
    [
      "1e308, Infinity as float32",
      () =>
        Response.json({
          embeddings: [
            [1e308, 1],
            [1, 2],
          ],
        }),
      "not finite as float32",
    ],
    [
      "an all-zero vector",
      () =>
        Response.json({
          embeddings: [
            [0, 0],
            [1, 2],
          ],
        }),
      "all-zero vector",
    ],
    ["more than 32 MiB", () => new Response(new Uint8Array(33 * 1024 * 1024).fill(32)), "passed 33554432 bytes"],
  ])("%s", async (_label, answer, message) => {
    using server = serverAnswering(answer);
    const embedder = ollamaEmbedder({ server: server.url, model: "nomic-embed-text" });
    const attempt = embedder.embed(["a", "b"]);
    await expect(attempt).rejects.toBeInstanceOf(EmbeddingUnavailableError);
    await expect(embedder.embed(["a", "b"])).rejects.toThrow(message);
  });
});

test("a server whose vectors change length between answers is refused after the first", async () => {
  let dimensions = 3;
  using server = serverAnswering(() => Response.json({ embeddings: [Array.from({ length: dimensions }, (_, index) => index + 1)] }));
  const embedder = ollamaEmbedder({ server: server.url, model: "nomic-embed-text" });
  expect((await embedder.embed(["a"]))[0]).toHaveLength(3);
  dimensions = 2;
  await expect(embedder.embed(["a"])).rejects.toThrow("(nomic-embed-text gave 3 dimensions before)");
});

test("the cache key names the server as well as the model", () => {
  const one = ollamaEmbedder({ server: "http://127.0.0.1:1/", model: "nomic-embed-text" });
  const two = ollamaEmbedder({ server: "http://127.0.0.1:2", model: "nomic-embed-text" });
  expect(one.cacheKey).toBe("nomic-embed-text at http://127.0.0.1:1");
  expect(one.cacheKey).not.toBe(two.cacheKey);
});

test("many texts go in requests of EMBED_BATCH, and their vectors come back in order", async () => {
  const sizes: number[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const { input } = (await request.json()) as { input: string[] };
      sizes.push(input.length);
      // Each text's vector holds its number, so the order can be checked.
      return Response.json({ embeddings: input.map((text) => [Number(text.slice(1)) + 1, 1]) });
    },
  });
  try {
    const texts = Array.from({ length: 2 * EMBED_BATCH + 2 }, (_, index) => `t${index}`);
    const vectors = await ollamaEmbedder({ server: `http://127.0.0.1:${server.port}`, model: "nomic-embed-text" }).embed(texts);
    expect(sizes).toEqual([EMBED_BATCH, EMBED_BATCH, 2]);
    expect(vectors.map((vector) => vector[0])).toEqual(texts.map((_, index) => index + 1));
  } finally {
    server.stop(true);
  }
});
