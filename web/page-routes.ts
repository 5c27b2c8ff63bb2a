import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { listSessions } from "../room/transcript.ts";
import { SessionId } from "../serve/api-schemas.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { SessionPool } from "../serve/session-pool.ts";
import { sessionTranscript, TRANSCRIPT_BYTES } from "../serve/session-transcript.ts";
import type { PageAssets } from "./page-assets.ts";
import { VIEW_PATHS } from "./view-paths.ts";
import { ROOM_STATE_ELEMENT } from "./room-state-element.ts";
import { ROOM_FIRST_MESSAGES } from "./web-api.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

/** The session the page opens: `?session=` in its address, else the newest (undefined: none yet, the page makes one). */
function sessionOf(request: Request, sessionsDir: string): string | undefined {
  const asked = new URL(request.url).searchParams.get("session");
  if (asked !== null) return SessionId.safeParse(asked).success ? asked : undefined;
  return listSessions(sessionsDir).at(-1);
}

/** The page's shell with the newest session named in a meta tag, so the room opens it without asking for the list first. */
function withNewestSession(html: string, sessionsDir: string): string {
  const newest = listSessions(sessionsDir).at(-1);
  // Session ids are letters, digits, '.', '_' and '-' (transcript.ts); anything else is left out rather than escaped.
  if (newest === undefined || !/^[\w.-]+$/.test(newest)) return html;
  return html.replace("</head>", `<meta name="org-newest-session" content="${newest}">\n</head>`);
}

/**
 * JSON as the text of a `<script type="application/json">` element: no `<` in it (so no `</script>` or `<!--` can end
 * or bend the element, whatever a model wrote), nor `>`, `&` or the two line separators; each is a `\uXXXX` escape.
 */
export function jsonScriptText(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * What `GET /v1/sessions/:id` would answer for the page's session, as a data block the page reads instead of asking
 * (a round trip less before the room is usable); empty when there is none or it cannot be opened now, and the page
 * then asks the route, which says why.
 */
async function roomStateBlock(sessions: SessionPool, session: string | undefined): Promise<string> {
  if (session === undefined) return "";
  // A task's wait first: the server sends the page's head meanwhile (else, with the room open, it would send it all at
  // once), so the browser asks for the bundle while this is read.
  await Bun.sleep(0);
  try {
    const state = await sessionTranscript(sessions, session, { messages: ROOM_FIRST_MESSAGES, maxBytes: TRANSCRIPT_BYTES });
    return `<script type="application/json" id="${ROOM_STATE_ELEMENT}">${jsonScriptText(state)}</script>\n`;
  } catch {
    return "";
  }
}

/**
 * The page: its head at once, so the browser fetches the bundle while the server reads the room's state, then the
 * state at the end of the body (the page's module runs once the body is whole, so it finds it there).
 */
function streamedPage(head: string, tail: Promise<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    // Not an async start: the stream is read from only once start returns, so the head would wait for the tail.
    start(controller) {
      controller.enqueue(encoder.encode(head));
      void tail.then((rest) => {
        try {
          controller.enqueue(encoder.encode(rest));
          controller.close();
        } catch {
          // The browser went away meanwhile.
        }
      });
    },
  });
}

/**
 * The web room's page at `/` and at each view's path (the page routes itself in the browser), and the bundle's
 * files under `/assets/`. Each asks for the session like any route; opened with `?token=…` it is the login.
 */
export function pageRoutes(assets: () => Promise<PageAssets>, workspaceDir: string, sessions: SessionPool): Route[] {
  const sessionsDir = join(workspaceDir, SESSIONS_DIR);
  const page = async ({ request }: { request: Request }) => {
    const html = withNewestSession((await assets()).html, sessionsDir);
    const end = html.lastIndexOf("</body>");
    const state = roomStateBlock(sessions, sessionOf(request, sessionsDir));
    return new Response(
      streamedPage(
        html.slice(0, end),
        state.then((block) => block + html.slice(end)),
      ),
      { headers: HTML },
    );
  };
  return [
    ...VIEW_PATHS.map((path) => route("GET", path, page, { page: true })),
    // Browsers ask for it by themselves; the page has none.
    route("GET", "/favicon.ico", () => new Response(null, { status: 204 })),
    route("GET", "/assets/:file", async ({ params, path, request }) => {
      const file = (await assets()).files.get(path ?? "");
      if (file === undefined) throw new HttpError(404, `no file ${String(params.file).slice(0, 80)} in this page's bundle; reload the page.`);
      // Named by their content's hash: kept for good. Gzipped (a third of the bytes) for a browser that says it takes it.
      const headers = { "content-type": file.type, "cache-control": "private, max-age=31536000, immutable", vary: "accept-encoding" };
      if (!/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(file.body, { headers });
      return new Response(file.gzip, { headers: { ...headers, "content-encoding": "gzip" } });
    }),
  ];
}
