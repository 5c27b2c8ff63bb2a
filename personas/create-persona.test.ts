import { describe, expect, test } from "bun:test";
import type { PersonaConfig } from "../config/org-config.ts";
import type { RoomMessage } from "./room-message.ts";
import { BuildToolArguments } from "./build-tool.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { createPersona } from "./create-persona.ts";
import { Persona } from "./persona.ts";
import { PERSONA_ROLES } from "./persona-roles.ts";
import { TOOLSMITH_NOT_BUILT, ToolsmithPersona } from "./toolsmith-persona.ts";
import { TokenEstimator } from "../llm/token-estimate.ts";

const persona = (name: string, kind: PersonaConfig["kind"], extra: Partial<PersonaConfig> = {}): PersonaConfig => ({
  name,
  kind,
  model: "m",
  server: "http://127.0.0.1:1",
  tools: {},
  contextMessages: 60,
  ...extra,
});

const message = (from: string, text: string, heardBy: string[]): RoomMessage => ({
  id: `${from}-${text}`,
  turnId: "t",
  from,
  text,
  time: "2026-01-01T00:00:00.000Z",
  heardBy,
  addressed: [],
});

describe("models", () => {
  test("kinds that differ by role are records; the toolsmith keeps its class; every system prompt begins 'You are <name>, '", () => {
    const room = ["agent", "python", "toolsmith", "plain"];
    const models = [
      createPersona(persona("agent", "agent"), scriptedModel([])),
      createPersona(persona("python", "python"), scriptedModel([])),
      createPersona(persona("toolsmith", "toolsmith"), scriptedModel([])),
      createPersona(persona("plain", "simple", { instructions: "Answer in French." }), scriptedModel([])),
    ];
    expect(models.map((model) => model.constructor)).toEqual([Persona, Persona, ToolsmithPersona, Persona]);
    expect(models[0]?.systemPrompt(room)).toContain(PERSONA_ROLES.agent);
    expect(models[1]?.systemPrompt(room)).toContain(PERSONA_ROLES.python);
    expect(models[3]?.systemPrompt(room)).toContain(PERSONA_ROLES.simple);
    for (const model of models) {
      const prompt = model.systemPrompt(room);
      expect(prompt.startsWith(`You are ${model.name}, `)).toBe(true);
      // No other persona's name, so a server that picks personas by name finds only this one.
      for (const other of room.filter((name) => name !== model.name)) expect(prompt).not.toMatch(new RegExp(`\\b${other}\\b`));
    }
    expect(models[3]?.systemPrompt(room)).toContain("Answer in French.");
  });

  test("the context holds what the persona heard: its own words as assistant, others' named", () => {
    const agent = createPersona(persona("agent", "agent", { contextMessages: 3 }), scriptedModel([]));
    const history = [
      message("user", "old news", ["agent"]),
      message("user", "for python only", ["python"]),
      message("user", "hello", ["agent", "python"]),
      message("agent", "hi there", ["agent", "python"]),
      message("python", "@agent look", ["agent", "python"]),
    ];
    const keeping = { estimator: new TokenEstimator(), reserveTokens: 1024, summary: undefined, assembled: () => {} };
    const prompt = agent.prompt({ history, roomPersonas: ["agent", "python"], prompt: keeping }, { tokens: 32_768, source: "test" }, []);
    expect(prompt.messages.slice(1)).toEqual([
      { role: "user", content: "hello" },
      { role: "assistant", content: "hi there" },
      { role: "user", content: "python: @agent look" },
    ]);
  });

  test("the toolsmith's build_tool takes one goal, trimmed and not empty; nothing else", () => {
    expect(BuildToolArguments.parse({ goal: "  count words  " })).toEqual({ goal: "count words" });
    expect(BuildToolArguments.safeParse({ goal: " " }).success).toBe(false);
    expect(BuildToolArguments.safeParse({ goal: "x", branch: "main" }).success).toBe(false);
    expect(TOOLSMITH_NOT_BUILT).toContain("not built");
  });
});
