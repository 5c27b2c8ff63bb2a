/** The `code` of a failed system call (`ENOENT`, `EEXIST`, …), checked rather than cast; undefined for any other error. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
