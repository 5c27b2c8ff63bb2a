# The relay of egress-forwarder.pl, which loads this file (`do`) in the relay's own process once it has started it,
# so that the command does not wait for this code to be compiled: one select loop over every link (a client's
# connection to the forwarder's port and its connection to org's egress guard), whose bytes it moves with splice(2),
# socket → pipe → socket, never through perl's own buffers. Like the forwarder it loads no module: the builtins, with
# Linux's numbers for the few constants they take (x86-64's and arm64's, the same for these), and splice(2)'s own
# number, which differs between them, passed in by org.
package EgressRelay;

sub AF_UNIX () { 1 }
sub SOCK_STREAM () { 1 }
sub SHUT_WR () { 1 }
# The one send(2) of a client whose guard is gone never blocks the relay nor raises SIGPIPE: MSG_DONTWAIT | MSG_NOSIGNAL.
sub SEND_FLAGS () { 0x40 | 0x4000 }
sub EINTR () { 4 }
sub EAGAIN () { 11 }
# fcntl(2)'s F_SETFL, O_NONBLOCK and F_SETPIPE_SZ.
sub F_SETFL () { 4 }
sub O_NONBLOCK () { 0x800 }
sub F_SETPIPE_SZ () { 1031 }
# SPLICE_F_MOVE | SPLICE_F_NONBLOCK.
sub SPLICE_FLAGS () { 1 | 2 }
# What a pipe may hold: a side is not read while its pipe is full (as egress-forwarder.ts pauses it).
sub PIPE_BYTES () { 1024 * 1024 }
# A client the relay has answered and ends (its guard is gone or has ended) is read, its bytes dropped, until it closes:
# a socket closed with bytes unread sends a reset, which can take the answer from the client before it has read it.
# At most this many at once, each for about 2 s (1 to 3: `time` and the select's wait count whole seconds): a client
# that never closes is closed then.
sub CLOSING_MAX () { 64 }
sub CLOSING_SECONDS () { 2 }

# What the client gets when the guard is gone: an HTTP answer it prints, at once (egress-forwarder.ts's own).
my $guard_gone = "org's egress guard is not running (it stopped or org ended): this run has no network any more.\n";
my $guard_gone_answer = join "\r\n", "HTTP/1.1 502 Bad Gateway", "Content-Type: text/plain",
  "Content-Length: " . length($guard_gone), "Connection: close", "", $guard_gone;
my $splice;

# A way: the bytes from `source` to `sink`, through a pipe of its own; `held` of them wait in it, `room` more fit.
sub way {
  my ($source, $sink) = @_;
  pipe(my $read, my $write) or return undef;
  my $room = fcntl($write, F_SETPIPE_SZ, PIPE_BYTES);
  # Where the pipe cannot grow it keeps its 64 KiB.
  $room = defined $room && $room > 0 ? $room : 64 * 1024;
  fcntl($_, F_SETFL, O_NONBLOCK) or return undef for $source, $sink, $read, $write;
  return { source => $source, sink => $sink, read => $read, write => $write, held => 0, room => $room, ended => 0 };
}

# splice(2) from `$from` to `$to`, at most `$bytes`: how many moved, 0 at the source's end, -1 when nothing can move
# now, undef when it failed.
sub spliced {
  my ($from, $to, $bytes) = @_;
  my $moved = syscall($splice, fileno $from, 0, fileno $to, 0, $bytes, SPLICE_FLAGS);
  return $moved if $moved >= 0;
  return $! == EAGAIN || $! == EINTR ? -1 : undef;
}

# Moves what `$way`'s source has into its pipe while there is room: 0 at the source's end, undef when it failed.
sub fill {
  my ($way) = @_;
  while ($way->{held} < $way->{room}) {
    my $got = spliced($way->{source}, $way->{write}, $way->{room} - $way->{held});
    return $got if !defined $got || $got == 0;
    return -1 if $got < 0;
    $way->{held} += $got;
  }
  return -1;
}

# Moves what `$way`'s pipe holds to its sink until it takes no more; false when the sink failed.
sub flush {
  my ($way) = @_;
  while ($way->{held} > 0) {
    my $sent = spliced($way->{read}, $way->{sink}, $way->{held});
    return 0 if !defined $sent;
    return 1 if $sent <= 0;
    $way->{held} -= $sent;
  }
  return 1;
}

# Relays every connection `$listener` accepts to the guard's socket at `$socket_path`, until `$command_pid` has ended:
# `$command_fd`, its pidfd, is readable then (where it is -1, the kernel has none, the relay looks every second instead).
# `$splice_syscall` is splice(2)'s number on this machine.
sub relay {
  my ($listener, $socket_path, $command_pid, $command_fd, $splice_syscall) = @_;
  $splice = $splice_syscall;
  # A write to a side that has gone fails (EPIPE) rather than ending the relay.
  $SIG{PIPE} = "IGNORE";
  my $listener_fd = fileno $listener;
  my $guard_address = pack("S", AF_UNIX) . $socket_path . "\0";
  my (%links, %closing);
  while (1) {
    my ($readable, $writable) = ("", "");
    vec($readable, $listener_fd, 1) = 1;
    vec($readable, $command_fd, 1) = 1 if $command_fd >= 0;
    vec($readable, fileno $_->{client}, 1) = 1 for values %closing;
    for my $link (values %links) {
      my ($up, $down) = @$link{qw(up down)};
      vec($readable, fileno $link->{client}, 1) = 1 if !$up->{ended} && $up->{held} < $up->{room};
      vec($readable, fileno $link->{guard}, 1) = 1 if !$down->{ended} && $down->{held} < $down->{room};
      vec($writable, fileno $link->{client}, 1) = 1 if $down->{held};
      vec($writable, fileno $link->{guard}, 1) = 1 if $up->{held} && !$down->{ended};
    }
    my $wait = $command_fd >= 0 ? undef : 1;
    for my $entry (values %closing) {
      my $left = $entry->{until} - time;
      $wait = $left if !defined $wait || $left < $wait;
    }
    my $ready = select($readable, $writable, undef, defined $wait && $wait < 0 ? 0 : $wait);
    if ($ready <= 0) {
      exit 0 if $command_fd < 0 && !kill 0, $command_pid;
      expire(\%closing);
      next;
    }
    exit 0 if $command_fd >= 0 && vec($readable, $command_fd, 1);
    if (vec($readable, $listener_fd, 1) && accept(my $client, $listener)) {
      my ($guard, $up, $down);
      if (socket($guard, AF_UNIX, SOCK_STREAM, 0) && connect($guard, $guard_address)
        && ($up = way($client, $guard)) && ($down = way($guard, $client))) {
        $links{fileno $client} = { key => fileno $client, client => $client, guard => $guard, up => $up, down => $down };
      } else {
        # The socket that could not connect is closed now, not when the next connection reuses its variable.
        close $guard if defined $guard;
        send($client, $guard_gone_answer, SEND_FLAGS);
        ending(\%closing, $client);
      }
    }
    for my $entry (values %closing) {
      drain(\%closing, $entry) if vec($readable, fileno $entry->{client}, 1);
    }
    expire(\%closing);
    for my $link (values %links) {
      my ($client, $guard, $up, $down) = @$link{qw(client guard up down)};
      if (vec($readable, fileno $client, 1)) {
        my $got = fill($up);
        if (!defined $got) { drop(\%links, $link); next }
        $up->{ended} = 1 if $got == 0;
      }
      if (vec($readable, fileno $guard, 1)) {
        my $got = fill($down);
        $down->{ended} = 1 if !defined $got || $got == 0;
      }
      # The guard's side has ended or failed: nothing more goes to it.
      $down->{ended} = 1 if $up->{held} && !$down->{ended} && !flush($up);
      # The client has ended: the guard's side is shut once what is held for it has gone.
      if ($up->{ended} && !$up->{held} && !$link->{guard_shut}) {
        shutdown($guard, SHUT_WR);
        $link->{guard_shut} = 1;
      }
      if ($down->{held} && !flush($down)) { drop(\%links, $link); next }
      # The guard's side has ended: the client's ends once what is held for it has gone, read until it closes where
      # it may still be sending (the guard answered before the request's end: a refusal).
      if ($down->{ended} && !$down->{held}) {
        drop(\%links, $link, $up->{ended} ? undef : \%closing);
      }
    }
  }
}

# `$client` has had its answer: its side is shut, and it is read until it closes (`drain`), for CLOSING_SECONDS at most;
# at once where CLOSING_MAX clients are being closed so already.
sub ending {
  my ($closing, $client) = @_;
  if (keys %$closing >= CLOSING_MAX || !fcntl($client, F_SETFL, O_NONBLOCK) || !shutdown($client, SHUT_WR)) {
    close $client;
    return;
  }
  $closing->{fileno $client} = { client => $client, until => time + CLOSING_SECONDS };
}

# Reads what a closing client sent and drops it; closes it at its end or failure. At most 1 MiB a turn, so that one
# client cannot hold the loop.
sub drain {
  my ($closing, $entry) = @_;
  for (1 .. 16) {
    my $got = sysread($entry->{client}, my $dropped, 64 * 1024);
    next if $got;
    return if !defined $got && ($! == EAGAIN || $! == EINTR);
    delete $closing->{fileno $entry->{client}};
    close $entry->{client};
    return;
  }
}

# Closes the closing clients whose time is up.
sub expire {
  my ($closing) = @_;
  my $now = time;
  for my $key (keys %$closing) {
    next if $closing->{$key}{until} > $now;
    close $closing->{$key}{client};
    delete $closing->{$key};
  }
}

# Ends `$link`: its client is closed, or handed to `$closing` (`ending`) where one is given.
sub drop {
  my ($links, $link, $closing) = @_;
  delete $links->{$link->{key}};
  close $_ for $link->{guard}, @{$link->{up}}{qw(read write)}, @{$link->{down}}{qw(read write)};
  if ($closing) { ending($closing, $link->{client}) } else { close $link->{client} }
}

1;
