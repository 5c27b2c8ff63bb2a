import "./zod-config.ts";
import { render } from "preact";
import { App } from "./app.tsx";
import type { OpeningRoom } from "./room/opening-room.ts";
import { followSession } from "./room/use-room.ts";

/** Draws the page, the room following the session the page came with (`opening`, its stream already open) if any. */
export function start(opening: OpeningRoom | undefined): void {
  const following = opening ? followSession(opening.session, opening) : undefined;
  const root = document.getElementById("app");
  if (root) render(<App opening={following} />, root);
}
