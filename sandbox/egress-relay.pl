# The relay of egress-forwarder.pl, which loads this file (`do`) in the relay's own process once it has started it,
# so that the command does not wait for this code to be compiled: one select loop over every link (a client's
# connection to the forwarder's port and its connection to org's egress guard). Like the forwarder it loads no
# module: the builtins, with Linux's numbers for the few constants they take (x86-64's and arm64's, the same for these).
package EgressRelay;

sub AF_UNIX () { 1 }
sub SOCK_STREAM () { 1 }
sub SHUT_WR () { 1 }
# The one send(2) of a client whose guard is gone never blocks the relay nor raises SIGPIPE: MSG_DONTWAIT | MSG_NOSIGNAL.
sub SEND_FLAGS () { 0x40 | 0x4000 }
sub EINTR () { 4 }
sub EAGAIN () { 11 }
# fcntl(2)'s F_SETFL and O_NONBLOCK.
sub F_SETFL () { 4 }
sub O_NONBLOCK () { 0x800 }
sub CHUNK () { 256 * 1024 }
# A side is not read while this much waits for the other side (as egress-forwarder.ts pauses it).
sub HIGH_WATER () { 1024 * 1024 }

# What the client gets when the guard is gone: an HTTP answer it prints, at once (egress-forwarder.ts's own).
my $guard_gone = "org's egress guard is not running (it stopped or org ended): this run has no network any more.\n";
my $guard_gone_answer = join "\r\n", "HTTP/1.1 502 Bad Gateway", "Content-Type: text/plain",
  "Content-Length: " . length($guard_gone), "Connection: close", "", $guard_gone;

# A queue holds what was read from one side and not yet written to the other: `data`, written from `sent` on. A write
# taken in part moves `sent` instead of copying what remains (substr($data, 0, $sent, "") copied it each time).
sub pending {
  my ($queue) = @_;
  return length($queue->{data}) - $queue->{sent};
}

# Reads what `$socket` has onto the end of `$queue` (no copy in between): its count, 0 at the socket's end, undef when
# it failed; -1 when it has nothing now.
sub fill {
  my ($socket, $queue) = @_;
  my $got = sysread($socket, $queue->{data}, CHUNK, length $queue->{data});
  return !defined $got && ($! == EAGAIN || $! == EINTR) ? -1 : $got;
}

# Writes what `$queue` holds to `$socket` until it takes no more; false when the socket failed.
sub flush_queue {
  my ($socket, $queue) = @_;
  while (pending($queue) > 0) {
    my $sent = syswrite($socket, $queue->{data}, pending($queue), $queue->{sent});
    if (!defined $sent) {
      return 0 if $! != EAGAIN && $! != EINTR;
      # Taken in part for a while: what was written goes, once it is more than the queue holds at most.
      if ($queue->{sent} > HIGH_WATER) {
        substr($queue->{data}, 0, $queue->{sent}, "");
        $queue->{sent} = 0;
      }
      return 1;
    }
    $queue->{sent} += $sent;
  }
  # All of it went: the buffer is kept for the next reads.
  $queue->{data} = "";
  $queue->{sent} = 0;
  return 1;
}

# A socket of a link never blocks the relay: its reads and writes take what they can.
sub nonblocking {
  my ($socket) = @_;
  return fcntl($socket, F_SETFL, O_NONBLOCK);
}

# Relays every connection `$listener` accepts to the guard's socket at `$socket_path`, until `$command_pid` has ended:
# `$command_fd`, its pidfd, is readable then (where it is -1, the kernel has none, the relay looks every second instead).
sub relay {
  my ($listener, $socket_path, $command_pid, $command_fd) = @_;
  # A write to a side that has gone fails (EPIPE) rather than ending the relay.
  $SIG{PIPE} = "IGNORE";
  my $listener_fd = fileno $listener;
  my $guard_address = pack("S", AF_UNIX) . $socket_path . "\0";
  my %links;
  while (1) {
    my ($readable, $writable) = ("", "");
    vec($readable, $listener_fd, 1) = 1;
    vec($readable, $command_fd, 1) = 1 if $command_fd >= 0;
    for my $link (values %links) {
      my ($to_guard, $to_client) = @$link{qw(to_guard to_client)};
      vec($readable, fileno $link->{client}, 1) = 1 if !$link->{client_ended} && pending($to_guard) < HIGH_WATER;
      vec($readable, fileno $link->{guard}, 1) = 1 if !$link->{guard_ended} && pending($to_client) < HIGH_WATER;
      vec($writable, fileno $link->{client}, 1) = 1 if pending($to_client);
      vec($writable, fileno $link->{guard}, 1) = 1 if pending($to_guard) && !$link->{guard_ended};
    }
    my $ready = select($readable, $writable, undef, $command_fd >= 0 ? undef : 1);
    if ($ready <= 0) {
      exit 0 if $command_fd < 0 && !kill 0, $command_pid;
      next;
    }
    exit 0 if $command_fd >= 0 && vec($readable, $command_fd, 1);
    if (vec($readable, $listener_fd, 1) && accept(my $client, $listener)) {
      my $guard;
      if (socket($guard, AF_UNIX, SOCK_STREAM, 0) && connect($guard, $guard_address) && nonblocking($guard) && nonblocking($client)) {
        $links{fileno $client} = {
          key => fileno $client,
          client => $client,
          guard => $guard,
          to_guard => { data => "", sent => 0 },
          to_client => { data => "", sent => 0 },
        };
      } else {
        send($client, $guard_gone_answer, SEND_FLAGS);
        close $client;
      }
    }
    for my $link (values %links) {
      my ($client, $guard, $to_guard, $to_client) = @$link{qw(client guard to_guard to_client)};
      if (vec($readable, fileno $client, 1)) {
        my $got = fill($client, $to_guard);
        if (!defined $got) { drop(\%links, $link); next }
        $link->{client_ended} = 1 if $got == 0;
      }
      if (vec($readable, fileno $guard, 1)) {
        my $got = fill($guard, $to_client);
        $link->{guard_ended} = 1 if !defined $got || $got == 0;
      }
      if (pending($to_guard) && !$link->{guard_ended} && !flush_queue($guard, $to_guard)) {
        $link->{guard_ended} = 1;
      }
      # The client has ended: the guard's side is shut once what is queued for it has gone.
      if ($link->{client_ended} && !pending($to_guard) && !$link->{guard_shut}) {
        shutdown($guard, SHUT_WR);
        $link->{guard_shut} = 1;
      }
      if (pending($to_client) && !flush_queue($client, $to_client)) { drop(\%links, $link); next }
      # The guard's side has ended: the client's ends once what is queued for it has gone.
      drop(\%links, $link) if $link->{guard_ended} && !pending($to_client);
    }
  }
}

sub drop {
  my ($links, $link) = @_;
  delete $links->{$link->{key}};
  close $link->{client};
  close $link->{guard};
}

1;
