import "./zod-config.ts";
import { render } from "preact";
import { App } from "./app.tsx";
import type { Opening } from "./room/opening-room.ts";
import { followSession } from "./room/use-room.ts";

/** Draws the page, the room following the session it opened with (`opening`, its stream already open) if any. */
export function start(opening: Opening): void {
  const following = opening.room ? followSession(opening.room.session, opening.room) : undefined;
  const root = document.getElementById("app");
  // Drawn on the next task: the stream's answer, which most often came while this code ran, is let in first, so the
  // first frame shows the room live rather than a frame before it.
  if (root) setTimeout(() => render(<App session={opening.session} opening={following} />, root), 0);
}
