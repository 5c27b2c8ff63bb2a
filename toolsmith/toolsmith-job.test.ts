import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { toolsmithRules, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { toolsmithJob } from "./toolsmith-job.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

describe("the toolsmith in the room", () => {
  test("a request for a tool runs the pipeline with progress step by step, ends with the branch, and the agent is not blocked", async () => {
    using repo = tempGitRepo();
    // The toolsmith's model decides to build with a build_tool call written in its text (hermes style).
    const decides = {
      when: { persona: "toolsmith", tool: "build_tool" },
      reply: { toolCalls: [{ name: "build_tool", arguments: { goal: WORD_COUNT.goal } }], embedded: "hermes" as const },
    };
    await using server = await startScriptedServer({
      script: { rules: [...toolsmithRules(WORD_COUNT), decides, { when: { persona: "agent" }, reply: { text: "agent here" } }] },
    });
    const workspaceDir = join(repo.dir, "workspace");
    mkdirSync(workspaceDir);
    const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
    config.personas = config.personas.filter((persona) => persona.kind === "agent" || persona.kind === "toolsmith");
    const events: RoomEvent[] = [];
    const room = await openRoom({
      ...testSandboxAccess(),
      config,
      workspaceDir,
      tools: [],
      toolsmithJob: toolsmithJob({ records: toolsmithRecords, ...testSandboxAccess(), repoDir: repo.dir, settings: { testTimeoutMs: 15_000 } }),
      onEvent: (event) => events.push(event),
    });
    try {
      const summary = await room.send("could the room count the words of a text for me?");
      const toolsmithReply = summary.messages.find((message) => message.from === "toolsmith")?.text ?? "";
      const branch = /branch (cand\/\d{8}T\d{6}Z)/.exec(toolsmithReply)?.[1];
      expect(branch).toBeDefined();
      expect(toolsmithReply).toContain(`org tool run word_count --ref ${branch}`);
      expect(gitSync(repo.dir, ["rev-parse", "--verify", `refs/heads/${branch}`]).trim()).toMatch(/^[0-9a-f]{40}$/);

      const progress = events.flatMap((event) => (event.type === "progress" ? [`${event.step} ${event.status}`] : []));
      expect(progress.slice(0, 6)).toEqual([
        "spec started",
        "spec done",
        "implementation started",
        "implementation done",
        "tests started",
        "tests done",
      ]);
      expect(progress.filter((step) => step === "validation running")).toHaveLength(6);
      expect(progress.slice(-2)).toEqual(["validation done", "branch done"]);

      // The agent answered while the toolsmith was still working: its reply ended before the branch was made.
      const agentEnd = events.findIndex((event) => event.type === "reply-end" && event.persona === "agent");
      const branchDone = events.findIndex((event) => event.type === "progress" && event.step === "branch");
      expect(agentEnd).toBeGreaterThan(-1);
      expect(agentEnd).toBeLessThan(branchDone);
    } finally {
      await room.close();
    }
  }, 90_000);
});
