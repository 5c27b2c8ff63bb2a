/** A git command failed; the message carries git's own words. */
export class GitCommandError extends Error {
  override name = "GitCommandError";
}
