// The few libc calls a relay by splice(2) needs, through bun:ffi: no compiler, no addon. Linux only; `openLibc` is
// undefined anywhere else or when libc cannot be opened, and the caller relays as before.

/** errno values the relay tells apart. */
export const EAGAIN = 11;
export const EINTR = 4;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_DUPFD_CLOEXEC = 1030;
export const F_SETPIPE_SZ = 1031;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const SHUT_WR = 1;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
export const EPOLL_CTL_ADD = 1;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
/** struct epoll_event is packed on x86-64 (12 bytes), aligned elsewhere (16). */
export const EPOLL_EVENT_BYTES = process.arch === "x64" ? 12 : 16;

/** The libc calls, each as the C prototype says; `errno()` reads the calling thread's errno. */
export type Libc = {
  splice: (fdIn: number, offIn: null, fdOut: number, offOut: null, length: number, flags: number) => number;
  pipe2: (fds: Int32Array, flags: number) => number;
  fcntl: (fd: number, command: number, argument: number) => number;
  close: (fd: number) => number;
  shutdown: (fd: number, how: number) => number;
  write: (fd: number, buffer: Uint8Array, length: number) => number;
  read: (fd: number, buffer: Uint8Array, length: number) => number;
  epoll_create1: (flags: number) => number;
  epoll_ctl: (epoll: number, operation: number, fd: number, event: Uint8Array) => number;
  epoll_wait: (epoll: number, events: Uint8Array, max: number, timeoutMs: number) => number;
  eventfd: (initial: number, flags: number) => number;
  errno: () => number;
};

/** libc's calls for a splice relay, or undefined where there are none (not Linux, no bun:ffi, no libc.so.6). */
export async function openLibc(): Promise<Libc | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    const { dlopen, FFIType, read } = await import("bun:ffi");
    const { i32, i64, u32, ptr } = FFIType;
    const { symbols } = dlopen("libc.so.6", {
      splice: { args: [i32, ptr, i32, ptr, u32, u32], returns: i64 },
      pipe2: { args: [ptr, i32], returns: i32 },
      fcntl: { args: [i32, i32, i32], returns: i32 },
      close: { args: [i32], returns: i32 },
      shutdown: { args: [i32, i32], returns: i32 },
      write: { args: [i32, ptr, u32], returns: i64 },
      read: { args: [i32, ptr, u32], returns: i64 },
      epoll_create1: { args: [i32], returns: i32 },
      epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
      epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
      eventfd: { args: [u32, i32], returns: i32 },
      __errno_location: { args: [], returns: ptr },
    });
    return {
      splice: (fdIn, offIn, fdOut, offOut, length, flags) => Number(symbols.splice(fdIn, offIn, fdOut, offOut, length, flags)),
      pipe2: (fds, flags) => symbols.pipe2(fds, flags),
      fcntl: (fd, command, argument) => symbols.fcntl(fd, command, argument),
      close: (fd) => symbols.close(fd),
      shutdown: (fd, how) => symbols.shutdown(fd, how),
      write: (fd, buffer, length) => Number(symbols.write(fd, buffer, length)),
      read: (fd, buffer, length) => Number(symbols.read(fd, buffer, length)),
      epoll_create1: (flags) => symbols.epoll_create1(flags),
      epoll_ctl: (epoll, operation, fd, event) => symbols.epoll_ctl(epoll, operation, fd, event),
      epoll_wait: (epoll, events, max, timeoutMs) => symbols.epoll_wait(epoll, events, max, timeoutMs),
      eventfd: (initial, flags) => symbols.eventfd(initial, flags),
      errno: () => {
        const at = symbols.__errno_location();
        return at === null ? 0 : read.i32(at, 0);
      },
    };
  } catch {
    return undefined;
  }
}
