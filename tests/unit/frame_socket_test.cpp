// FrameSocket and FrameListener over real loopback sockets: frames of any
// size, deadlines, a peer that closes or lies about a frame's length, and
// shutdown() waking a blocked receive.
#include "replication/frame_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "replication/replica_wire.hpp"
#include "support/error_of.hpp"

namespace keel {
namespace {

using test::error_of;

constexpr int64_t kLong = 10000;  // a deadline no passing test comes near

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A listener on a free loopback port.
struct Listening {
  FrameListener listener;
  int32_t port = listener.listen("127.0.0.1", 0);
};

// Both ends of one connection.
struct Pair {
  Listening l;
  FrameSocket client = FrameSocket::connect("127.0.0.1", l.port, kLong);
  FrameSocket server{l.listener.accept(kLong)};
};

// A raw client (for bytes FrameSocket would never send) and the
// FrameSocket that accepted it.
struct RawPair {
  Listening l;
  int raw = connect_raw(l.port);
  FrameSocket server{l.listener.accept(kLong)};
  ~RawPair() { close_raw(); }
  void close_raw() {
    if (raw >= 0) ::close(raw);
    raw = -1;
  }
  static int connect_raw(int32_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
};

void raw_send(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(FrameSocket, ListenOnPortZeroGetsARealPort) {
  Listening l;
  EXPECT_GT(l.port, 0);
  EXPECT_LT(l.port, 65536);
}

TEST(FrameSocket, EmptyAndSmallFramesBothWays) {
  Pair p;
  ASSERT_TRUE(p.client.is_open());
  ASSERT_TRUE(p.server.is_open());
  p.client.send_frame("", kLong);
  p.client.send_frame("hello", kLong);
  EXPECT_EQ(p.server.recv_frame(kLong), "");
  EXPECT_EQ(p.server.recv_frame(kLong), "hello");
  p.server.send_frame(std::string("\0\1\2", 3), kLong);
  EXPECT_EQ(p.client.recv_frame(kLong), std::string("\0\1\2", 3));
}

// The receiver reads what has arrived into a buffer: many frames sent in
// one burst come out one per call, in order, whatever their sizes, and a
// frame larger than the buffer (64 KiB) behind small ones is whole.
TEST(FrameSocket, FramesOfOneBurstComeOutOnePerCall) {
  RawPair p;
  std::vector<std::string> frames;
  std::string burst;
  for (int i = 0; i < 300; ++i) {
    std::string f(static_cast<size_t>((i * 37) % 500), static_cast<char>('a' + i % 26));
    if (i == 150) f.assign(100 * 1024, 'Z');
    burst += be32(static_cast<uint32_t>(f.size())) + f;
    frames.push_back(std::move(f));
  }
  auto sent = std::async(std::launch::async, [&] { raw_send(p.raw, burst); });
  for (size_t i = 0; i < frames.size(); ++i)
    ASSERT_EQ(p.server.recv_frame(kLong), frames[i]) << "frame " << i;
  sent.get();
}

// A frame whose bytes come one send at a time, split at every boundary
// (inside the length, between length and payload, inside the payload).
TEST(FrameSocket, FrameTricklingInByteByByteIsWhole) {
  RawPair p;
  const std::string payload = "tail of the log";
  const std::string frame = be32(static_cast<uint32_t>(payload.size())) + payload;
  auto sent = std::async(std::launch::async, [&] {
    for (char c : frame) {
      raw_send(p.raw, std::string(1, c));
      std::this_thread::yield();
    }
    raw_send(p.raw, be32(2) + "ok");
  });
  EXPECT_EQ(p.server.recv_frame(kLong), payload);
  EXPECT_EQ(p.server.recv_frame(kLong), "ok");
  sent.get();
}

TEST(FrameSocket, OneMebibyteFrameCrossesWhole) {
  Pair p;
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) ^ (i >> 9));
  // More than the socket buffers hold: the sender blocks until the
  // receiver reads, so it runs on its own thread.
  auto sent = std::async(std::launch::async, [&] { p.client.send_frame(big, kLong); });
  const std::string got = p.server.recv_frame(kLong);
  sent.get();
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big);
}

TEST(FrameSocket, ReceiveDeadlineThrowsUnavailable) {
  Pair p;
  const Error e = error_of([&] { p.server.recv_frame(50); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "timed out while receiving")) << e.what();
}

TEST(FrameSocket, PartialFrameThenSilenceTimesOut) {
  RawPair p;
  raw_send(p.raw, be32(10) + "abc");  // 3 of 10 bytes, then silence
  const Error e = error_of([&] { p.server.recv_frame(50); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "timed out")) << e.what();
}

TEST(FrameSocket, PeerCloseIsUnavailable) {
  Pair p;
  p.client.close();
  EXPECT_FALSE(p.client.is_open());
  const Error e = error_of([&] { p.server.recv_frame(kLong); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "closed by the peer")) << e.what();
}

TEST(FrameSocket, PeerCloseInsideAFrameIsUnavailable) {
  RawPair p;
  raw_send(p.raw, be32(10) + "abc");
  p.close_raw();
  const Error e = error_of([&] { p.server.recv_frame(kLong); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "closed by the peer")) << e.what();
}

TEST(FrameSocket, OversizedOrNegativeLengthIsCorrupt) {
  for (uint32_t len : {static_cast<uint32_t>(kMaxReplicaFrame) + 1, 0x7fffffffu, 0xffffffffu}) {
    RawPair p;
    raw_send(p.raw, be32(len));  // nothing follows: the length alone is refused
    const Error e = error_of([&] { p.server.recv_frame(kLong); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT) << len;
    EXPECT_TRUE(
        contains(e.what(), "replication frame of " + std::to_string(static_cast<int32_t>(len)) + " bytes"))
        << e.what();
  }
}

TEST(FrameSocket, LargestAllowedLengthIsNotRefusedUpFront) {
  RawPair p;
  raw_send(p.raw, be32(static_cast<uint32_t>(kMaxReplicaFrame)));
  // The length is accepted; the body never comes, so the deadline ends it.
  const Error e = error_of([&] { p.server.recv_frame(50); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE) << e.what();
}

TEST(FrameSocket, ShutdownFromAnotherThreadWakesABlockedReceive) {
  Pair p;
  auto blocked =
      std::async(std::launch::async, [&] { return error_of([&] { p.server.recv_frame(600000); }); });
  // Whether recv_frame is already polling or not yet, shutdown() makes it
  // fail at once: long before its own ten-minute deadline.
  p.server.shutdown();
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const Error e = blocked.get();
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_FALSE(contains(e.what(), "timed out")) << e.what();
  // Later calls fail too.
  EXPECT_EQ(error_of([&] { p.server.send_frame("x", kLong); }).code(), KEEL_ERR_UNAVAILABLE);
}

TEST(FrameSocket, ConnectToAClosedPortNamesHostAndPort) {
  int32_t port = 0;
  {
    Listening l;  // a port that was free a moment ago, closed again
    port = l.port;
  }
  const Error e = error_of([&] { FrameSocket::connect("127.0.0.1", port, kLong); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "127.0.0.1:" + std::to_string(port))) << e.what();
}

TEST(FrameSocket, ListenOnATakenPortNamesTheAddressAndTheKey) {
  Listening first;
  FrameListener second;
  const Error e = error_of([&] { second.listen("127.0.0.1", first.port); });
  EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  EXPECT_TRUE(contains(e.what(), "127.0.0.1:" + std::to_string(first.port))) << e.what();
  EXPECT_TRUE(contains(e.what(), "replication_listen")) << e.what();
}

TEST(FrameSocket, AcceptWithNoClientReturnsMinusOne) {
  Listening l;
  EXPECT_EQ(l.listener.accept(20), -1);
  l.listener.close();
  EXPECT_EQ(l.listener.accept(20), -1);
}

TEST(FrameSocket, MovedFromSocketIsClosed) {
  Pair p;
  FrameSocket moved = std::move(p.client);
  EXPECT_FALSE(p.client.is_open());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
  moved.send_frame("after the move", kLong);
  EXPECT_EQ(p.server.recv_frame(kLong), "after the move");
}

// send_now() never waits: it sends what the socket takes and says how far
// it got; send_frame() from there finishes the same frame (a leader's
// appender starts a parked fetch's answer, the connection's thread ends it).
TEST(FrameSocket, SendNowSendsWhatFitsAndSendFrameFinishesTheFrame) {
  Pair p;
  EXPECT_EQ(p.client.send_now("small"), 4u + 5u);
  EXPECT_EQ(p.server.recv_frame(kLong), "small");
  // Far more than loopback socket buffers hold while nobody reads.
  std::string big(48u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) ^ (i >> 11));
  const size_t sent = p.client.send_now(big);
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, 4 + big.size());
  auto got = std::async(std::launch::async, [&] { return p.server.recv_frame(kLong); });
  p.client.send_frame(big, kLong, sent);
  const std::string received = got.get();
  EXPECT_EQ(received.size(), big.size());
  EXPECT_TRUE(received == big);
}

// wait_readable() ends on bytes to read (on the socket or already
// buffered), on the wake descriptor, or at its deadline.
TEST(FrameSocket, WaitReadableEndsOnDataOnTheWakeFdOrAtTheDeadline) {
  RawPair p;
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(wake, 0);
  EXPECT_EQ(p.server.wait_readable(wake, 20), FrameSocket::Ready::kTimedOut);
  const uint64_t one = 1;
  ASSERT_EQ(::write(wake, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  EXPECT_EQ(p.server.wait_readable(wake, kLong), FrameSocket::Ready::kWoken);
  uint64_t count = 0;
  ASSERT_EQ(::read(wake, &count, sizeof count), static_cast<ssize_t>(sizeof count));
  // Two frames in one send: after the first is taken, the second is
  // buffered, no longer on the socket, and still counts as readable.
  raw_send(p.raw, be32(3) + "one" + be32(3) + "two");
  EXPECT_EQ(p.server.wait_readable(wake, kLong), FrameSocket::Ready::kReadable);
  EXPECT_EQ(p.server.recv_frame(kLong), "one");
  EXPECT_EQ(p.server.wait_readable(wake, 20), FrameSocket::Ready::kReadable);
  EXPECT_EQ(p.server.recv_frame(kLong), "two");
  EXPECT_EQ(p.server.wait_readable(wake, 20), FrameSocket::Ready::kTimedOut);
  // A hang-up reads as readable: the receive after it reports it.
  p.close_raw();
  EXPECT_EQ(p.server.wait_readable(wake, kLong), FrameSocket::Ready::kReadable);
  EXPECT_EQ(error_of([&] { p.server.recv_frame(kLong); }).code(), KEEL_ERR_UNAVAILABLE);
  ::close(wake);
}

}  // namespace
}  // namespace keel
