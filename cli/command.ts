/** A subcommand of `org`: its help text and what it runs. */
export type Command = {
  name: string;
  summary: string;
  /** Full `--help` text: usage line, options, an example. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], signal: AbortSignal): Promise<number>;
};

/**
 * An error whose message is written for the user: main prints the message alone, no stack. A typed error
 * in any part declares itself so with `readonly userFacing = true`; every other error is a bug and shows
 * its stack.
 */
export type UserFacing = Error & { readonly userFacing: true };

/** Whether an error declares that its message is meant for the user as is. */
export function isUserFacing(error: unknown): error is UserFacing {
  return error instanceof Error && "userFacing" in error && error.userFacing === true;
}

/** Wrong words on the command line; main prints the message and the command's help hint, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly userFacing = true;
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** An error meant for the user as is: main prints only its message, exit 1. */
export class UserFacingError extends Error {
  override name = "UserFacingError";
  readonly userFacing = true;
}
