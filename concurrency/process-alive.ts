import { errorCode } from "./error-code.ts";

/** Whether a process with this pid is alive on this machine (one of another user's counts too). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}
