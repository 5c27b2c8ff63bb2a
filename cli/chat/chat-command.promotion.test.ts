import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../../config/org-config.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { freePort } from "../../testing/free-port.ts";
import { writeGeneratedTool } from "../../testing/generated-tool-files.ts";
import { makeCandidate, promotionRepo, runOrg, writePassingReport } from "../../testing/promotion-fixture.ts";
import { waitUntil } from "../../testing/wait-until.ts";
import { parseChatArgs } from "./chat-args.ts";
import { openChatRoom } from "./chat-room.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-chat-promotion-"));
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const BRANCH = "cand/20261123T101500Z";

test("a room open during a promotion offers the new tool from the next reply, with a notice; a rollback takes it away again", async () => {
  using repo = promotionRepo();
  await using server = await startScriptedServer({ port: 0, script: { rules: [{ reply: { text: "fine" } }] } });
  const config = loadOrgConfig(join(workspace, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  const events: RoomEvent[] = [];
  const { room, stopWatching } = await openChatRoom(
    { options: parseChatArgs([]), workspaceDir: workspace, config, color: false },
    async () => true,
    (event) => events.push(event),
    { checkoutDir: repo.dir },
  );
  const notices = () => events.flatMap((event) => (event.type === "notice" && event.reason === "tools-changed" ? [event.message] : []));
  const offeredTo = (persona: string) => room.personas().find((entry) => entry.name === persona);
  const toolsSent = () =>
    server.requests
      .filter((request) => JSON.stringify(request.body).includes("You are agent,"))
      .map((request) => ((request.body as { tools?: { function: { name: string } }[] }).tools ?? []).map((tool) => tool.function.name))
      .at(-1);
  try {
    expect(offeredTo("agent")?.tools).not.toContain("word_tally");
    const port = String(freePort());
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => void writeGeneratedTool(worktree, "word_tally"));
    writePassingReport(repo.dir, candidate, BRANCH);
    const promoted = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--health-timeout-s", "30"], { ORG_CURRENT_PORT: port });
    expect({ code: promoted.code, out: promoted.out }).toMatchObject({ code: 0 });

    await waitUntil("the room's notice of the new tool", () => notices().length > 0, 20_000);
    expect(notices()).toEqual(["new tool: word_tally (asks first)"]);
    expect(offeredTo("agent")?.policies.word_tally).toBe("ask");
    await room.send("@agent hello");
    expect(toolsSent()).toContain("word_tally");

    const rolledBack = await runOrg(["rollback", "--repo", repo.dir, "--health-timeout-s", "30"], { ORG_CURRENT_PORT: port });
    expect({ code: rolledBack.code, out: rolledBack.out }).toMatchObject({ code: 0 });
    await waitUntil("the room's notice of the rolled-back tool", () => notices().length > 1, 20_000);
    expect(notices()).toEqual(["new tool: word_tally (asks first)", "tool gone: word_tally (rolled back)"]);
    expect(offeredTo("agent")?.tools).not.toContain("word_tally");
    await room.send("@agent hello again");
    expect(toolsSent()).not.toContain("word_tally");
  } finally {
    stopWatching();
    await room.close();
  }
}, 120_000);
