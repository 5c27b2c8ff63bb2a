import { OrgError } from "../errors/org-error.ts";

/**
 * The `code` of a failed system call (`ENOENT`, `EEXIST`, …), checked rather than cast; undefined for any other error,
 * an `OrgError`'s own code included.
 */
export function errorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || OrgError.isInstance(error)) return undefined;
  return "code" in error && typeof error.code === "string" ? error.code : undefined;
}
