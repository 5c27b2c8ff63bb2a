import { OrgError } from "../errors/org-error.ts";

/** org.config.json is wrong; the message names the file, line and key, and what to change. */
export class OrgConfigError extends OrgError {
  override name = "OrgConfigError";
  /** The line of the file the problem is on, when the JSON itself is wrong or a key's line is known. */
  readonly line: number | undefined;
  /** The key the problem is at, as zod names it: `personas[1].model`. */
  readonly key: string | undefined;
  constructor(
    message: string,
    readonly file: string,
    line?: number,
    key?: string,
  ) {
    super(message);
    this.line = line;
    this.key = key;
  }
}
