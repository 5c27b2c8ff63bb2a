import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TOOLS } from "../config/persona-entry.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { openRoom } from "../room/room.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { simpleSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { promotedToolAsTool, promotedToolsIn } from "../generated-tools/promoted-tools.ts";
import { readNeedHints, writeNeedHints } from "./need-hints.ts";
import { openTurnToolChoice } from "./turn-tool-choice.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const TOOLS = [
  simpleSpec("word_count", "Counts the words in a text.", "text", "words"),
  simpleSpec("char_count", "Counts the characters of a text.", "text", "characters"),
  simpleSpec("line_count", "Counts the lines of a text.", "text", "lines"),
  simpleSpec("reverse_text", "Reverses a string character by character.", "value", "reversed"),
  simpleSpec("celsius_to_fahrenheit", "Converts degrees Celsius to Fahrenheit.", "celsius", "fahrenheit"),
  simpleSpec("sha256_hash", "Hashes data with SHA-256.", "data", "digest"),
  simpleSpec("url_parse", "Splits a URL into its parts.", "url", "parts"),
  simpleSpec("sort_numbers", "Sorts numbers in ascending order.", "numbers", "sorted"),
  simpleSpec("json_pretty", "Formats JSON with indentation.", "json", "formatted"),
  simpleSpec("roman_numeral", "Writes a number in Roman numerals.", "number", "roman"),
];

describe("per-turn tool choice in the room", () => {
  test("more promoted tools than the limit: the best few for the message plus find_tool; a found tool is callable next round; the choice is in the transcript", async () => {
    const repoDir = mkdtempSync(join(tmpdir(), "org-tool-choice-"));
    chmodSync(repoDir, 0o755); // the sandbox's uid passes through it when tests run as root
    try {
      for (const spec of TOOLS) {
        const code =
          spec.name === "reverse_text"
            ? `export default (input: { value: string }) => ({ reversed: [...input.value].reverse().join("") });\n`
            : undefined;
        writeGeneratedTool(repoDir, spec, code);
      }
      await using server = await startScriptedServer({
        script: {
          rules: [
            { when: { lastRole: "user" }, reply: { toolCalls: [{ name: "find_tool", arguments: { query: "reverse the characters of a string" } }] } },
            {
              when: { lastRole: "tool", lastMessage: "now available" },
              reply: { toolCalls: [{ name: "reverse_text", arguments: { value: "abc" } }] },
            },
            { when: { lastRole: "tool" }, reply: { text: "Reversed: {{lastMessage}}" } },
          ],
        },
      });
      const config = loadOrgConfig(join(repoDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
      const promoted = promotedToolsIn(repoDir);
      expect(promoted).toHaveLength(10);
      config.personas = [
        {
          name: "agent",
          kind: "agent",
          model: "qwen3:8b",
          server: server.url,
          contextMessages: 60,
          tools: { ...DEFAULT_TOOLS.agent, ...Object.fromEntries(promoted.map((tool) => [tool.name, "allow" as const])) },
        },
      ];
      config.limits.generatedToolsPerTurn = 3;
      const choice = await openTurnToolChoice({ repoDir, generated: promoted.map((tool) => tool.name), perTurn: 3 });
      if (!choice) throw new Error("10 tools over a limit of 3 must open a choice");
      expect(choice.notices).toEqual([]);
      const events: RoomEvent[] = [];
      const room = await openRoom({
        ...testSandboxAccess(),
        config,
        workspaceDir: repoDir,
        tools: promoted.map(promotedToolAsTool),
        toolChoice: choice.choice,
        onEvent: (event) => events.push(event),
      });
      try {
        const summary = await room.send("count the words in this text");
        expect(summary.ok).toBe(true);
        expect(summary.messages.at(-1)?.text).toBe('Reversed: {"reversed":"cba"}');

        const offeredInRound = (index: number) =>
          (
            (
              server.requests.filter((request) => request.path === "/v1/chat/completions")[index]?.body as {
                tools?: { function: { name: string } }[];
              }
            ).tools ?? []
          ).map((tool) => tool.function.name);
        const generated = (names: string[]) => names.filter((name) => TOOLS.some((spec) => spec.name === name)).sort();
        expect(generated(offeredInRound(0))).toEqual(["char_count", "line_count", "word_count"]);
        expect(offeredInRound(0)).toContain("find_tool");
        expect(offeredInRound(0)).toContain("chat_mode");
        expect(generated(offeredInRound(1))).toEqual(["char_count", "line_count", "reverse_text", "word_count"]);

        const chosen = events.find((event) => event.type === "tool-choice");
        expect(chosen).toMatchObject({ type: "tool-choice", persona: "agent", of: 10, method: "fts" });
        expect((chosen as { chosen: string[] }).chosen[0]).toBe("word_count");
        const transcript = readFileSync(room.transcriptPath, "utf8");
        expect(transcript).toContain('"type":"tool-choice"');
        expect(transcript).toContain('"name":"find_tool"');
      } finally {
        await room.close();
        choice.close();
      }
    } finally {
      rmSync(repoDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a need org grow found covered puts its tool first for a message like the need, whatever the words rank", async () => {
    const repoDir = mkdtempSync(join(tmpdir(), "org-tool-hints-"));
    try {
      for (const spec of TOOLS) writeGeneratedTool(repoDir, spec);
      const promoted = promotedToolsIn(repoDir);
      // The words rank word_count first for this need; org grow found url_parse answers it (say, the persona's reply).
      writeNeedHints(repoDir, [{ goal: "count the words of a link", tool: "url_parse" }]);
      const hints = readNeedHints(repoDir);
      expect(hints).toEqual([{ goal: "count the words of a link", tool: "url_parse" }]);
      const offered = new Map(promoted.map((tool) => [tool.name, promotedToolAsTool(tool)] as const));
      const without = await openTurnToolChoice({ repoDir, generated: [...offered.keys()], perTurn: 2 });
      const withHints = await openTurnToolChoice({ repoDir, generated: [...offered.keys()], perTurn: 2, hints });
      try {
        const message = "how many words are in this link?";
        expect((await without?.choice.offer(offered, message))?.chosen[0]).toBe("word_count");
        expect((await withHints?.choice.offer(offered, message))?.chosen).toEqual(["url_parse", "word_count"]);
        // A message about something else: the hint says nothing.
        expect((await withHints?.choice.offer(offered, "reverse a string character by character"))?.chosen[0]).toBe("reverse_text");
      } finally {
        without?.close();
        withHints?.close();
      }
    } finally {
      rmSync(repoDir, { recursive: true, force: true });
    }
  }, 30_000);

  test("at or under the limit nothing changes: every allowed tool is offered and no registry is opened", async () => {
    expect(await openTurnToolChoice({ repoDir: "/nonexistent", generated: ["a_tool", "b_tool"], perTurn: 8 })).toBeUndefined();
  });
});
