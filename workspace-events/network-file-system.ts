import { statfsSync } from "node:fs";

/**
 * Filesystems whose files another machine (or the host of a VM) can write, by their statfs magic number
 * (linux/magic.h). inotify reports only what this kernel did, so a watch there misses the others' writes, silently.
 */
const NETWORK_FILE_SYSTEMS = new Map<number, string>([
  [0x6969, "nfs"],
  [0x517b, "smb"],
  [0xff534d42, "cifs"],
  [0xfe534d42, "smb2"],
  [0x01021997, "9p"],
  [0x65735546, "fuse"],
  [0x00c36400, "ceph"],
  [0x5346414f, "afs"],
  [0x6b414653, "afs"],
  [0x73757245, "coda"],
  [0x01161970, "gfs2"],
  [0x7461636f, "ocfs2"],
  [0x0bd00bd0, "lustre"],
  [0x786f4256, "vboxsf"],
]);

/** The name of a network filesystem with statfs type `type`; undefined for one whose writes are all this kernel's. */
export function networkFileSystemNamed(type: number): string | undefined {
  return NETWORK_FILE_SYSTEMS.get(type >>> 0);
}

/** The network filesystem `dir` is on (a watch there can miss writes); undefined when local or when statfs fails. */
export function networkFileSystemOf(dir: string): string | undefined {
  try {
    return networkFileSystemNamed(statfsSync(dir).type);
  } catch {
    return undefined;
  }
}
