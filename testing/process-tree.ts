import { existsSync, readdirSync, readFileSync } from "node:fs";

/** Every process below `pid`, read from /proc (the children of each of its threads, recursively). */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = "";
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, "utf8");
      } catch {
        continue;
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/** The bwrap processes below `pid`: the sandboxes it runs. */
export function sandboxesOf(pid: number): number[] {
  return descendants(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, "utf8").trim() === "bwrap";
    } catch {
      return false;
    }
  });
}

/** Whether `pid` is a live process (a zombie is not). */
export function isLive(pid: number): boolean {
  try {
    return existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Resolves true when `proc` exits within `timeoutMs`, else false (it is then left running for the caller). */
export function exitsWithin(proc: { exited: Promise<number> }, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    proc.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
}
