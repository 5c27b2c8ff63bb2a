import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { listSessions } from "../room/transcript.ts";
import { SessionId } from "../serve/api-schemas.ts";
import { type Route, route } from "../serve/router.ts";
import { sessionTranscript, TRANSCRIPT_BYTES } from "../serve/session-transcript.ts";
import { ROOM_FIRST_MESSAGES } from "./room-read-sizes.ts";
import type { RoomOpening } from "./web-api.ts";
import type { WebContext } from "./web-routes.ts";

/**
 * `GET /v1/web/opening`: the session the page opens (`?session=`, else the newest), its newest turns as `GET
 * /v1/sessions/:id` gives them, and a ticket for its stream, in one read, so the page's first module opens the room's
 * stream one round trip after it runs. Asked like any route (with the cookie, only with the page's key): the page's
 * shell holds nothing of the room.
 */
export function roomOpeningRoute(context: Pick<WebContext, "workspaceDir" | "sessions" | "streamTicket">): Route {
  const sessionsDir = join(context.workspaceDir, SESSIONS_DIR);
  return route("GET", "/v1/web/opening", async ({ request }) => {
    const asked = new URL(request.url).searchParams.get("session");
    const session = asked === null ? listSessions(sessionsDir).at(-1) : SessionId.safeParse(asked).success ? asked : undefined;
    let state: unknown = null;
    if (session !== undefined) {
      // A session that cannot be opened now: no state; the room asks its route, which says why.
      state = await sessionTranscript(context.sessions, session, { messages: ROOM_FIRST_MESSAGES, maxBytes: TRANSCRIPT_BYTES }).catch(() => null);
    }
    const answer: RoomOpening = { session: session ?? null, state, ticket: context.streamTicket() };
    return Response.json(answer);
  });
}
