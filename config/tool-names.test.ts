import { DEFAULT_BROWSER } from "./browser-settings.ts";
import { browserTool } from "../tools/browser.ts";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../memory/memory-store.ts";
import { memorySaveTool } from "../memory/memory-save-tool.ts";
import { memorySearchTool } from "../memory/memory-search-tool.ts";
import { buildTool } from "../personas/build-tool.ts";
import { turnToolChoice } from "../registry/turn-tool-choice.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { PHASE_TOOL_DESCRIPTIONS } from "../toolsmith/phase-prompts.ts";
import { chatModeTool } from "../tools/chat-mode.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { webRequestTool } from "../tools/web-request.ts";
import { WebSettings } from "./web-settings.ts";
import { webFetchTool } from "../tools/web-fetch.ts";
import { workflowRun } from "../workflows/workflow-run-tool.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { PLAN_TOOL_NAME } from "../planner/plan-prompt.ts";
import { planWorkflowTool } from "../planner/plan-workflow-tool.ts";
import { DEFAULT_NETWORK } from "./network-settings.ts";
import { sendFileTool } from "../tools/send-file.ts";
import { TelegramFileOutlet } from "../telegram/file-outlet.ts";
import { loadOrgConfig } from "./org-config.ts";
import { BUILTIN_TOOL_NAMES, knownToolNames, POLICY_ONLY_TOOL_NAMES, RESERVED_TOOL_NAMES } from "./tool-names.ts";

function withWorkspace(run: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "org-tool-names-"));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe("the one reserved-name list", () => {
  test(
    "every tool the room offers on its own, built by its own factory, bears a reserved name",
    withWorkspace(async (dir) => {
      const { store } = MemoryStore.open(dir);
      const { registry } = ToolRegistry.open(dir);
      try {
        const builtIn = [
          sh,
          pythonRun,
          workflowRun,
          webFetchTool({ network: DEFAULT_NETWORK }),
          webRequestTool({ web: WebSettings.parse({}) }),
          browserTool({ settings: DEFAULT_BROWSER }),
          memorySearchTool(store),
          memorySaveTool(store),
          sendFileTool(new TelegramFileOutlet(1024)),
          chatModeTool({ mode: "group", personas: ["agent"], setMode: () => {} }),
          planWorkflowTool({ config: loadOrgConfig(join(dir, "none.json"), {}), model: scriptedModel([]), checkoutDir: dir }),
        ];
        expect(builtIn.map((tool) => tool.name).sort()).toEqual([...BUILTIN_TOOL_NAMES].sort());
        // find_tool: what a persona is offered when it may use more generated tools than one turn shows.
        const choice = turnToolChoice({ registry, perTurn: 0, isGenerated: (name) => name === "word_count" });
        const offer = await choice.offer(new Map([["word_count", sh]]), "count words");
        const roomAdded = [buildTool(async () => "").name, ...(offer?.tools.keys() ?? [])].filter((name) => name !== "word_count");
        expect(roomAdded.sort()).toEqual(["build_tool", "find_tool"]);
        for (const name of [...builtIn.map((tool) => tool.name), ...roomAdded]) expect(RESERVED_TOOL_NAMES).toContain(name);
        // The toolsmith's phase tools and the planner's one, the policies that are no tool (workspace_write), and nothing besides these groups.
        const phaseTools = [...Object.keys(PHASE_TOOL_DESCRIPTIONS), PLAN_TOOL_NAME];
        expect(phaseTools.sort()).toEqual(["submit_implementation", "submit_spec", "submit_tests", "submit_workflow"]);
        expect([...RESERVED_TOOL_NAMES].sort()).toEqual(
          [...builtIn.map((tool) => tool.name), ...roomAdded, ...phaseTools, ...POLICY_ONLY_TOOL_NAMES].sort(),
        );
        expect(new Set(RESERVED_TOOL_NAMES).size).toBe(RESERVED_TOOL_NAMES.length);
      } finally {
        registry.close();
        store.close();
      }
    }),
  );

  test(
    "a generated tool's folder named like a reserved tool is no tool a config may give a persona",
    withWorkspace((dir) => {
      for (const name of ["find_tool", "build_tool", "workspace_write", "word_count"])
        mkdirSync(join(dir, "tools", "generated", name), { recursive: true });
      expect(knownToolNames(dir, dir)).toEqual([...BUILTIN_TOOL_NAMES, "workspace_write", "word_count"]);
    }),
  );
});
