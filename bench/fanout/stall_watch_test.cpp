#include "bench/fanout/stall_watch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

namespace fanout {
namespace {

TEST(ProcNetTcp, ParsesIpv4AndIpv6Lines) {
    const auto a = parse_proc_net_tcp_line(
        "   3: 0100007F:1F90 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000  1000        "
        "0 98765 1 0000000000000000 20 4 30 10 -1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->local_port, 0x1F90);
    EXPECT_EQ(a->remote_port, 0xD2C4);
    EXPECT_EQ(a->state, 0x01u);
    EXPECT_EQ(a->inode, 98765u);
    const auto b = parse_proc_net_tcp_line(
        "  0: 0000000000000000FFFF00000100007F:170C 0000000000000000FFFF00000100007F:9C40 04 "
        "00001000:00000000 01:00000014 00000000     0        0 0 3 0000000000000000 20 4 0 10 "
        "-1");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->local_port, 0x170C);
    EXPECT_EQ(b->remote_port, 0x9C40);
    EXPECT_EQ(b->state, 0x04u);
    EXPECT_EQ(b->inode, 0u);
}

TEST(ProcNetTcp, RejectsHeaderAndMalformedLines) {
    EXPECT_FALSE(parse_proc_net_tcp_line(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode"));
    EXPECT_FALSE(parse_proc_net_tcp_line(""));
    EXPECT_FALSE(parse_proc_net_tcp_line("   3: 0100007F:1F90 0100007F:D2C4 01"));  // cut
    EXPECT_FALSE(parse_proc_net_tcp_line(
        "   3: 0100007F 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000 0 0 1 1"));
    EXPECT_FALSE(parse_proc_net_tcp_line(
        "   3: 0100007F:1FFFF 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000 0 0 1 1"));
    EXPECT_FALSE(parse_proc_net_tcp_line(
        "   3: 0100007F:1F90 0100007F:D2C4 0Z 00000000:00000000 00:00000000 00000000 0 0 1 1"));
}

TEST(JudgeStalled, Verdicts) {
    EXPECT_FALSE(judge_stalled(false, nullptr).how.empty());
    EXPECT_TRUE(judge_stalled(false, nullptr).closed);
    EXPECT_TRUE(judge_stalled(true, nullptr).closed);
    TcpEnd open{kTcpEstablished, 42, 1, 2};
    EXPECT_FALSE(judge_stalled(false, &open).closed);
    EXPECT_TRUE(judge_stalled(true, &open).closed);
    TcpEnd orphan{0x04, 0, 1, 2};  // FIN_WAIT1, no process
    EXPECT_TRUE(judge_stalled(false, &orphan).closed);
    TcpEnd shut{0x04, 42, 1, 2};  // shutdown() but still held
    EXPECT_TRUE(judge_stalled(false, &shut).closed);
    TcpEnd established_orphan{kTcpEstablished, 0, 1, 2};
    EXPECT_TRUE(judge_stalled(false, &established_orphan).closed);
}

// A real loopback connection whose client stops reading: the state the checks are for.
class StalledConnection : public ::testing::Test {
  protected:
    void SetUp() override {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(listener_, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ASSERT_EQ(listen(listener_, 4), 0);
        socklen_t len = sizeof addr;
        ASSERT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
        port_ = ntohs(addr.sin_port);
        client_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int small = 8192;
        setsockopt(client_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        server_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        ASSERT_GE(server_, 0);
        sockaddr_in mine{};
        len = sizeof mine;
        ASSERT_EQ(getsockname(client_, reinterpret_cast<sockaddr*>(&mine), &len), 0);
        client_port_ = ntohs(mine.sin_port);
    }
    void TearDown() override {
        for (int fd : {server_, client_, listener_})
            if (fd >= 0) close(fd);
    }
    // The server writes until the client's window and its own send buffer are full.
    void fill() {
        std::vector<char> chunk(64 * 1024, 'x');
        for (int i = 0; i < 10000; ++i) {
            const ssize_t n = send(server_, chunk.data(), chunk.size(), MSG_NOSIGNAL);
            if (n < 0) {
                ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
                return;
            }
        }
        FAIL() << "the send buffer never filled";
    }
    std::optional<TcpEnd> server_end() {
        std::unordered_map<uint16_t, TcpEnd> ends;
        EXPECT_TRUE(sockets_on_port(port_, ends));
        const auto it = ends.find(client_port_);
        if (it == ends.end()) return std::nullopt;
        return it->second;
    }

    int listener_ = -1, client_ = -1, server_ = -1;
    uint16_t port_ = 0, client_port_ = 0;
};

TEST_F(StalledConnection, OpenWhileTheServerHoldsIt) {
    fill();
    const auto end = server_end();
    ASSERT_TRUE(end);
    EXPECT_EQ(end->state, kTcpEstablished);
    EXPECT_NE(end->inode, 0u);
    EXPECT_FALSE(peer_hung_up(client_));
    EXPECT_FALSE(judge_stalled(peer_hung_up(client_), &*end).closed);
}

TEST_F(StalledConnection, CloseBehindUnsentDataIsSeenOnlyOnTheServersEnd) {
    fill();
    close(server_);
    server_ = -1;
    // Let the kernel move the socket to FIN_WAIT1; the FIN waits behind unsent data.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(peer_hung_up(client_));
    const auto end = server_end();
    ASSERT_TRUE(end);
    EXPECT_EQ(end->inode, 0u);
    EXPECT_NE(end->state, kTcpEstablished);
    EXPECT_TRUE(judge_stalled(false, &*end).closed);
}

TEST_F(StalledConnection, ResetReachesTheViewer) {
    fill();
    const linger abort_close{1, 0};
    setsockopt(server_, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    close(server_);
    server_ = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(peer_hung_up(client_));
    EXPECT_FALSE(server_end());
}

}  // namespace
}  // namespace fanout
