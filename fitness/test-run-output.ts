/** One `bun test` process: the files it ran, its exit code, and what it printed (stdout, then stderr). */
export type TestRun = { files: string[]; code: number; text: string };

const ERROR_OUTPUT_LINES = 12;
// bun heads each file's output with `path:`; an error's first line starts with `error` or an Error's name.
const FILE_HEADER = /^(\S.*\.(?:test|spec)\.[cm]?[jt]sx?):$/;
export const ERROR_LINE = /^(error|\w*Error)\b.*:/;

/**
 * Why a `bun test` that failed no test exited non-zero (an error between tests, a file that would not load): the
 * file whose output holds the first error (bun heads each file's output with `path:`), and the first lines of that
 * error, the `error:` line first.
 */
export function errorWithoutFailure(run: TestRun): { file: string; lines: string[] } {
  const lines = run.text.split("\n");
  const start = lines.findIndex((line) => /^# Unhandled error/.test(line) || ERROR_LINE.test(line));
  const header = (line: string) => FILE_HEADER.exec(line)?.[1];
  const file =
    (start >= 0
      ? lines
          .slice(0, start)
          .reverse()
          .map(header)
          .find((name) => name !== undefined)
      : undefined) ??
    (run.files.length === 1 ? run.files[0] : undefined) ??
    `one of ${run.files.join(", ")}`;
  const block = (start >= 0 ? lines.slice(start) : lines).filter((line) => line.trim() !== "" && !/^-+$/.test(line) && !/^# Unhandled/.test(line));
  const errorLine = block.findIndex((line) => ERROR_LINE.test(line.trim()));
  const first = errorLine > 0 ? [...block.slice(errorLine), ...block.slice(0, errorLine)] : block;
  return { file, lines: first.slice(0, ERROR_OUTPUT_LINES).map((line) => line.trimEnd()) };
}

/**
 * The files of a failed run whose output holds a failed test or an error (bun heads each file's output with `path:`);
 * all of them when none can be told.
 */
export function failingFiles(run: TestRun): string[] {
  if (run.files.length === 1) return run.files;
  const found = new Set<string>();
  let current: string | undefined;
  for (const line of run.text.split("\n")) {
    const header = FILE_HEADER.exec(line)?.[1];
    if (header !== undefined) current = header.replace(/^\.\//, "");
    else if (current !== undefined && (/^\(fail\) /.test(line) || ERROR_LINE.test(line))) found.add(current);
  }
  const known = run.files.filter((file) => found.has(file));
  return known.length > 0 ? known : run.files;
}

/** Whether a `bun test` run failed: a non-zero exit or a failed test. */
export function failedRun(run: TestRun): boolean {
  return run.code !== 0 || /^\s*[1-9]\d* fail/m.test(run.text);
}
