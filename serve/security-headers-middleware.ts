import type { Middleware } from "./router.ts";

/**
 * What every answer says to a browser: scripts, styles, images, fonts and connections only from this origin, no
 * inline script or `eval` (so markup a model slipped into a page cannot run), no framing, no sniffing, no referrer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // blob: for the screenshots the page reads with its key (an <img> cannot send it) and shows from memory.
    "img-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Puts SECURITY_HEADERS on every answer, refusals and event streams included. */
export const securityHeadersMiddleware: Middleware = async (context, next) => {
  const response = await next(context);
  try {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
    return response;
  } catch {
    // A response with immutable headers (a redirect made by Response.redirect) is copied.
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
};
