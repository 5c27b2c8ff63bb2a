import { z } from "zod";
import { readJsonBody } from "./read-json-body.ts";
import type { requestAuth } from "./request-auth.ts";
import { type Route, route } from "./router.ts";
import { STREAM_TICKET_MS } from "./session-cookie.ts";
import type { StreamTicket } from "./session-api.ts";

const TicketRequest = z.strictObject({});

/**
 * `POST /v1/stream-tickets`: a ticket the web room's page opens its event streams with (`?ticket=`), since an
 * EventSource cannot send the page's key as a header. Asked for like any route: with the cookie, only with the key.
 */
export function streamTicketRoute(auth: ReturnType<typeof requestAuth>, maxBodyBytes: number): Route {
  return route("POST", "/v1/stream-tickets", async ({ request }) => {
    await readJsonBody(request, TicketRequest, maxBodyBytes);
    const answer: StreamTicket = { ticket: auth.streamTicket(), expiresInMs: STREAM_TICKET_MS };
    return Response.json(answer);
  });
}
