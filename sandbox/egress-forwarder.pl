# Runs inside a sandbox given network, by the system's perl, where the host has one (`egress-run.ts`): what
# egress-forwarder.ts does, for about 2 ms of CPU a run where bun's costs 7. It listens on the sandbox's loopback (the
# only interface its network namespace has), then starts its relay, which forwards each connection to org's egress
# guard through the Unix socket bound in, and becomes the command itself (exec): the command's exit code and signal
# are the run's own. The relay is no child of the command: clone(2) with CLONE_PARENT makes it the command's sibling,
# a child of the sandbox's init, which reaps it (a shell's `wait` never waits for it, and the command starts without
# waiting for a fork in between to end). It closes its stdin, stdout and stderr, and ends as soon as the command has
# (as bun's forwarder does with it).
# It loads no module, not even Socket (loading Socket costs about 7 ms of CPU, as much as bun's whole start) nor strict
# (0.5 ms; `perl -Mstrict -c` checks it in egress-run.test.ts): the builtins, with Linux's numbers for the few
# constants they take (x86-64's and arm64's, the same for these), and clone(2)'s number for this machine passed in by
# org (it differs between architectures), as is splice(2)'s, which the relay moves the bytes with. The relay's code is
# in egress-relay.pl beside it, compiled by the relay alone, and only once a connection comes: compiling it here cost
# every command about 0.7 ms more before it started.
#   perl egress-forwarder.pl PORT SOCKET CLONE_SYSCALL SPLICE_SYSCALL -- COMMAND…
# Constants as subs with an empty prototype (inlined): `use constant` loads modules of its own.
sub AF_INET () { 2 }
sub SOCK_STREAM () { 1 }
sub CLONE_PARENT () { 0x8000 }
sub SIGCHLD () { 17 }
sub ENOENT () { 2 }
# pidfd_open(2) (Linux 5.3): one number on every architecture, from the table they share since 5.1.
sub SYS_PIDFD_OPEN () { 434 }

my ($port, $socket_path, $clone, $splice, $separator, @command) = @ARGV;
if (!defined $port || $port !~ /^[0-9]+$/ || !defined $socket_path || !defined $clone || $clone !~ /^[0-9]+$/
  || !defined $splice || $splice !~ /^[0-9]+$/ || !defined $separator || $separator ne "--" || !@command) {
  print STDERR "usage: perl egress-forwarder.pl PORT SOCKET CLONE_SYSCALL SPLICE_SYSCALL -- COMMAND…\n";
  exit 2;
}

my $listener;
socket($listener, AF_INET, SOCK_STREAM, 0)
  && bind($listener, pack("S n C4 x8", AF_INET, $port, 127, 0, 0, 1))
  && listen($listener, 511)
  or do { print STDERR "org's egress forwarder cannot listen on 127.0.0.1:$port: $!\n"; exit 1 };

my $command_pid = $$;
# clone(CLONE_PARENT | SIGCHLD) with no stack (the child runs on a copy, as after fork) and no TID pointers.
my $relay = syscall($clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
if ($relay < 0) { print STDERR "org's egress forwarder cannot start its relay: $!\n"; exit 1 }
if ($relay == 0) {
  close STDIN;
  close STDOUT;
  close STDERR;
  # Readable once the command has exited; where the kernel has no pidfd the relay looks every second instead.
  my $command_fd = syscall(SYS_PIDFD_OPEN, $command_pid, 0);
  # The relay's code is compiled once a first connection comes (1–2 ms of CPU, its pages copied from the command's
  # as it writes them): a command that makes none pays nothing for it.
  while (1) {
    my $ready = "";
    vec($ready, fileno $listener, 1) = 1;
    vec($ready, $command_fd, 1) = 1 if $command_fd >= 0;
    if (select($ready, undef, undef, $command_fd >= 0 ? undef : 1) > 0) {
      exit 0 if $command_fd >= 0 && vec($ready, $command_fd, 1);
      last if vec($ready, fileno $listener, 1);
    }
    exit 0 if $command_fd < 0 && !kill 0, $command_pid;
  }
  my $folder = $0 =~ m{^(.*/)} ? $1 : "./";
  do "${folder}egress-relay.pl";
  EgressRelay::relay($listener, $socket_path, $command_pid, $command_fd, $splice) if defined &EgressRelay::relay;
  exit 0;
}
close $listener;
# Set by org for this perl alone (no locale to load): not the command's.
delete $ENV{PERL_SKIP_LOCALE_INIT};
exec { $command[0] } @command;
my $missing = $! == ENOENT;
print STDERR "org's egress forwarder: failed to execute $command[0]: $!\n";
exit($missing ? 127 : 126);
