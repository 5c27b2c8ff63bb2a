import type { RoomCore } from "./room-core.ts";

/** Who hears a message: in direct mode the persona, whoever is named and the speaker; else everyone. */
export function heardBy(core: RoomCore, speaker: string, mentions: string[]): string[] {
  const { mode } = core.state;
  if (mode.kind === "direct") return [...new Set([mode.persona, ...mentions, ...(speaker === "user" ? [] : [speaker])])];
  return [...core.names];
}
