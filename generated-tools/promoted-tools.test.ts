import { describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import { openRoom } from "../room/room.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { type ToolFixture, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { offerToAgents, promotedToolAsTool, promotedToolsIn } from "./promoted-tools.ts";
import { readPromotedTool } from "./read-promoted-tool.ts";
import { generatedToolFolders, knownToolNames } from "../config/tool-names.ts";
import { promotedRoomTools } from "../assembly/room-tools.ts";
import { readToolCalls } from "../usage/tool-calls.ts";
import { sha256Hex, toolMetadataSchemas } from "./tool-metadata.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

/** Writes a fixture as a promoted tool, metadata hashes and all, as a promotion would leave it. */
function promote(repoDir: string, fixture: ToolFixture): string {
  return writeGeneratedTool(repoDir, toolMetadataSchemas().ToolSpec.parse(fixture.spec), fixture.tool, fixture.tests);
}

describe("promoted generated tools", () => {
  test("are found with their metadata checked; a tool changed after validation is skipped, and refuses to run", async () => {
    using repo = tempGitRepo();
    const directory = promote(repo.dir, WORD_COUNT);
    const [tool] = promotedToolsIn(repo.dir);
    expect(tool?.name).toBe("word_count");
    const asTool = promotedToolAsTool(tool as NonNullable<typeof tool>);
    expect(asTool.definition.function.parameters).toMatchObject({ type: "object", properties: { text: { type: "string" } } });

    writeFileSync(join(directory, "tool.ts"), WORD_COUNT.tool.replace("trimmed.split", "trimmed.trim().split"));
    const skipped: string[] = [];
    expect(promotedToolsIn(repo.dir, (name, problem) => skipped.push(`${name}: ${problem}`))).toEqual([]);
    expect(skipped).toEqual(["word_count: its files do not match the hashes recorded at validation"]);
    const result = await asTool.execute({ text: "a b" }, { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: repo.dir });
    expect(result).toMatchObject({ ok: false });
  });

  test("a tool with a file missing or a linked metadata.json is skipped with a reason, not a crash", () => {
    using repo = tempGitRepo();
    const directory = promote(repo.dir, WORD_COUNT);
    rmSync(join(directory, "tool.test.ts"));
    const linked = promote(repo.dir, { ...WORD_COUNT, spec: { ...WORD_COUNT.spec, name: "linked_meta" } });
    renameSync(join(linked, "metadata.json"), join(repo.dir, "elsewhere.json"));
    symlinkSync(join(repo.dir, "elsewhere.json"), join(linked, "metadata.json"));
    const skipped: string[] = [];
    expect(promotedToolsIn(repo.dir, (name, problem) => skipped.push(`${name}: ${problem}`))).toEqual([]);
    expect(skipped).toEqual([
      "linked_meta: tools/generated/linked_meta/metadata.json: it is a symbolic link; links are not followed, it was not read",
      "word_count: its files do not match the hashes recorded at validation",
    ]);
  });

  test("tools/ or tools/generated/ as a link: nothing under it is a tool, for the room, the registry, the config or a read by name", () => {
    using repo = tempGitRepo();
    // What the agent's `tools -> x` would leave: a tool that passes every check of its own, behind a linked folder.
    promote(join(repo.dir, "x"), { ...WORD_COUNT, spec: { ...WORD_COUNT.spec, name: "pwn_tool" } });
    symlinkSync("x/tools", join(repo.dir, "tools"));
    expect(promotedToolsIn(join(repo.dir, "x")).map((tool) => tool.name)).toEqual(["pwn_tool"]);
    const skipped: string[] = [];
    expect(promotedToolsIn(repo.dir, (name, problem) => skipped.push(`${name}: ${problem}`))).toEqual([]);
    expect(skipped).toEqual([
      "tools/generated: tools is a symbolic link; org reads tools/generated/ only through real folders, so nothing under it is used",
    ]);
    expect(readPromotedTool(repo.dir, "pwn_tool")).toEqual({ ok: false, problem: expect.stringContaining("tools is a symbolic link") });
    expect(knownToolNames(repo.dir, repo.dir)).not.toContain("pwn_tool");
    expect(promotedRoomTools([repo.dir]).generated).toEqual([]);
    // One level down too: tools/ real, tools/generated a link.
    rmSync(join(repo.dir, "tools"));
    mkdirSync(join(repo.dir, "tools"));
    symlinkSync("../x/tools/generated", join(repo.dir, "tools", "generated"));
    expect(promotedToolsIn(repo.dir)).toEqual([]);
    expect(generatedToolFolders(repo.dir)).toEqual({ names: [], others: [], linked: "tools/generated" });
  });

  test("FIFOs in a tool's folder are refused at once, never read (a read would block for ever)", () => {
    using repo = tempGitRepo();
    const fifoMeta = promote(repo.dir, { ...WORD_COUNT, spec: { ...WORD_COUNT.spec, name: "fifo_meta" } });
    const fifoCode = promote(repo.dir, { ...WORD_COUNT, spec: { ...WORD_COUNT.spec, name: "fifo_code" } });
    rmSync(join(fifoMeta, "metadata.json"));
    rmSync(join(fifoCode, "tool.ts"));
    expect(Bun.spawnSync(["mkfifo", join(fifoMeta, "metadata.json"), join(fifoCode, "tool.ts")]).exitCode).toBe(0);
    const skipped: string[] = [];
    expect(promotedToolsIn(repo.dir, (name, problem) => skipped.push(`${name}: ${problem}`))).toEqual([]);
    expect(skipped).toEqual([
      "fifo_code: its files do not match the hashes recorded at validation",
      "fifo_meta: tools/generated/fifo_meta/metadata.json is a FIFO, not a regular file; it was not read",
    ]);
  });

  test("the agent persona is offered them by policy, ask by default; a call runs in the sandbox after approval", async () => {
    using repo = tempGitRepo();
    promote(repo.dir, WORD_COUNT);
    await using server = await startScriptedServer({
      script: {
        rules: [
          { when: { persona: "agent", lastRole: "user" }, reply: { toolCalls: [{ name: "word_count", arguments: { text: "one two" } }] } },
          { when: { persona: "agent", lastRole: "tool" }, reply: { text: "result: {{lastMessage}}" } },
        ],
      },
    });
    const workspaceDir = join(repo.dir, "workspace");
    mkdirSync(workspaceDir);
    const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
    const promoted = promotedToolsIn(repo.dir);
    const personas = offerToAgents(
      config.personas,
      promoted.map((tool) => tool.name),
    );
    expect(personas.find((persona) => persona.kind === "agent")?.tools.word_count).toBe("ask");
    expect(personas.find((persona) => persona.kind === "python")?.tools.word_count).toBeUndefined();
    const asked: ToolCall[] = [];
    const room = await openRoom({
      ...testSandboxAccess(),
      config: { ...config, personas: personas.filter((persona) => persona.kind === "agent") },
      workspaceDir,
      tools: promoted.map(promotedToolAsTool),
      approve: async (_persona, call) => {
        asked.push(call as ToolCall);
        return true;
      },
      onEvent() {},
    });
    try {
      const summary = await room.send("count the words of 'one two'");
      expect(asked.map((call) => call.name)).toEqual(["word_count"]);
      expect(summary.messages.at(-1)?.text).toBe('result: {"words":2}');
      // The call is recorded where the tool was read from, under the version that ran (usage/tool-calls.ts).
      expect(readToolCalls(repo.dir)).toMatchObject([{ tool: "word_count", ok: true, version: sha256Hex(WORD_COUNT.tool) }]);
    } finally {
      await room.close();
    }
  }, 60_000);
});
