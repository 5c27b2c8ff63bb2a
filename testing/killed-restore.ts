import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Runs `org restore`'s restoreBackup of `file` into `to` in a process of its own that kills itself with SIGKILL the
 * moment it starts building the checkout (the state written, the checkout not); returns that process's pid.
 */
export async function killedRestore(file: string, to: string, scratch: string): Promise<number> {
  const script = join(scratch, "killed-restore.ts");
  writeFileSync(
    script,
    `import { restoreBackup } from ${JSON.stringify(join(import.meta.dir, "..", "backup", "restore-backup.ts"))};
const [file, to] = process.argv.slice(2);
await restoreBackup({ file, to, onProgress: (line) => { if (line.startsWith("building the checkout")) process.kill(process.pid, "SIGKILL"); } });
`,
  );
  const child = Bun.spawn([process.execPath, script, file, to], { stdout: "ignore", stderr: "inherit", timeout: 60_000 });
  await child.exited;
  if (child.signalCode !== "SIGKILL") throw new Error(`the restore into ${to} was to kill itself, and ended with ${child.exitCode}`);
  return child.pid;
}
