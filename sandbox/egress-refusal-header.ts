/**
 * The header every refusal of org's egress guard carries (`x-org-egress: refused`): a client that shows what it got
 * (the browser) tells the guard's answer from a page's. A server can send it too; it then only makes its own page look
 * refused, and what is said of it quotes none of its words.
 */
export const EGRESS_REFUSAL_HEADER = "x-org-egress";
export const EGRESS_REFUSED = "refused";
