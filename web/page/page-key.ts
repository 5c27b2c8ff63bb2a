import { PAGE_KEY_FRAGMENT, PAGE_KEY_HEADER, STREAM_TICKET_PARAM } from "../../serve/page-key-names.ts";
import { OrgError } from "../../errors/org-error.ts";

// The page's key: what it sends beside the session cookie, which the browser would send to any port of the host. It is
// kept in this origin's storage (a page on another port has storage of its own) and never in a cookie. This module
// imports nothing but names: the page's first module uses it before zod is configured.

const STORED = "org-page-key";

/** Moves a key the login's redirect put in the address's fragment into this origin's storage, and drops it from the address. */
export function takePageKey(): void {
  const given = new URLSearchParams(location.hash.slice(1)).get(PAGE_KEY_FRAGMENT);
  if (given === null) return;
  try {
    localStorage.setItem(STORED, given);
  } catch {
    // Storage refused (a locked-down profile): the routes then say to log in again.
  }
  history.replaceState(history.state, "", `${location.pathname}${location.search}`);
}

/** The header that carries the page's key on a request; none when this origin holds no key. */
export function pageKeyHeaders(): Record<string, string> {
  let key: string | null = null;
  try {
    key = localStorage.getItem(STORED);
  } catch {
    key = null;
  }
  return key ? { [PAGE_KEY_HEADER]: key } : {};
}

/** A request the server refused or could not answer; `message` is the server's own words. */
export class ApiError extends OrgError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server's words in a refusal (`{ error: { message } }`), else its status. */
async function refusal(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  const error = typeof body === "object" && body !== null && "error" in body ? body.error : undefined;
  const said = typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" ? error.message : undefined;
  const message = said ?? `${response.status} ${response.statusText}`;
  return new ApiError(response.status, response.status === 401 ? `${message} (open the URL org web printed to log in again)` : message);
}

/** A route's JSON answer, not yet checked, the page's key sent along (a POST when there is a body); an ApiError when refused. */
export async function fetchJson(path: string, options: { body?: unknown; signal?: AbortSignal | undefined } = {}): Promise<unknown> {
  const posting = options.body !== undefined;
  const response = await fetch(path, {
    method: posting ? "POST" : "GET",
    headers: { accept: "application/json", ...(posting ? { "content-type": "application/json" } : {}), ...pageKeyHeaders() },
    ...(posting ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok) throw await refusal(response);
  return response.json();
}

/** An image a route answers, as an object URL for an `<img>` (which cannot send the page's key); an ApiError when refused. */
export async function fetchImageUrl(path: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(path, { headers: { accept: "image/png", ...pageKeyHeaders() }, ...(signal ? { signal } : {}) });
  if (!response.ok) throw await refusal(response);
  const blob = await response.blob();
  // Only what the server said is a PNG is shown as one.
  return URL.createObjectURL(new Blob([blob], { type: "image/png" }));
}

/**
 * A fresh stream ticket (`POST /v1/stream-tickets`, asked with the page's key) as a query parameter, empty when the
 * server needs none: an EventSource cannot send the key as a header, and the cookie alone opens no stream.
 */
async function streamTicketParam(): Promise<string> {
  const answer = await fetchJson("/v1/stream-tickets", { body: {} });
  const ticket = typeof answer === "object" && answer !== null && "ticket" in answer && typeof answer.ticket === "string" ? answer.ticket : "";
  return ticket === "" ? "" : `${STREAM_TICKET_PARAM}=${encodeURIComponent(ticket)}`;
}

/** An event stream's address (`path` with or without a query) with a ticket parameter added. */
export function withTicket(path: string, param: string): string {
  return param === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${param}`;
}

/** An event stream's address with a fresh ticket. */
export async function streamAddress(path: string): Promise<string> {
  return withTicket(path, await streamTicketParam());
}
