/**
 * `sandbox.secretPaths`' default: files that hold credentials, hidden from both workspace views in any folder (as
 * `.org/` is) and never written by a change. A pattern without `/` matches that name in any folder. A file of its own:
 * the sandbox and the workspace read it without config's schemas.
 */
export const DEFAULT_SECRET_PATHS: readonly string[] = [".env*", ".npmrc", "*.pem", "*.key", "id_*", ".netrc", ".git-credentials"];
