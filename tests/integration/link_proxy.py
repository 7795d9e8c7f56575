"""A TCP proxy from a loopback listen port to a target port whose link can be
cut and healed while it runs, for partition tests (python3 standard library
only).

Modes, switched with set_mode() (or pass_through() / black_hole() / reject()):

- "pass": every accepted connection gets its own connection to the target
  and bytes flow both ways.
- "blackhole": a network partition. New connections are accepted (the
  kernel completes the handshake) and held without a target connection;
  existing connections stay open but nothing is read from or written to
  either side, so the peers see silence and, once their socket buffers fill,
  blocked writes: no error, no close. Switching back to "pass" lets the held
  bytes flow again (as TCP retransmission does once a partition heals) and
  connects the connections accepted meanwhile, if their clients still wait.
- "reject": every existing connection is reset (RST to both peers) and new
  ones are accepted and reset at once, so clients fail fast (a crashed or
  firewalled-with-REJECT peer).

Per source: given `classify` (a function of the connecting peer's port and
the proxy's port, returning a label such as a broker id, or None), a mode can
be set for one label only: set_mode(BLACKHOLE, source=2) cuts the
connections that broker 2 opens through this proxy and leaves everybody
else's alone. set_mode(mode) without a source sets the mode for every
connection and clears the per-source ones. The label is decided once, when
the connection is accepted.

Threads: one thread (named "link-proxy:<port>") owns the listening socket
and every connection, and is the only one that touches them; `classify`
runs on it. Other threads only call set_mode() and close(): a request goes
through a queue and a wake-up socket, and set_mode() returns once that
thread has applied it, so after black_hole() returns no further byte is
forwarded. The counters are plain ints written by that thread and only read
elsewhere.
"""
import errno
import selectors
import socket
import struct
import threading

PASS = "pass"
BLACKHOLE = "blackhole"
REJECT = "reject"
MODES = (PASS, BLACKHOLE, REJECT)

CHUNK = 65536
# Per direction: past it the proxy stops reading that side, so a slow reader
# slows the writer down through TCP flow control instead of growing memory.
MAX_BUFFERED = 1 << 20


def reset_and_close(sock):
    """Closes with SO_LINGER 0, which sends RST instead of FIN: the peer sees
    ECONNRESET at once, as with a refused or crashed peer."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"unknown proxy mode {mode!r}: expected one of {', '.join(MODES)}")


class _Link:
    """One client connection and, once connected, its target connection.
    Owned by the proxy thread."""

    def __init__(self, client, label):
        self.client = client
        self.label = label  # from LinkProxy's classify, None if unknown
        self.target = None
        self.connecting = False
        self.to_target = bytearray()
        self.to_client = bytearray()
        self.client_eof = False  # the client sent FIN
        self.target_eof = False
        self.target_shut = False  # FIN passed on to the target
        self.client_shut = False

    def sockets(self):
        return [s for s in (self.client, self.target) if s is not None]


class LinkProxy:
    """Listens on 127.0.0.1:`listen_port` (0: a free port, see .port) and
    forwards to `target_host`:`target_port`. Starts in `mode` ("pass") for
    every source. `classify(peer_port, proxy_port)` labels connections for
    per-source modes (see the module's comment)."""

    def __init__(self, target_port, listen_port=0, target_host="127.0.0.1", mode=PASS, name=None, classify=None):
        check_mode(mode)
        self.target = (target_host, target_port)
        self.mode = mode  # for sources without a mode of their own
        self.source_modes = {}  # label -> mode; written by the proxy thread
        self.classify = classify
        self.name = name or f"proxy to {target_host}:{target_port}"
        self.accepted = 0  # connections accepted, all modes
        self.bytes_to_target = 0
        self.bytes_to_client = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind(("127.0.0.1", listen_port))
        except OSError as e:
            self._listener.close()
            raise OSError(e.errno, f"{self.name}: cannot listen on 127.0.0.1:{listen_port}: {e.strerror}") from e
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._requests = []  # (mode or None for close, source, threading.Event); guarded by _lock
        self._lock = threading.Lock()
        self._links = []
        self._registered = {}  # socket -> events currently registered
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._error = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"link-proxy:{self.port}", daemon=True)
        self._thread.start()

    # ---- control, from any thread

    def set_mode(self, mode, source=None, timeout=10):
        """Switches the mode of every connection (source None: and forgets
        the per-source modes) or of those labelled `source`; returns once the
        proxy thread applied it."""
        check_mode(mode)
        self._request(mode, source, timeout)

    def pass_through(self, source=None):
        self.set_mode(PASS, source)

    def black_hole(self, source=None):
        self.set_mode(BLACKHOLE, source)

    def reject(self, source=None):
        self.set_mode(REJECT, source)

    def connections(self):
        """Client connections currently held (forwarding or stalled)."""
        return len(self._links)

    def labels(self):
        """The source label of each connection held (None: unknown)."""
        return [link.label for link in list(self._links)]

    def close(self):
        """Resets every connection, stops listening and joins the thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._request(None, None, 10)
            self._thread.join(10)
        self._wake_w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, mode, source, timeout):
        if self._error is not None:
            raise RuntimeError(f"{self.name} (port {self.port}) stopped on an error: {self._error!r}")
        done = threading.Event()
        with self._lock:
            self._requests.append((mode, source, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout):
            raise RuntimeError(f"{self.name} (port {self.port}): its thread did not apply {mode!r} "
                               f"within {timeout}s (error: {self._error!r})")

    # ---- the proxy thread

    def _run(self):
        try:
            while self._loop_once():
                pass
        except Exception as e:  # kept for set_mode() to report; the thread ends
            self._error = e
        finally:
            for link in list(self._links):
                self._drop(link)
            self._selector.close()
            self._listener.close()
            self._wake_r.close()
            with self._lock:
                for _, _, done in self._requests:
                    done.set()
                self._requests.clear()

    def _loop_once(self):
        """Applies control requests, then waits for and handles I/O. Returns
        False when asked to close."""
        with self._lock:
            requests, self._requests = self._requests, []
        for mode, source, done in requests:
            if mode is None:
                done.set()
                return False
            self._apply(mode, source)
            done.set()
        self._update_interest()
        for key, events in self._selector.select(timeout=1.0):
            if key.data == "accept":
                self._accept()
            elif key.data == "wake":
                try:
                    self._wake_r.recv(4096)
                except BlockingIOError:
                    pass
            else:
                link, side = key.data
                if link in self._links:
                    self._handle(link, side, events)
        return True

    def _mode_of(self, label):
        return self.source_modes.get(label, self.mode) if label is not None else self.mode

    def _apply(self, mode, source):
        if source is None:
            self.mode = mode
            self.source_modes = {}
        else:
            self.source_modes = {**self.source_modes, source: mode}
        for link in list(self._links):
            now = self._mode_of(link.label)
            if now == REJECT:
                self._drop(link)
            elif now == PASS and link.target is None:
                self._connect(link)

    def _label(self, client):
        if self.classify is None:
            return None
        try:
            return self.classify(client.getpeername()[1], self.port)
        except Exception:  # an unknown source gets the default mode
            return None

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                    return
                raise
            self.accepted += 1
            label = self._label(client)
            mode = self._mode_of(label)
            if mode == REJECT:
                reset_and_close(client)
                continue
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, label)
            self._links.append(link)
            if mode == PASS:
                self._connect(link)

    def _connect(self, link):
        target = socket.socket()
        target.setblocking(False)
        target.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.target = target
        err = target.connect_ex(self.target)
        if err == errno.EINPROGRESS:
            link.connecting = True
        elif err != 0:  # refused at once: the client sees a reset, as if refused
            self._drop(link)

    def _want(self, link, sock):
        """The events the proxy waits for on `sock` in the current mode."""
        if sock is link.target and link.connecting:
            return selectors.EVENT_WRITE  # completion of the connect, in any mode
        if self._mode_of(link.label) != PASS or link.target is None:
            return 0  # black hole: neither read nor write, the peers stall
        events = 0
        if sock is link.client:
            if not link.client_eof and len(link.to_target) < MAX_BUFFERED:
                events |= selectors.EVENT_READ
            if link.to_client:
                events |= selectors.EVENT_WRITE
        else:
            if not link.target_eof and len(link.to_client) < MAX_BUFFERED:
                events |= selectors.EVENT_READ
            if link.to_target:
                events |= selectors.EVENT_WRITE
        return events

    def _update_interest(self):
        for link in self._links:
            for side, sock in (("client", link.client), ("target", link.target)):
                if sock is None:
                    continue
                want = self._want(link, sock)
                have = self._registered.get(sock, 0)
                if want == have:
                    continue
                if have == 0:
                    self._selector.register(sock, want, (link, side))
                elif want == 0:
                    self._selector.unregister(sock)
                else:
                    self._selector.modify(sock, want, (link, side))
                if want:
                    self._registered[sock] = want
                else:
                    self._registered.pop(sock, None)

    def _handle(self, link, side, events):
        try:
            if side == "target" and link.connecting:
                err = link.target.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    self._drop(link)  # target refused: reset the client
                    return
                link.connecting = False
                return
            if self._mode_of(link.label) != PASS:
                return
            src, dst_buffer = (link.client, link.to_target) if side == "client" else (link.target, link.to_client)
            if events & selectors.EVENT_READ:
                data = src.recv(CHUNK)
                if data:
                    dst_buffer += data
                elif side == "client":
                    link.client_eof = True
                else:
                    link.target_eof = True
            if events & selectors.EVENT_WRITE:
                out = link.to_client if side == "client" else link.to_target
                sent = src.send(out)
                del out[:sent]
                if side == "client":
                    self.bytes_to_client += sent
                else:
                    self.bytes_to_target += sent
            self._pass_on_eof(link)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # reset or broken pipe on one side: reset the other
            self._drop(link)

    def _pass_on_eof(self, link):
        """Half-closes the other side once a side's FIN and every byte before
        it went through; drops the link when both directions are done."""
        if link.client_eof and not link.to_target and not link.target_shut:
            link.target.shutdown(socket.SHUT_WR)
            link.target_shut = True
        if link.target_eof and not link.to_client and not link.client_shut:
            link.client.shutdown(socket.SHUT_WR)
            link.client_shut = True
        if link.target_shut and link.client_shut:
            self._drop(link, reset=False)

    def _drop(self, link, reset=True):
        for sock in link.sockets():
            if sock in self._registered:
                self._selector.unregister(sock)
                del self._registered[sock]
            if reset:
                reset_and_close(sock)
            else:
                sock.close()
        if link in self._links:
            self._links.remove(link)
