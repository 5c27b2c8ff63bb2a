import { OrgError } from "../errors/org-error.ts";

/** A call the model should make otherwise; its message says how. */
export class BrowserCallError extends OrgError {
  override name = "BrowserCallError";
}

/** Schemes a page may be shown from; anything else (file:, chrome:, devtools:, view-source:, …) is refused. */
const SHOWN_SCHEMES = new Set(["http:", "https:"]);

/** Whether the browser may show `url`: http and https, and the empty page. */
export function shownUrl(url: string): boolean {
  if (url === "about:blank") return true;
  try {
    return SHOWN_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}
