import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { type RunningServe, startServe } from "./start-serve.ts";

const TOKEN = "openai-door-token-7";

// The scripted model server plays the three personas; agent runs sh in the sandbox when asked for the kernel.
const SCRIPT = {
  rules: [
    { when: { persona: "agent", lastMessage: "kernel" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "uname -s" } }] } },
    { when: { persona: "agent", lastRole: "tool" as const }, reply: { text: "The kernel is {{lastMessage}}", chunkSize: 4 } },
    { when: { persona: "agent", lastMessage: "remember" }, reply: { text: "You said before: {{lastMessage}}" } },
    { when: { persona: "agent" }, reply: { text: "Agent here, streaming a reply in small pieces.", chunkSize: 5, delayMs: 2 } },
    {
      when: { persona: "python", lastMessage: "break" },
      reply: { text: "Python starts to answer and then", chunkSize: 4, fault: { cutAfterChunks: 4 } },
    },
    {
      when: { persona: "python", lastMessage: "crash" },
      reply: { text: "Partial answer before the crash", chunkSize: 7, fault: { cutAfterChunks: 3, reset: true } },
    },
    { when: { persona: "python" }, reply: { text: "Python here, ready to run code.", chunkSize: 3, delayMs: 2 } },
    { when: { persona: "toolsmith", lastMessage: "fail hard" }, reply: { fault: { status: 400, message: "the model refuses" } } },
    { when: { persona: "toolsmith" }, reply: { text: "Toolsmith here, I build tools.", chunkSize: 6 } },
  ],
};

describe("serve's OpenAI chat API, with clients no one here wrote", () => {
  const checkout = tempGitRepo("org-openai-");
  let fixture: ServeFixture;
  let server: RunningServe;
  let client: OpenAI;

  beforeAll(async () => {
    fixture = await serveFixture({ script: SCRIPT, checkoutDir: checkout.dir, apiToken: TOKEN, serve: { tools: { sh: "allow" } } });
    fixture.config.personas = fixture.config.personas.map((persona) =>
      persona.name === "agent" ? { ...persona, tools: { ...persona.tools, sh: "allow" } } : persona,
    );
    server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  });

  afterAll(async () => {
    await server?.stop(true);
    await fixture?.[Symbol.asyncDispose]();
    checkout[Symbol.dispose]();
  });

  test("GET /v1/models lists the personas and org in OpenAI's shape", async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(["agent", "python", "toolsmith", "org"]);
    for (const model of page.data) expect(model).toMatchObject({ object: "model", owned_by: "org", created: expect.any(Number) });
    expect(await client.models.retrieve("python")).toMatchObject({ id: "python", object: "model" });
    await expect((async () => client.models.retrieve("gpt-4o"))()).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });

  test("the openai package streams a persona's reply, with usage when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "python",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Python here, ready to run code.");
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe("stop");
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  test("the openai package streams the group's reply: one block per persona, each beginning with its name", async () => {
    const stream = await client.chat.completions.create({ model: "org", messages: [{ role: "user", content: "hi all" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    const blocks = text.split("\n\n").sort();
    expect(blocks).toEqual([
      "agent: Agent here, streaming a reply in small pieces.",
      "python: Python here, ready to run code.",
      "toolsmith: Toolsmith here, I build tools.",
    ]);
  });

  test("replies streaming at the same time still come as whole blocks, one after another", async () => {
    await using parallel = await serveFixture({ script: SCRIPT, checkoutDir: checkout.dir, concurrency: 3 });
    const side = startServe({ handler: parallel.handler, host: "127.0.0.1", port: 0 });
    try {
      const stream = await new OpenAI({ baseURL: `${side.url}/v1`, apiKey: "none", maxRetries: 0 }).chat.completions.create({
        model: "org",
        messages: [{ role: "user", content: "hi all" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text.split("\n\n").sort()).toEqual([
        "agent: Agent here, streaming a reply in small pieces.",
        "python: Python here, ready to run code.",
        "toolsmith: Toolsmith here, I build tools.",
      ]);
      // Three slots on the one server (concurrency: 3): the replies stream side by side, their deltas interleaved.
      expect(parallel.server.requests.filter((request) => request.path === "/v1/chat/completions")).toHaveLength(3);
    } finally {
      await side.stop(true);
    }
  });

  test("not streamed: a persona answers in one message; the group as one message per persona", async () => {
    const one = await client.chat.completions.create({ model: "toolsmith", messages: [{ role: "user", content: "hello" }] });
    expect(one.object).toBe("chat.completion");
    expect(one.choices).toHaveLength(1);
    expect(one.choices[0]?.message).toMatchObject({ role: "assistant", content: "Toolsmith here, I build tools." });
    expect(one.usage?.completion_tokens).toBeGreaterThan(0);
    const group = await client.chat.completions.create({ model: "org", messages: [{ role: "user", content: "hello" }] });
    // In the room's order of personas, whichever finished first: a client reads the same turn the same way every time.
    expect(group.choices.map((choice) => [choice.index, choice.message.content?.split(":")[0]])).toEqual([
      [0, "agent"],
      [1, "python"],
      [2, "toolsmith"],
    ]);
  });

  test("tools run inside org, sandboxed, and the request id reaches the audit log", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "agent", messages: [{ role: "user", content: "which kernel is this?" }] }, { headers: { "x-request-id": "openai-req-1" } })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain("The kernel is");
    expect(data.choices[0]?.message.content).toContain("Linux");
    expect(response.headers.get("x-request-id")).toBe("openai-req-1");
    const auditDir = join(fixture.workspaceDir, ".org", "audit");
    const audit = readdirSync(auditDir)
      .map((file) => readFileSync(join(auditDir, file), "utf8"))
      .join("");
    expect(audit).toContain('"requestId":"openai-req-1"');
  }, 60_000);

  test("a tool the persona's policy marks ask is denied over HTTP: nobody can approve it", async () => {
    const agent = fixture.config.personas.find((persona) => persona.name === "agent");
    if (!agent) throw new Error("no agent persona");
    const before = agent.tools;
    agent.tools = { ...before, sh: "ask" };
    try {
      const reply = await client.chat.completions.create({ model: "agent", messages: [{ role: "user", content: "which kernel is this?" }] });
      expect(reply.choices[0]?.message.content).toContain("The kernel is");
      expect(reply.choices[0]?.message.content).not.toContain("Linux");
      expect(reply.choices[0]?.message.content).toMatch(/approv|denied/);
    } finally {
      agent.tools = before;
    }
  }, 60_000);

  test("a reply that breaks off mid-stream keeps what arrived and says so; with no text at all the request fails", async () => {
    const whole = await client.chat.completions.create({ model: "python", messages: [{ role: "user", content: "break please" }] });
    expect(whole.choices[0]?.message.content).toMatch(/^Python starts to[\s\S]*\(the reply broke off: /);
    const stream = await client.chat.completions.create({ model: "org", messages: [{ role: "user", content: "break please" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toContain("python: Python starts to");
    expect(text).toContain("(the reply broke off: ");
    expect(text).toContain("agent: Agent here");
    await expect(
      (async () => client.chat.completions.create({ model: "toolsmith", messages: [{ role: "user", content: "fail hard" }] }))(),
    ).rejects.toMatchObject({ status: 502, code: "no_answer" });
  }, 60_000);

  test("invariant 9: a connection dropped mid-reply: the partial content, then what broke it, in both shapes", async () => {
    const whole = await client.chat.completions.create({ model: "python", messages: [{ role: "user", content: "crash please" }] });
    expect(whole.choices[0]?.message.content).toMatch(
      /^Partial answer before\n\n\(the reply broke off: the connection to the model server broke mid-stream/,
    );
    const stream = await client.chat.completions.create({ model: "python", messages: [{ role: "user", content: "crash please" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toMatch(/Partial answer before[\s\S]*\(the reply broke off: the connection to the model server broke mid-stream/);
  }, 60_000);

  test("the client's messages are the conversation the persona answers from", async () => {
    const reply = await client.chat.completions.create({
      model: "agent",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "my number is 41" },
        { role: "assistant", content: "noted" },
        { role: "user", content: "remember it?" },
      ],
    });
    expect(reply.choices[0]?.message.content).toBe("You said before: remember it?");
    const request = fixture.server.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(request.messages.map((message) => `${message.role}:${message.content}`).slice(1)).toEqual([
      "user:(instructions) be brief",
      "user:my number is 41",
      "assistant:noted",
      "user:remember it?",
    ]);
  });

  test("errors come in OpenAI's shape: client tools, an unknown model, no token", async () => {
    // The openai package's APIPromise is lazy: wrapped in an async function, it runs and rejects like any promise.
    const tools = async () =>
      client.chat.completions.create({
        model: "agent",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      });
    await expect(tools()).rejects.toMatchObject({ status: 400, param: "tools", code: "tools_not_supported", type: "invalid_request_error" });
    await expect(
      (async () => client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }))(),
    ).rejects.toMatchObject({
      status: 404,
      param: "model",
      code: "model_not_found",
    });
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect((async () => stranger.models.list())()).rejects.toMatchObject({ status: 401, type: "authentication_error" });
    await expect(
      (async () => client.chat.completions.create({ model: "agent", messages: [{ role: "assistant", content: "hi" }] }))(),
    ).rejects.toMatchObject({
      status: 400,
      param: "messages",
    });
  });

  test("the Vercel AI SDK streams a persona's reply and the group's with streamText", async () => {
    const provider = createOpenAICompatible({ name: "org", baseURL: `${server.url}/v1`, apiKey: TOKEN, includeUsage: true });
    const persona = streamText({ model: provider("python"), prompt: "hello" });
    let text = "";
    for await (const part of persona.textStream) text += part;
    expect(text).toBe("Python here, ready to run code.");
    expect((await persona.usage).totalTokens).toBeGreaterThan(0);
    const group = streamText({ model: provider("org"), prompt: "hi all" });
    let all = "";
    for await (const part of group.textStream) all += part;
    expect(
      all
        .split("\n\n")
        .map((block) => block.split(":")[0])
        .sort(),
    ).toEqual(["agent", "python", "toolsmith"]);
    const whole = await generateText({ model: provider("agent"), prompt: "hello" });
    expect(whole.text).toBe("Agent here, streaming a reply in small pieces.");
  });
});
