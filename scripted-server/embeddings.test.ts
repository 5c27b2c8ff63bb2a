import { describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { base64Embedding, fakeEmbedding } from "./embeddings.ts";
import { startScriptedServer } from "./start-scripted-server.ts";

const cosine = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * (b[index] as number), 0);

describe("embeddings as real clients read them", () => {
  test("the openai package (base64 by default) reads 768 float32 numbers equal to the float answer", async () => {
    await using server = await startScriptedServer({ script: { models: ["nomic-embed-text"], rules: [] } });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "not-needed", maxRetries: 0, timeout: 10_000 });
    const defaulted = await client.embeddings.create({ model: "nomic-embed-text", input: ["count the words", "a dog"] });
    expect(server.requests.at(-1)?.body).toMatchObject({ encoding_format: "base64" });
    const first = defaulted.data[0]?.embedding as number[];
    expect(first).toHaveLength(768);
    expect(first).toEqual(fakeEmbedding("count the words"));
    expect(defaulted.data[1]?.embedding).toEqual(fakeEmbedding("a dog"));
    const floats = await client.embeddings.create({ model: "nomic-embed-text", input: "count the words", encoding_format: "float" });
    expect(floats.data[0]?.embedding).toEqual(first);
  });

  test("an unknown encoding_format is a 400 that names the two it takes", async () => {
    await using server = await startScriptedServer({ script: { rules: [] } });
    const response = await fetch(`${server.url}/v1/embeddings`, {
      method: "POST",
      body: JSON.stringify({ model: "m", input: "x", encoding_format: "int8" }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('use \\"float\\" or \\"base64\\"');
  });

  test("base64 is little-endian float32", () => {
    expect(Buffer.from(base64Embedding([1, -2]), "base64").toString("hex")).toBe("0000803f000000c0");
  });

  test("texts sharing words are nearer than texts sharing none; the nomic task prefixes are read past", () => {
    const query = fakeEmbedding("search_query: how many words are in this text?");
    const counter = fakeEmbedding("search_document: word_count: counts the words in a text");
    const weather = fakeEmbedding("search_document: get_weather: the forecast for a city");
    expect(cosine(query, counter)).toBeGreaterThan(cosine(query, weather) + 0.2);
    expect(fakeEmbedding("a cat")).not.toEqual(fakeEmbedding("cat a"));
  });
});
