/**
 * The id of the page's data block (`<script type="application/json">`) that holds `GET /v1/sessions/:id`'s answer for
 * the session the page opens, when the server had it: the server writes it, the page reads it. No zod here: the page
 * reads it before the rest of its code runs.
 */
export const ROOM_STATE_ELEMENT = "org-room-state";
