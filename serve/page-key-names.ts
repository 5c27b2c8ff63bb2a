// Where the web room's page keeps and sends its key and its stream ticket: read by serve and by the page alike, so
// this module imports nothing.

/** The header the page sends its key in, beside the session cookie. */
export const PAGE_KEY_HEADER = "x-org-page-key";

/** Where the login's redirect puts the page's key: the fragment (`#org-page-key=…`), which the browser never sends. */
export const PAGE_KEY_FRAGMENT = "org-page-key";

/** The query parameter an event stream's ticket comes in (an EventSource cannot send a header). */
export const STREAM_TICKET_PARAM = "ticket";
