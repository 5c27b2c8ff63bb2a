import { expect, test } from "bun:test";
import { chatCompletionsUrl, modelsUrl } from "./model-server-urls.ts";

test("a base URL that already ends in /v1 is not doubled", () => {
  expect(chatCompletionsUrl("http://127.0.0.1:11434/")).toBe("http://127.0.0.1:11434/v1/chat/completions");
  expect(chatCompletionsUrl("http://host:8080/v1")).toBe("http://host:8080/v1/chat/completions");
  expect(modelsUrl("http://127.0.0.1:11434")).toBe("http://127.0.0.1:11434/v1/models");
  expect(modelsUrl("http://host:8080/v1/")).toBe("http://host:8080/v1/models");
});
