import { loadConfirmedConfig } from "./confirmed-config.ts";
import { join } from "node:path";

import { scriptedModel } from "../llm/scripted-model.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { sh } from "../tools/sh.ts";
import { testSandboxAccess } from "./test-sandbox.ts";

/**
 * The agent of a room opened on `workspaceDir` runs each command with sh (one reply, its calls in order) in the real
 * sandbox under `policy`, workspace changes allowed; returns each call's output and the room's workspace notices.
 */
export async function agentRunsCommands(
  workspaceDir: string,
  commands: string[],
  policy: SandboxPolicy,
): Promise<{ outputs: string[]; said: string }> {
  const model = scriptedModel([{ toolCalls: commands.map((cmd) => ({ name: "sh", arguments: { cmd } })) }, { text: "done" }]);
  const config = loadConfirmedConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    { checkoutDir: workspaceDir },
  );
  config.personas = [{ name: "agent", kind: "agent", model: "m", server: "http://127.0.0.1:9", tools: { sh: "allow" }, contextMessages: 60 }];
  config.sandbox.workspaceWrite = "allow";
  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(policy),
    config,
    workspaceDir,
    tools: [sh],
    models: () => model,
    prepareTools: false,
    onEvent: (event) => events.push(event),
  });
  try {
    await room.send("@agent go");
  } finally {
    await room.close();
  }
  const outputs = events.flatMap((event) => (event.type === "tool-result" ? [event.output] : []));
  const said = events.flatMap((event) => (event.type === "notice" && event.reason === "workspace-change" ? [event.message] : [])).join("\n");
  return { outputs, said };
}
