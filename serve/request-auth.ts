import { bearerMatches } from "./bearer-auth.ts";
import { PAGE_KEY_FRAGMENT, PAGE_KEY_HEADER, STREAM_TICKET_PARAM } from "./page-key-names.ts";
import {
  cookieMatches,
  pageKeyFor,
  pageKeyMatches,
  sessionCookieFor,
  setCookieHeader,
  streamTicketFor,
  streamTicketValid,
} from "./session-cookie.ts";
import { HttpError } from "./http-error.ts";
import { CLOSE_CONNECTION } from "./read-bounded-body.ts";
import { SIGNATURE_HEADER, SIGNED_BODY_DEFAULTS, SignatureCheck, type SignedBodyLimits } from "./request-signature.ts";
import { SeenSignatures } from "./seen-signatures.ts";

/** What a route lets the web room's cookie do: a page's shell and bundle take it alone, an event stream with a ticket. */
export type CookieAccess = { page: boolean; stream: boolean };

const COOKIE_ALONE =
  `the session cookie alone opens nothing here: the web room's page sends its key (${PAGE_KEY_HEADER}) beside it, and ` +
  "a ticket (?ticket=) on an event stream; reload the page, or open the URL org web printed to log in again.";

/**
 * Who may call: the bearer token (ORG_API_TOKEN), a request signature (ORG_API_HMAC_SECRET), either when
 * both are set, anyone when neither is (loopback only, checked at start).
 */
export function requestAuth(options: {
  apiToken?: string;
  /** ORG_API_HMAC_SECRET, its TTL, and how signed bodies are read before their signature is checked (`SIGNED_BODY_DEFAULTS` unless set). */
  hmac?: { secret: string; ttlS: number } & Partial<SignedBodyLimits>;
  maxBodyBytes: number;
  /** Where seen signatures are kept across restarts (`.org/serve/seen-signatures`); memory only without it. */
  workspaceDir?: string;
  fsync?: boolean;
}) {
  const seen = options.hmac
    ? new SeenSignatures({ ...(options.workspaceDir !== undefined ? { workspaceDir: options.workspaceDir } : {}), fsync: options.fsync ?? false })
    : undefined;
  const signatures = options.hmac
    ? new SignatureCheck(options.hmac.secret, options.hmac.ttlS, Date.now, seen, {
        bodyTimeoutS: options.hmac.bodyTimeoutS ?? SIGNED_BODY_DEFAULTS.bodyTimeoutS,
        bodiesPerClient: options.hmac.bodiesPerClient ?? SIGNED_BODY_DEFAULTS.bodiesPerClient,
      })
    : undefined;
  return {
    required: options.apiToken !== undefined || signatures !== undefined,
    close: () => seen?.close(),
    /**
     * A page opened with `?token=…` (the URL `org web` prints): with the right token, a 303 to the same page without
     * it, setting the session cookie, so the token leaves the address bar, and handing the page its key in the
     * fragment (which the page moves to its origin's storage); with a wrong one, 401. Undefined when the URL carries
     * no token.
     */
    login(request: Request): Response | undefined {
      return loginAnswer(request, options.apiToken, signatures !== undefined);
    },
    /** A stream ticket for the web room's page (`POST /v1/stream-tickets`); empty when the server asks for no credential. */
    streamTicket(now = Date.now()): string {
      return options.apiToken === undefined ? "" : streamTicketFor(options.apiToken, now);
    },
    /**
     * The request (with its body still readable) when it may pass; HttpError 401 otherwise. The web room's cookie
     * passes with the page's key, alone on a page's shell or bundle (`access.page`), with a ticket on an event stream.
     * `client` is the peer's address, which bounds the signed bodies read at once from one client.
     */
    async check(request: Request, access: CookieAccess = { page: false, stream: false }, client?: string): Promise<Request> {
      if (options.apiToken === undefined && signatures === undefined) return request;
      if (signatures && request.headers.has(SIGNATURE_HEADER)) return signatures.verify(request, options.maxBodyBytes, client);
      if (options.apiToken !== undefined && bearerMatches(request.headers.get("authorization"), options.apiToken)) return request;
      // The web room's browser: the session cookie its login set (a cross-origin request never gets this far), with
      // what only the page of this origin holds, since the browser sends the cookie to every port of the host.
      if (options.apiToken !== undefined && cookieMatches(request.headers.get("cookie"), options.apiToken)) {
        if (access.page || pageKeyMatches(request.headers.get(PAGE_KEY_HEADER), options.apiToken)) return request;
        const ticket = new URL(request.url).searchParams.get(STREAM_TICKET_PARAM);
        if (access.stream && streamTicketValid(ticket, options.apiToken, Date.now())) return request;
        throw new HttpError(401, COOKIE_ALONE, { "www-authenticate": 'Bearer realm="org"', ...CLOSE_CONNECTION });
      }
      throw noCredential(request.headers.has("authorization"), options.apiToken, signatures !== undefined);
    },
  };
}

/** The login's answer to a page opened with `?token=…` (see `login` above); undefined when the URL carries no token. */
function loginAnswer(request: Request, apiToken: string | undefined, signed: boolean): Response | undefined {
  const url = new URL(request.url);
  const token = url.searchParams.get("token");
  if (token === null) return undefined;
  url.searchParams.delete("token");
  const location = `${url.pathname}${url.search}`;
  if (apiToken === undefined) {
    if (signed) throw new HttpError(401, "this server takes signed requests only; a page cannot log in with a token here.");
    return new Response(null, { status: 303, headers: { location } });
  }
  if (!bearerMatches(`Bearer ${token}`, apiToken)) {
    throw new HttpError(401, "the login token is wrong or from an earlier start; open the URL org web printed this time.");
  }
  const headers = {
    location: `${location}#${PAGE_KEY_FRAGMENT}=${pageKeyFor(apiToken)}`,
    "set-cookie": setCookieHeader(sessionCookieFor(apiToken)),
  };
  return new Response(null, { status: 303, headers });
}

/** The 401 for a request that carries no credential this server takes (or a wrong bearer token), naming the ones it does. */
function noCredential(given: boolean, apiToken: string | undefined, signed: boolean): HttpError {
  const ways = [
    apiToken !== undefined ? "'Authorization: Bearer <token>' (its ORG_API_TOKEN; in a browser, open the URL org web printed)" : "",
    signed ? "a request signature (x-org-timestamp and x-org-signature, with its ORG_API_HMAC_SECRET)" : "",
  ].filter(Boolean);
  return new HttpError(
    401,
    given && apiToken !== undefined
      ? "the bearer token is wrong; send the server's ORG_API_TOKEN as 'Authorization: Bearer <token>'."
      : `this server needs ${ways.join(" or ")} on every route but /health.`,
    // Nothing of the body was read: closed rather than read through for a next request.
    { "www-authenticate": 'Bearer realm="org"', ...CLOSE_CONNECTION },
  );
}
